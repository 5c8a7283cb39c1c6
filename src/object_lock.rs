//! [`ObjectLock<S>`]: `GST_OBJECT_LOCK` as a guard, with re-locking on the holding
//! thread reported instead of hanging.
//!
//! # The lock word, and what the re-lock check costs
//!
//! One atomic word is both the lock and the name of its holder:
//!
//! | word              | meaning                                                     |
//! |-------------------|-------------------------------------------------------------|
//! | `0`               | unlocked, nobody parked                                     |
//! | `PARKED`          | unlocked, threads parked (the next unlock wakes one)         |
//! | `t`               | held by the thread whose number is `t`, nobody parked        |
//! | `t \| PARKED`     | held by `t`, threads parked waiting for it                  |
//!
//! `t` is the holder's `current_thread_token()` (a thread-local's address: never 0,
//! a multiple of 8, so bit 0 is free for `PARKED`). Locking is one compare-exchange
//! `0 → t`, unlocking one `t → 0`, as for `parking_lot`'s raw mutex: recording the
//! holder costs no store of its own, and no second word shares (or needs) the cache
//! line, which matters when two threads take turns on one lock. Only when the
//! exchange fails, which it always does on a re-lock, does `lock` look at the holder,
//! and it panics if the word names the calling thread. So the check runs in every
//! build, release included: a re-lock is a deadlock in the making, and a deadlock that
//! only debug builds report is one that ships.
//!
//! A waiter spins a little, then sets `PARKED` and parks on the word's address
//! (`parking_lot_core`, through the sync shim; under Miri and loom a stand-in with
//! the same contract, so loom explores the parking path too, and reports a thread
//! that waits forever as a deadlock). An unlock that finds `PARKED` wakes one parked
//! thread, which competes for the lock again (no hand-off: a running thread may take
//! it first).
//!
//! # Orderings
//!
//! - Taking the lock is `Acquire` and releasing it `Release`: the holder's accesses
//!   happen before the next holder's.
//! - Reading the holder is `Relaxed`: a thread that reads its *own* number there
//!   holds the lock. Only the holder writes a word naming it, besides waiters that
//!   add `PARKED` to that same word by an exchange (which fails once the holder's
//!   unlock is in the word's order), and a thread cannot read a value older than
//!   its own last write of the word; so it cannot read its number after its own
//!   unlock. A number it reads that another thread stored is never its own.
//! - Setting `PARKED` and the parked thread's check are `Relaxed`: the parking lot's
//!   bucket lock orders them against the unlock's wake-up (`parking_lot`'s rule).

use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::cell::{get_mut_ptr, CellMutPtr, UnsafeCell};
use crate::sync::thread::current_thread_token;
use crate::sync::{park, unpark_one, SpinWait};

/// Threads are parked on the word (module docs' table).
const PARKED: usize = 1;

/// One object's lock over its state: `GST_OBJECT_LOCK` / `GST_OBJECT_UNLOCK` as a
/// guard, non-recursive, reporting a re-lock by its holder as a panic that names what
/// was locked, never as a silent hang.
///
/// ```
/// use mtsafe::ObjectLock;
///
/// let settings = ObjectLock::new(String::from("volume=1.0"));
/// {
///     let mut guard = settings.lock();
///     guard.push_str(";mute=false");
///     assert!(settings.is_locked_by_current_thread());
/// } // unlocked here
/// assert!(!settings.is_locked_by_current_thread());
/// // What leaves the critical section is a copy, as `gst_object_get_name` returns:
/// let copy: String = settings.lock().clone();
/// assert_eq!(copy, "volume=1.0;mute=false");
/// ```
///
/// Locking it again on the thread that holds it panics (here caught, to show it):
///
/// ```
/// use mtsafe::ObjectLock;
/// use std::panic::{catch_unwind, AssertUnwindSafe};
///
/// let state = ObjectLock::new(0u32);
/// let guard = state.lock();
/// let relock = catch_unwind(AssertUnwindSafe(|| drop(state.lock())));
/// let message = *relock.unwrap_err().downcast::<String>().unwrap();
/// assert!(message.contains("already locked by this thread"), "{message}");
/// drop(guard);
/// ```
///
/// The guard borrows the lock, and so the object that holds it: the last reference to
/// an object cannot be dropped while its own lock is held.
///
/// ```compile_fail
/// use mtsafe::{CowShared, ObjectLock};
///
/// let object = CowShared::new(ObjectLock::new(0u32));
/// let guard = object.lock();
/// drop(object); // error: cannot move out of `object` because it is borrowed
/// drop(guard);
/// ```
///
/// The guard stays on the thread that took the lock:
///
/// ```compile_fail
/// fn assert_send<X: Send>() {}
/// assert_send::<mtsafe::ObjectLockGuard<'static, u32>>();
/// ```
#[doc(alias = "GST_OBJECT_LOCK")]
pub struct ObjectLock<S> {
    /// The lock and its holder (module docs' table).
    word: AtomicUsize,
    value: UnsafeCell<S>,
}

