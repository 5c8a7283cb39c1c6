//! [`ObjectLock<S>`]: `GST_OBJECT_LOCK` as a guard, with re-locking on the holding
//! thread reported instead of hanging.
//!
//! # How a re-lock is caught, and what it costs
//!
//! The lock word is `parking_lot`'s (through the sync shim). Beside it sits the
//! *owner* word: a number for the thread that holds the lock (see
//! `sync::current_thread_token`), written by the holder right after it takes the lock
//! and cleared right before it lets go. `lock` first tries the lock without waiting;
//! only when that fails, which it always does on a re-lock, does it read the owner
//! word, and it panics if that names the calling thread. So the check costs nothing
//! on the uncontended path but one plain store at lock and one at unlock, and it runs
//! in every build, release included: a re-lock is a deadlock in the making, and a
//! deadlock that only debug builds report is one that ships.
//!
//! The owner word is read and written with `Relaxed`: a thread that reads its *own*
//! number there can only be reading its own latest store (a location's modification
//! order is seen in program order by the thread that wrote it), so it does hold the
//! lock; a number it reads that another thread stored is never its own. Nothing else
//! is decided by the word.

use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};

use crate::sync::{
    current_thread_token, get_mut_ptr, AtomicUsize, CellMutPtr, Ordering, RawLock, UnsafeCell,
};

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
pub struct ObjectLock<S> {
    raw: RawLock,
    /// `current_thread_token()` of the holder, or 0.
    owner: AtomicUsize,
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
            raw: RawLock::new(),
            owner: AtomicUsize::new(0),
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
        if !self.raw.try_lock() {
            self.lock_slow(me, describe);
        }
        self.locked_by(me)
    }

    /// The guard of a lock the calling thread (`me`) has just taken.
    #[inline(always)]
    fn locked_by(&self, me: usize) -> ObjectLockGuard<'_, S> {
        // Relaxed: read back only by this thread (to report a re-lock) or compared by
        // others against their own numbers (module docs).
        self.owner.store(me, Ordering::Relaxed);
        ObjectLockGuard {
            lock: self,
            value: ManuallyDrop::new(get_mut_ptr(&self.value)),
            _not_send: PhantomData,
        }
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn lock_slow<D: fmt::Display>(&self, me: usize, describe: impl FnOnce() -> D) {
        // Relaxed: only our own number matters, and we would read our own last store.
        if self.owner.load(Ordering::Relaxed) == me {
            panic!(
                "mtsafe: {} is already locked by this thread; locking it again would \
                 deadlock (an object lock is not recursive: take the value out of the \
                 first guard, or drop it first)",
                describe()
            );
        }
        self.raw.lock();
    }

    /// Takes the lock if no thread holds it; `None` otherwise (also when the calling
    /// thread holds it).
    #[inline]
    pub fn try_lock(&self) -> Option<ObjectLockGuard<'_, S>> {
        if !self.raw.try_lock() {
            return None;
        }
        Some(self.locked_by(current_thread_token()))
    }

    /// Whether the calling thread holds this lock: for assertions that a function
    /// documented "with LOCK" is called with it.
    #[inline]
    pub fn is_locked_by_current_thread(&self) -> bool {
        // Relaxed: only our own number matters (module docs).
        self.owner.load(Ordering::Relaxed) == current_thread_token()
    }

    /// Whether some thread holds the lock, at some moment during the call.
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
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
    /// Dropped by hand before the unlock: under loom it marks the access to the
    /// value, which must end before the next holder's begins.
    value: ManuallyDrop<CellMutPtr<S>>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard shares `&S` only, which is fine across threads when
// `S: Sync` (`MutexGuard`'s rule); the raw-pointer marker is there only to keep the
// guard from being *sent*.
unsafe impl<S: Sync> Sync for ObjectLockGuard<'_, S> {}

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
        // Relaxed: cleared before the unlock's Release, so the next holder's number
        // replaces ours in the modification order (module docs).
        self.lock.owner.store(0, Ordering::Relaxed);
        // SAFETY: this guard took the lock on this thread (the guard is not `Send`).
        unsafe { self.lock.raw.unlock() }
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