// SAFETY: the lock hands the value to one thread at a time, so it may be shared (and
// sent) between threads whenever the value may be sent: `Mutex<S>`'s rule.
unsafe impl<S: Send> Send for ObjectLock<S> {}
// SAFETY: as above: `&ObjectLock<S>` only gives access to `S` under the lock.
unsafe impl<S: Send> Sync for ObjectLock<S> {}

impl<S> ObjectLock<S> {
    /// An unlocked lock around `value`.
    pub fn new(value: S) -> Self {
        Self {
            word: AtomicUsize::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock, blocking while another thread holds it.
    ///
    /// # Panics
    /// If the calling thread holds it already: the lock is not recursive, and waiting
    /// would never end.
    #[inline]
    #[track_caller]
    pub fn lock(&self) -> ObjectLockGuard<'_, S> {
        self.lock_described(|| format!("ObjectLock<{}>", core::any::type_name::<S>()))
    }

    /// [`lock`](Self::lock), naming the locked thing with `describe` in the panic.
    #[inline]
    #[track_caller]
    pub(crate) fn lock_described<D: fmt::Display>(
        &self,
        describe: impl FnOnce() -> D,
    ) -> ObjectLockGuard<'_, S> {
        let me = current_thread_token();
        self.acquire(me, describe);
        // SAFETY: `acquire` returned: this thread holds the lock, the word naming `me`,
        // and no guard of this taking exists yet.
        unsafe { self.make_guard_unchecked(me) }
    }

    /// Takes the lock for the calling thread, whose number is `me`: blocks while
    /// another thread holds it, panics (naming it with `describe`) if this one does.
    #[inline]
    #[track_caller]
    fn acquire<D: fmt::Display>(&self, me: usize, describe: impl FnOnce() -> D) {
        // Acquire: the previous holder's accesses happen before ours (module docs).
        // Relaxed on failure: the slow path reads the word again.
        if self
            .word
            // loom-mutant: object-lock-uncontended-lock-does-not-acquire
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow(me, describe);
        }
    }

    /// The guard of a lock the calling thread has just taken.
    ///
    /// # Safety
    /// The calling thread holds this lock, its word naming `me` (the thread's
    /// `current_thread_token()`), and no other guard of this taking exists: the
    /// guard gives access to the value and releases the lock when dropped (lock_api's
    /// `make_guard_unchecked` contract).
    #[inline(always)]
    unsafe fn make_guard_unchecked(&self, me: usize) -> ObjectLockGuard<'_, S> {
        ObjectLockGuard {
            lock: self,
            me,
            value: ManuallyDrop::new(get_mut_ptr(&self.value)),
            _not_send: PhantomData,
        }
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn lock_slow<D: fmt::Display>(&self, me: usize, describe: impl FnOnce() -> D) {
        let mut spin = SpinWait::default();
        // Relaxed: a snapshot to decide on; the exchange that takes the lock acquires.
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let holder = word & !PARKED;
            if holder == 0 {
                // Free (perhaps with threads parked): take it, keeping their flag.
                // Acquire on success, as in `lock_described`.
                match self.word.compare_exchange_weak(
                    word,
                    word | me,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        #[cfg(test)]
                        observer::report(observer::Step::Take(word));
                        return;
                    }
                    Err(now) => word = now,
                }
                continue;
            }
            // loom-mutant: object-lock-waiter-takes-any-holder-for-itself
            if holder == me {
                panic!(
                    "mtsafe: {} is already locked by this thread; locking it again would \
                     deadlock (an object lock is not recursive: take the value out of the \
                     first guard, or drop it first)",
                    describe()
                );
            }
            if word & PARKED == 0 && spin.spin() {
                #[cfg(test)]
                observer::report(observer::Step::Spin(word));
                // Relaxed: as above.
                word = self.word.load(Ordering::Relaxed);
                continue;
            }
            if word & PARKED == 0 {
                // Relaxed: the parking lot's bucket lock orders the flag against the
                // holder's wake-up (module docs).
                if let Err(now) = self.word.compare_exchange_weak(
                    word,
                    word | PARKED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    word = now;
                    continue;
                }
                #[cfg(test)]
                observer::report(observer::Step::Flag(word));
            }
            #[cfg(test)]
            observer::report(observer::Step::Park);
            // SAFETY: the key is this lock's word, whose protocol is this module's;
            // the check neither panics nor calls into the parking lot.
            unsafe {
                park(self.word_key(), || {
                    // Relaxed: read under the bucket lock (module docs).
                    let now = self.word.load(Ordering::Relaxed);
                    // loom-mutant: object-lock-waiter-parks-without-parked-flag
                    let sleeps = now & PARKED != 0 && now & !PARKED != 0;
                    #[cfg(test)]
                    if sleeps {
                        observer::report(observer::Step::Sleep(now));
                    }
                    sleeps
                });
            }
            #[cfg(test)]
            observer::report(observer::Step::Back);
            spin.reset();
            // Relaxed: as above.
            word = self.word.load(Ordering::Relaxed);
        }
    }

    /// The parking lot's key for this lock: the word's address.
    fn word_key(&self) -> usize {
        core::ptr::from_ref(&self.word).addr()
    }

    /// Releases the lock that `me` holds, waking one parked thread if there is one.
    #[inline]
    fn unlock(&self, me: usize) {
        // Release: our accesses happen before the next holder's Acquire.
        if self
            .word
            // loom-mutant: object-lock-unlock-does-not-release
            .compare_exchange(me, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn unlock_slow(&self) {
        #[cfg(test)]
        observer::report(observer::Step::Unlock);
        // SAFETY: the key is this lock's word (as in `lock_slow`); the release
        // neither panics nor calls into the parking lot.
        unsafe {
            unpark_one(self.word_key(), |more| {
                // Release: as in `unlock`. Runs under the bucket lock, so no thread
                // parks between this store and the wake-up.
                self.word
                    .store(if more { PARKED } else { 0 }, Ordering::Release);
            });
        }
    }

    /// The number of the thread holding the lock, or 0.
    #[inline]
    fn holder(&self) -> usize {
        // Relaxed: compared only against the caller's own number (module docs).
        self.word.load(Ordering::Relaxed) & !PARKED
    }

    /// Takes the lock if no thread holds it; `None` otherwise (also when the calling
    /// thread holds it).
    #[inline]
    pub fn try_lock(&self) -> Option<ObjectLockGuard<'_, S>> {
        let me = current_thread_token();
        // Relaxed: a snapshot; the exchange acquires.
        let mut word = self.word.load(Ordering::Relaxed);
        while word & !PARKED == 0 {
            // Acquire on success, as in `lock_described`.
            match self.word.compare_exchange_weak(
                word,
                word | me,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                // SAFETY: the exchange took the lock for this thread (`me`); no
                // guard of this taking exists yet.
                Ok(_) => return Some(unsafe { self.make_guard_unchecked(me) }),
                // loom-mutant: object-lock-try-lock-ignores-lock
                Err(now) => word = now,
            }
        }
        None
    }

    /// Whether the calling thread holds this lock: for assertions that a function
    /// documented "with LOCK" is called with it.
    #[inline]
    pub fn is_locked_by_current_thread(&self) -> bool {
        self.holder() == current_thread_token()
    }

    /// Whether some thread holds the lock, at some moment during the call.
    pub fn is_locked(&self) -> bool {
        self.holder() != 0
    }

    /// The value, through exclusive access: no locking needed.
    pub fn get_mut(&mut self) -> &mut S {
        // SAFETY: `&mut self` excludes every guard and every other access.
        self.value.with_mut(|value| unsafe { &mut *value })
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> S {
        self.value.into_inner()
    }
}

impl<S: Default> Default for ObjectLock<S> {
    fn default() -> Self {
        Self::new(S::default())
    }
}

impl<S: fmt::Debug> fmt::Debug for ObjectLock<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ObjectLock");
        if self.is_locked_by_current_thread() {
            return d.field("value", &"<locked by this thread>").finish();
        }
        match self.try_lock() {
            Some(guard) => d.field("value", &&*guard).finish(),
            None => d.field("value", &"<locked>").finish(),
        }
    }
}

/// The guard of an [`ObjectLock`]: the value while the lock is held; unlocks when
/// dropped. Not `Send`: a lock is released by the thread that took it.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ObjectLockGuard<'a, S> {
    lock: &'a ObjectLock<S>,
    /// The holder's number, which the unlock's exchange expects in the word.
    me: usize,
    /// Dropped by hand before the unlock: under loom it marks the access to the
    /// value, which must end before the next holder's begins.
    value: ManuallyDrop<CellMutPtr<S>>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard shares `&S` only, which is fine across threads when
// `S: Sync` (`MutexGuard`'s rule); the raw-pointer marker is there only to keep the
// guard from being *sent*.
unsafe impl<S: Sync> Sync for ObjectLockGuard<'_, S> {}

impl<'a, S> ObjectLockGuard<'a, S> {
    /// Releases the lock, runs `f`, and takes the lock again before returning
    /// (GStreamer's `GST_OBJECT_UNLOCK`, call out, `GST_OBJECT_LOCK`, as
    /// `lock_api::MutexGuard::unlocked`): for calling code that may take this lock
    /// itself, such as a user's callback, without holding it. Other threads may
    /// change the value meanwhile: read it again afterwards. If `f` panics, the lock
    /// is taken again before the guard's drop releases it.
    ///
    /// ```
    /// use mtsafe::{ObjectLock, ObjectLockGuard};
    ///
    /// let state = ObjectLock::new(1u32);
    /// let mut guard = state.lock();
    /// let seen = ObjectLockGuard::unlocked(&mut guard, || *state.lock()); // no re-lock panic
    /// assert_eq!(seen, 1);
    /// assert!(state.is_locked_by_current_thread()); // held again
    /// ```
    #[track_caller]
    #[doc(alias = "GST_OBJECT_UNLOCK")]
    pub fn unlocked<U>(this: &mut Self, f: impl FnOnce() -> U) -> U {
        /// Takes the lock again when dropped: after `f`, returned or unwinding.
        struct Relock<'g, 'a, S>(&'g mut ObjectLockGuard<'a, S>);
        impl<S> Drop for Relock<'_, '_, S> {
            fn drop(&mut self) {
                let guard = &mut *self.0;
                guard
                    .lock
                    // loom-mutant: object-lock-unlocked-does-not-take-lock-again
                    .acquire(guard.me, || "an ObjectLock (taken again after `unlocked`)");
                guard.value = ManuallyDrop::new(get_mut_ptr(&guard.lock.value));
            }
        }
        // SAFETY: the guard's access to the value ends here (it is made anew by
        // `Relock` before the guard is used again), and this thread holds the lock.
        unsafe { ManuallyDrop::drop(&mut this.value) };
        this.lock.unlock(this.me);
        let _relock = Relock(this);
        f()
    }

    /// A guard for a part of the value (lock_api's `MutexGuard::map`), holding the
    /// same lock until it is dropped.
    ///
    /// ```
    /// use mtsafe::{ObjectLock, ObjectLockGuard};
    ///
    /// let settings = ObjectLock::new((String::from("pad0"), 48_000u32));
    /// let mut rate = ObjectLockGuard::map(settings.lock(), |s| &mut s.1);
    /// *rate = 44_100;
    /// assert!(settings.is_locked_by_current_thread());
    /// drop(rate);
    /// assert_eq!(settings.lock().1, 44_100);
    /// ```
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut S) -> &mut U,
    ) -> MappedObjectLockGuard<'a, S, U> {
        // The value lives in the lock, not in the guard: the pointer stays valid when
        // the guard moves into the mapped one, which holds the lock as long.
        let value = NonNull::from(f(&mut this));
        MappedObjectLockGuard {
            _guard: this,
            value,
        }
    }
}

/// A guard for a part of an [`ObjectLock`]'s value ([`ObjectLockGuard::map`]):
/// the part while the lock is held; unlocks when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MappedObjectLockGuard<'a, S, U: ?Sized> {
    /// Holds the lock (released when dropped); never used for access, since
    /// `value` may borrow any part of the value.
    _guard: ObjectLockGuard<'a, S>,
    value: NonNull<U>,
}

// SAFETY: as for `ObjectLockGuard`: sharing the guard shares `&U` (and nothing of `S`
// but what `U` is part of); it is never sent (its inner guard is not `Send`).
unsafe impl<S: Sync, U: ?Sized + Sync> Sync for MappedObjectLockGuard<'_, S, U> {}

impl<S, U: ?Sized> Deref for MappedObjectLockGuard<'_, S, U> {
    type Target = U;

    #[inline(always)]
    fn deref(&self) -> &U {
        // SAFETY: `value` points into the value of the lock that `guard` holds, made
        // from a unique borrow of it; nothing else reaches it while the lock is held.
        unsafe { self.value.as_ref() }
    }
}

impl<S, U: ?Sized> DerefMut for MappedObjectLockGuard<'_, S, U> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as for `deref`, and `&mut self` makes this borrow unique.
        unsafe { self.value.as_mut() }
    }
}

impl<S, U: ?Sized + fmt::Debug> fmt::Debug for MappedObjectLockGuard<'_, S, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<S> Deref for ObjectLockGuard<'_, S> {
    type Target = S;

    #[inline(always)]
    fn deref(&self) -> &S {
        // SAFETY: the guard holds the lock, so no other guard and no `&mut` exists.
        unsafe { self.value.get() }
    }
}

impl<S> DerefMut for ObjectLockGuard<'_, S> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut S {
        // SAFETY: the guard holds the lock, and `&mut self` makes this borrow unique.
        unsafe { self.value.get() }
    }
}

impl<S> Drop for ObjectLockGuard<'_, S> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: dropped once, here; the guard is not used after its drop.
        unsafe { ManuallyDrop::drop(&mut self.value) };
        self.lock.unlock(self.me);
    }
}

impl<S: fmt::Debug> fmt::Debug for ObjectLockGuard<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<S: fmt::Display> fmt::Display for ObjectLockGuard<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// The steps of the slow paths, reported to an observer that a thread of the crate's
/// unit tests installs for itself; nothing of it is compiled outside them. When a
/// waiter spins, flags the word, parks and is woken is what the lock's CPU use and
/// wake-ups depend on, and no answer of the lock shows it.
#[cfg(test)]
pub(crate) mod observer {
    use std::cell::RefCell;

    /// A step of a slow path of the observing thread, with the word it concerns.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Step {
        /// A waiter spun once more instead of parking; the word it had read.
        Spin(usize),
        /// It set the parked flag in the word it had read (which had none).
        Flag(usize),
        /// It is about to park (not yet in the parking lot: the observer may block
        /// here).
        Park,
        /// The parking lot's check let it sleep: the word the check read. Reported
        /// under the parking lot's lock: the observer must not block, panic or lock.
        Sleep(usize),
        /// Its park returned: after a `Sleep`, it was woken; without one, the check
        /// sent it back (the observer may block here).
        Back,
        /// It took the lock on the slow path, replacing this word.
        Take(usize),
        /// An unlock found the parked flag and took the slow path (waking a thread
        /// if one is parked).
        Unlock,
    }

    /// What the observing thread's steps are reported to.
    type Observer = Box<dyn FnMut(Step)>;

    std::thread_local! {
        static OBSERVER: RefCell<Option<Observer>> = const { RefCell::new(None) };
    }

    /// Reports each slow-path step of the calling thread to `observer` from now on.
    pub(crate) fn observe(observer: impl FnMut(Step) + 'static) {
        OBSERVER.with(|o| *o.borrow_mut() = Some(Box::new(observer)));
    }

    /// Reports `step` to the calling thread's observer, if it has one.
    pub(super) fn report(step: Step) {
        OBSERVER.with(|o| {
            if let Some(observer) = o.borrow_mut().as_mut() {
                observer(step);
            }
        });
    }
}
