//! The one place that names `std::sync`, `parking_lot` or `loom`.
//!
//! Every other module takes its atomics, cells, `Arc` and `Mutex` from here, so a
//! single switch decides what they run on:
//!
//! | build                     | atomics, `Arc`                | `Mutex`, `Condvar`      | `UnsafeCell`                | `ArcSwap`                              |
//! |---------------------------|-------------------------------|-------------------------|-----------------------------|----------------------------------------|
//! | normal                    | `std::sync`                   | `parking_lot::Mutex` (std's under Miri) | `core::cell::UnsafeCell`    | `arc_swap::ArcSwap` (a std mutex around an `Arc` under Miri) |
//! | `RUSTFLAGS="--cfg loom"`  | `loom::sync`                  | `loom::sync::Mutex`     | `loom::cell::UnsafeCell`    | `loom::sync::Mutex<loom::sync::Arc<T>>` |
//!
//! The switch is the plain `--cfg loom`, on purpose: a downstream crate that
//! model-checks its own code with loom gets mtsafe's primitives on loom's atomics
//! too, so loom explores mtsafe's interleavings together with the caller's.
//!
//! The API is the intersection of both worlds: a poison-free `Mutex::lock() -> guard`
//! and an `UnsafeCell` that is only reached through `with` / `with_mut`, the shape
//! loom needs to track accesses.
//!
//! `ArcSwap<T>` (an `Arc<T>` that readers load and writers replace) is `arc-swap`'s
//! lock-free `ArcSwap` normally. arc-swap cannot run under loom (its debt lists and
//! thread-locals are invisible to loom's scheduler), so under `--cfg loom` the shim
//! substitutes a loom-visible equivalent with the same contract: a `loom::sync::Mutex`
//! around a `loom::sync::Arc<T>`. The contract both keep, and that callers may rely on:
//! every `load_full`, `with` and `swap` is linearizable (arc-swap gives each operation
//! a `SeqCst` read-modify-write; the mutex gives a total order of critical sections),
//! and a load that returns the `Arc` a `swap` stored synchronizes with that `swap`, so
//! everything written before the `swap` (the value itself included) is visible to the
//! loader. What loom does not check is arc-swap's own lock-freedom: under loom a load
//! may block behind a swap, which only adds interleavings.
//!
//! Under Miri the shim uses the same mutex-based `ArcSwap` (with std's `Arc` and
//! mutex): arc-swap's helping path, taken when a reader races a writer, casts
//! integers to pointers, which `-Zmiri-strict-provenance` refuses. Miri therefore
//! checks mtsafe's use of the contract, not arc-swap's internals (arc-swap's own
//! test suite covers those).

// The shim's whole API is kept in both worlds, whether or not every primitive uses
// every part of it yet.
#[cfg(not(loom))]
#[allow(dead_code, unused_imports)]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use std::sync::Arc;

    /// A poison-free mutex: parking_lot, or std's under Miri (parking_lot's parking
    /// casts integers to pointers, which strict-provenance Miri refuses, and the
    /// stress tests would otherwise have to skip Miri).
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T: ?Sized>(
        #[cfg(not(miri))] parking_lot::Mutex<T>,
        #[cfg(miri)] std::sync::Mutex<T>,
    );

    /// The guard of [`Mutex`].
    #[cfg(not(miri))]
    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
    /// The guard of [`Mutex`].
    #[cfg(miri)]
    pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            #[cfg(not(miri))]
            return Self(parking_lot::Mutex::new(value));
            #[cfg(miri)]
            return Self(std::sync::Mutex::new(value));
        }
    }

    impl<T: ?Sized> Mutex<T> {
        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            #[cfg(not(miri))]
            return self.0.lock();
            // Poison-free like parking_lot's: a panic while locked is already a failure.
            #[cfg(miri)]
            return self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }

        /// The value, through an exclusive borrow of the mutex: no locking.
        #[inline]
        pub(crate) fn get_mut(&mut self) -> &mut T {
            #[cfg(not(miri))]
            return self.0.get_mut();
            #[cfg(miri)]
            return self
                .0
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// A condition variable for [`Mutex`]: parking_lot's, or std's under Miri (as
    /// the mutex). Spurious wake-ups are possible: wait in a loop.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(
        #[cfg(not(miri))] parking_lot::Condvar,
        #[cfg(miri)] std::sync::Condvar,
    );

    impl Condvar {
        pub(crate) const fn new() -> Self {
            #[cfg(not(miri))]
            return Self(parking_lot::Condvar::new());
            #[cfg(miri)]
            return Self(std::sync::Condvar::new());
        }

        /// Releases the guard's lock, waits for a notification, takes the lock again.
        pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            #[cfg(not(miri))]
            {
                let mut guard = guard;
                self.0.wait(&mut guard);
                guard
            }
            #[cfg(miri)]
            return self
                .0
                .wait(guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }

        /// As [`wait`](Self::wait), for at most `timeout`; `true` when it timed out.
        pub(crate) fn wait_timeout<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            timeout: std::time::Duration,
        ) -> (MutexGuard<'a, T>, bool) {
            #[cfg(not(miri))]
            {
                let mut guard = guard;
                let timed_out = self.0.wait_for(&mut guard, timeout).timed_out();
                (guard, timed_out)
            }
            #[cfg(miri)]
            {
                let (guard, result) = self
                    .0
                    .wait_timeout(guard, timeout)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                (guard, result.timed_out())
            }
        }

        /// Wakes every waiting thread.
        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    /// `core::cell::UnsafeCell` behind loom's closure-based API.
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }

        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a shared pointer to the value.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a mutable pointer to the value.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// A mutable pointer to the cell's value that a guard can keep (under loom the
    /// access is tracked for as long as it lives).
    #[inline(always)]
    pub(crate) fn get_mut_ptr<T>(cell: &UnsafeCell<T>) -> CellMutPtr<T> {
        CellMutPtr(cell.0.get())
    }

    /// A raw pointer into an [`UnsafeCell`], kept by a guard.
    #[derive(Debug)]
    pub(crate) struct CellMutPtr<T: ?Sized>(*mut T);

    impl<T: ?Sized> CellMutPtr<T> {
        /// # Safety
        /// The cell is live and the caller has exclusive access to its value for `'a`.
        #[inline(always)]
        pub(crate) unsafe fn get<'a>(&self) -> &'a mut T {
            // SAFETY: the caller's contract.
            unsafe { &mut *self.0 }
        }
    }
}

#[cfg(loom)]
#[allow(dead_code, unused_imports)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;

    /// loom's tracked pointer into an [`UnsafeCell`], kept by a guard.
    #[derive(Debug)]
    pub(crate) struct CellMutPtr<T: ?Sized>(loom::cell::MutPtr<T>);

    impl<T: ?Sized> CellMutPtr<T> {
        /// # Safety
        /// The cell is live and the caller has exclusive access to its value for `'a`.
        pub(crate) unsafe fn get<'a>(&self) -> &'a mut T {
            // SAFETY: the caller's contract.
            unsafe { &mut *(self.0.deref() as *mut T) }
        }
    }

    /// A loom-tracked mutable pointer to the cell's value.
    pub(crate) fn get_mut_ptr<T>(cell: &UnsafeCell<T>) -> CellMutPtr<T> {
        CellMutPtr(cell.get_mut())
    }
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use loom::sync::Arc;

    /// A poison-free mutex (loom's, so loom sees every lock and unlock).
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// The guard of [`Mutex`].
    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            // A panic while locked only happens when a loom model already failed.
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        /// The value, through an exclusive borrow of the mutex: no locking.
        pub(crate) fn get_mut(&mut self) -> &mut T {
            self.0
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }

    /// loom's condition variable, so loom sees every wait and notification (and
    /// reports a wait nobody ends as a deadlock). loom never times a wait out.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Self(loom::sync::Condvar::new())
        }

        /// Releases the guard's lock, waits for a notification, takes the lock again.
        pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0
                .wait(guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        /// As [`wait`](Self::wait); loom never times out, so this returns `false`.
        pub(crate) fn wait_timeout<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            timeout: std::time::Duration,
        ) -> (MutexGuard<'a, T>, bool) {
            let (guard, result) = self
                .0
                .wait_timeout(guard, timeout)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (guard, result.timed_out())
        }

        /// Wakes every waiting thread.
        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Self::new(T::default())
        }
    }
}

#[allow(unused_imports)]
pub(crate) use imp::*;

// ---------------------------------------------------------------------------------
// `ArcSwap<T>`: an atomically replaceable `Arc<T>` (arc-swap, or a mutex under loom).
// ---------------------------------------------------------------------------------

#[cfg(all(not(loom), not(miri)))]
mod swap_imp {
    use super::imp::Arc;

    /// An `Arc<T>` that readers load without a lock and writers replace atomically:
    /// `arc_swap::ArcSwap<T>`. See the module docs for the contract it shares with
    /// the loom build.
    #[derive(Debug)]
    pub(crate) struct ArcSwap<T>(arc_swap::ArcSwap<T>);

    impl<T> ArcSwap<T> {
        pub(crate) fn new(value: Arc<T>) -> Self {
            Self(arc_swap::ArcSwap::new(value))
        }

        /// A new `Arc` to the current value.
        #[inline]
        pub(crate) fn load_full(&self) -> Arc<T> {
            self.0.load_full()
        }

        /// Stores `new` and returns the value it replaced.
        #[inline]
        pub(crate) fn swap(&self, new: Arc<T>) -> Arc<T> {
            self.0.swap(new)
        }

        /// The current value, behind arc-swap's guard: usually no reference count is
        /// touched at all (a per-thread debt slot records the borrow instead).
        #[inline(always)]
        pub(crate) fn load(&self) -> SwapGuard<T> {
            self.0.load()
        }

        /// Replaces the value with `f(current)`, retrying `f` on the new current value
        /// when another writer replaced it meanwhile, so no update is lost; returns
        /// the value that was replaced.
        #[inline]
        pub(crate) fn rcu(&self, mut f: impl FnMut(&T) -> T) -> Arc<T> {
            self.0.rcu(|current| Arc::new(f(current)))
        }
    }

    /// What [`ArcSwap::load`] returns: arc-swap's guard, which derefs to the `Arc`.
    pub(crate) type SwapGuard<T> = arc_swap::Guard<Arc<T>>;

    /// An owned `Arc` out of a guard.
    #[inline]
    pub(crate) fn guard_into_arc<T>(guard: SwapGuard<T>) -> Arc<T> {
        arc_swap::Guard::into_inner(guard)
    }

    /// A guard holding an owned `Arc`.
    #[inline]
    pub(crate) fn guard_from_arc<T>(arc: Arc<T>) -> SwapGuard<T> {
        arc_swap::Guard::from_inner(arc)
    }

    /// `Arc<[T]>` from `items` (a `Vec`'s moved in; an iterator whose length std
    /// knows, such as a slice's clones chained with `once`, written straight into
    /// the one allocation).
    #[inline]
    pub(crate) fn arc_slice<T>(items: impl IntoIterator<Item = T>) -> Arc<[T]> {
        items.into_iter().collect()
    }
}

#[cfg(any(loom, miri))]
mod swap_imp {
    use super::imp::{Arc, Mutex};

    /// The loom and Miri builds' `ArcSwap<T>`: a mutex around an `Arc<T>` (loom's
    /// under loom, so that loom sees and permutes every load and swap). Same contract
    /// as arc-swap's (module docs), blocking instead of lock-free.
    #[derive(Debug)]
    pub(crate) struct ArcSwap<T>(Mutex<Arc<T>>);

    impl<T> ArcSwap<T> {
        pub(crate) fn new(value: Arc<T>) -> Self {
            Self(Mutex::new(value))
        }

        /// A new `Arc` to the current value.
        pub(crate) fn load_full(&self) -> Arc<T> {
            Arc::clone(&self.0.lock())
        }

        /// Stores `new` and returns the value it replaced.
        pub(crate) fn swap(&self, new: Arc<T>) -> Arc<T> {
            core::mem::replace(&mut *self.0.lock(), new)
        }

        /// The current value (an `Arc` clone; arc-swap's guard has the same contract).
        pub(crate) fn load(&self) -> SwapGuard<T> {
            self.load_full()
        }

        /// Replaces the value with `f(current)`, retrying with the new current value
        /// if another writer stored one meanwhile; returns the value replaced. As
        /// arc-swap's `rcu`, `f` runs with no lock held, so it may load (or even
        /// update) this same value; it may run more than once.
        pub(crate) fn rcu(&self, mut f: impl FnMut(&T) -> T) -> Arc<T> {
            loop {
                // loom-mutant: property-loom-miri-rcu-stand-in-runs-closure-under-mutex
                let current = self.load_full();
                let new = Arc::new(f(&current));
                let mut slot = self.0.lock();
                // loom-mutant: property-loom-miri-rcu-stand-in-stores-over-newer-value
                if Arc::ptr_eq(&slot, &current) {
                    let replaced = core::mem::replace(&mut *slot, new);
                    drop(slot);
                    return replaced;
                }
                // Another writer won: both handles are dropped after the unlock.
                drop(slot);
            }
        }
    }

    /// What [`ArcSwap::load`] returns: here, the `Arc` itself.
    pub(crate) type SwapGuard<T> = Arc<T>;

    /// An owned `Arc` out of a guard.
    pub(crate) fn guard_into_arc<T>(guard: SwapGuard<T>) -> Arc<T> {
        guard
    }

    /// A guard holding an owned `Arc`.
    pub(crate) fn guard_from_arc<T>(arc: Arc<T>) -> SwapGuard<T> {
        arc
    }

    /// `Arc<[T]>` from `items`; loom's `Arc` has no unsized coercion, so it adopts a
    /// fresh `std` one.
    #[cfg(loom)]
    pub(crate) fn arc_slice<T>(items: impl IntoIterator<Item = T>) -> Arc<[T]> {
        Arc::from_std(items.into_iter().collect())
    }

    /// `Arc<[T]>` from `items` (as in the normal build's shim).
    #[cfg(not(loom))]
    pub(crate) fn arc_slice<T>(items: impl IntoIterator<Item = T>) -> Arc<[T]> {
        items.into_iter().collect()
    }
}

pub(crate) use swap_imp::{arc_slice, guard_from_arc, guard_into_arc, ArcSwap, SwapGuard};

/// Marks an allocation that mtsafe frees by hand: under loom it is a
/// `loom::alloc::Track`, so a model that leaks the allocation fails; elsewhere it is a
/// zero-sized no-op.
#[derive(Debug)]
pub(crate) struct AllocTrack(
    #[cfg(loom)] // Held for its drop, which loom checks.
    #[allow(dead_code)]
    loom::alloc::Track<()>,
);

impl AllocTrack {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Self(
            #[cfg(loom)]
            loom::alloc::Track::new(()),
        )
    }
}

/// Aborts the process: the answer to a reference count overflow, as `std::sync::Arc`
/// gives it (unwinding could run destructors that still use the overflowed count).
#[cold]
#[inline(never)]
pub(crate) fn abort() -> ! {
    std::process::abort()
}

// ---------------------------------------------------------------------------------
// Waiting for `ObjectLock`'s word: spinning, parking, waking.
// ---------------------------------------------------------------------------------

/// Lets other threads run: loom's yield under loom, std's elsewhere.
#[inline]
#[allow(dead_code)] // Kept beside `park` for spin loops; not every build uses it.
pub(crate) fn yield_now() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::thread::yield_now();
}

/// Bounded spinning before parking: `parking_lot_core::SpinWait` (a few rounds of
/// exponentially longer pause loops, then a few yields). Under Miri and loom it
/// never spins: a waiter parks at once, so that loom sees every wait as a block
/// (and a deadlock as one), not as a spin loop.
#[derive(Default)]
pub(crate) struct SpinWait(#[cfg(all(not(loom), not(miri)))] parking_lot_core::SpinWait);

impl core::fmt::Debug for SpinWait {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SpinWait")
    }
}

impl SpinWait {
    /// Spins once more; `false` once spinning is no longer worth it.
    #[inline]
    pub(crate) fn spin(&mut self) -> bool {
        #[cfg(all(not(loom), not(miri)))]
        return self.0.spin();
        #[cfg(any(loom, miri))]
        return false;
    }

    /// Starts over (after a wake-up).
    #[inline]
    pub(crate) fn reset(&mut self) {
        #[cfg(all(not(loom), not(miri)))]
        self.0.reset();
    }
}

/// Parks the calling thread on `key` if `validate()` (run under the parking lot's
/// lock, so that no [`unpark_one`] runs meanwhile) says so, until an `unpark_one` on
/// `key` wakes it. It may also wake for no reason: callers check their word again.
///
/// `parking_lot_core::park` normally. Under Miri and loom, one process-wide
/// parking lot of the build's own mutex and condition variable (parking_lot's
/// parking casts integers to pointers, which strict-provenance Miri refuses, and
/// loom cannot see its threads): same contract, `validate` and the unpark's
/// `release` under one lock, every parked thread woken by each unpark.
///
/// # Safety
/// `key` is the address of a lock word the caller owns the protocol of, and
/// `validate` neither panics nor calls into the parking lot (`parking_lot_core::park`'s
/// contract).
#[inline]
pub(crate) unsafe fn park(key: usize, validate: impl FnOnce() -> bool) {
    #[cfg(all(not(loom), not(miri)))]
    // SAFETY: the caller's contract is `parking_lot_core::park`'s; the other two
    // callbacks do nothing, and there is no timeout.
    unsafe {
        parking_lot_core::park(
            key,
            validate,
            || {},
            |_, _| {},
            parking_lot_core::DEFAULT_PARK_TOKEN,
            None,
        );
    }
    #[cfg(any(loom, miri))]
    {
        let _ = key;
        let lot = parking_lot_stand_in();
        let guard = lot.0.lock().unwrap_or_else(|p| p.into_inner());
        if validate() {
            drop(lot.1.wait(guard).unwrap_or_else(|p| p.into_inner()));
        }
    }
}

/// Wakes one thread parked on `key`, if any. `release(more)` runs first, under the
/// parking lot's lock (so no thread validates or parks meanwhile), with `more`
/// telling whether threads stay parked after the wake-up.
///
/// Under Miri and loom ([`park`]) every parked thread wakes, and `more` is `false`:
/// each woken thread checks the word again and parks again if it must.
///
/// # Safety
/// As for [`park`]: `key` is a lock word's address whose protocol the caller owns;
/// `release` neither panics nor calls into the parking lot.
#[inline]
pub(crate) unsafe fn unpark_one(key: usize, release: impl FnOnce(bool)) {
    #[cfg(all(not(loom), not(miri)))]
    // SAFETY: the caller's contract is `parking_lot_core::unpark_one`'s.
    unsafe {
        parking_lot_core::unpark_one(key, |result| {
            release(result.have_more_threads);
            parking_lot_core::DEFAULT_UNPARK_TOKEN
        });
    }
    #[cfg(any(loom, miri))]
    {
        let _ = key;
        let lot = parking_lot_stand_in();
        let guard = lot.0.lock().unwrap_or_else(|p| p.into_inner());
        release(false);
        lot.1.notify_all();
        drop(guard);
    }
}

/// The Miri and loom builds' parking lot ([`park`]): one lock and one condition
/// variable for every key.
#[cfg(loom)]
fn parking_lot_stand_in() -> &'static (loom::sync::Mutex<()>, loom::sync::Condvar) {
    loom::lazy_static! {
        static ref LOT: (loom::sync::Mutex<()>, loom::sync::Condvar) =
            (loom::sync::Mutex::new(()), loom::sync::Condvar::new());
    }
    &LOT
}

/// The Miri and loom builds' parking lot ([`park`]): one lock and one condition
/// variable for every key.
#[cfg(all(not(loom), miri))]
fn parking_lot_stand_in() -> &'static (std::sync::Mutex<()>, std::sync::Condvar) {
    static LOT: (std::sync::Mutex<()>, std::sync::Condvar) =
        (std::sync::Mutex::new(()), std::sync::Condvar::new());
    &LOT
}

/// A number that identifies the calling thread among the live threads: the address
/// of a thread-local `u64`, so never zero and a multiple of 8 (its low three bits
/// are free for a lock word's flags). A thread that exits may pass its number on to
/// a later thread; no two live threads share one.
#[inline(always)]
pub(crate) fn current_thread_token() -> usize {
    #[cfg(not(loom))]
    std::thread_local!(static TOKEN: u64 = const { 0 });
    #[cfg(loom)]
    loom::thread_local!(static TOKEN: u64 = 0);
    TOKEN.with(|word| core::ptr::from_ref(word).addr())
}

// ---------------------------------------------------------------------------------
// Process-wide state of the object model.
// ---------------------------------------------------------------------------------

/// Under loom, a number for each new object, increasing in creation order: the
/// order of two tree locks (the object model's), which must not depend on heap
/// addresses there, since loom replays every interleaving and needs the same choices
/// each time. A plain std atomic: bookkeeping, not one of the interleavings the
/// models are about (only the relative order of one model run's objects matters).
#[cfg(loom)]
pub(crate) fn next_lock_order() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    // Relaxed: only uniqueness and each thread's own order matter.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A default object name for type `T`, as its two parts `(prefix, n)` (the name is
/// `<prefix><n>`): `prefix` is computed once per type by `prefix` (the caller's rule)
/// and `n` is unique per prefix across the process, so two threads never get the
/// same name. Nothing is formatted or allocated here.
///
/// Plain std primitives in every build: naming is bookkeeping, not one of the
/// interleavings the loom models are about. Each distinct prefix gets one counter,
/// allocated once and kept for the life of the process (one per type, a bounded
/// set). A thread takes numbers from it in blocks of [`NAME_BLOCK`] and hands them
/// out from its own cache, so threads creating objects of one type write no shared
/// cache line but once per block; numbers are unique, and increase within a thread
/// (not across threads).
pub(crate) fn default_name<T: ?Sized>(prefix: impl FnOnce() -> String) -> (&'static str, u64) {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64 as StdAtomicU64, Ordering as StdOrdering};

    type Counter = (&'static str, &'static StdAtomicU64);
    /// One type's entry in a thread's cache: its counter, and the numbers of the
    /// block this thread took that it has not handed out yet (`next..end`).
    struct Cached {
        type_name: &'static str,
        counter: Counter,
        next: u64,
        end: u64,
    }
    std::thread_local! {
        static CACHE: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
    }
    static COUNTERS: std::sync::Mutex<BTreeMap<String, Counter>> =
        std::sync::Mutex::new(BTreeMap::new());

    let type_name = core::any::type_name::<T>();
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let at = cache
            .iter()
            .position(|c| core::ptr::eq(c.type_name, type_name) || c.type_name == type_name);
        let at = at.unwrap_or_else(|| {
            let prefix = prefix();
            let mut counters = COUNTERS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let counter = *counters.entry(prefix).or_insert_with_key(|prefix| {
                let leaked: &'static str = Box::leak(prefix.clone().into_boxed_str());
                (leaked, Box::leak(Box::new(StdAtomicU64::new(0))))
            });
            drop(counters);
            cache.push(Cached {
                type_name,
                counter,
                next: 0,
                end: 0,
            });
            cache.len() - 1
        });
        let entry = &mut cache[at];
        if entry.next == entry.end {
            // Relaxed: only uniqueness matters, which the increment's atomicity gives.
            entry.next = entry.counter.1.fetch_add(NAME_BLOCK, StdOrdering::Relaxed);
            entry.end = entry.next + NAME_BLOCK;
        }
        entry.next += 1;
        (entry.counter.0, entry.next - 1)
    })
}

/// How many default-name numbers a thread takes from a type's counter at once.
pub(crate) const NAME_BLOCK: u64 = 64;

// ---------------------------------------------------------------------------------
// Waiting: `Backoff`, `CachePadded` and `StallClock`, for a writer that waits for
// starving passes (cookie_list) and a pass that waits for its turn.
// ---------------------------------------------------------------------------------

/// An atomic that sits alone in its cache line (`crossbeam_utils::CachePadded`): a
/// counter that some threads write often does not slow down loads of its neighbours.
/// A plain wrapper, the same in every build (loom sees the atomic inside).
pub(crate) use crossbeam_utils::CachePadded;

/// Spin, then yield (`crossbeam_utils::Backoff`): `snooze` between two looks at what a
/// waiter waits for.
#[cfg(not(loom))]
pub(crate) use crossbeam_utils::Backoff;

/// loom's `Backoff`: every `snooze` is `loom::thread::yield_now`, so that loom runs
/// the other threads instead of exploring an unbounded spin. Same contract as
/// crossbeam's: `snooze` only lets time pass, it decides nothing.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct Backoff(());

#[cfg(loom)]
impl Backoff {
    pub(crate) fn new() -> Self {
        Self(())
    }

    pub(crate) fn snooze(&self) {
        loom::thread::yield_now();
    }
}

/// Tells a waiter when what it waits for has shown no sign of progress for too long:
/// `expired` is true once `limit` has passed since the first `expired` call after
/// `new` or `reset` (a wall-clock duration). Under loom, time is a count of calls:
/// `expired` is true on the [`STALL_ROUNDS`]-th call without a `reset`, so that loom
/// explores both a waiter that gives up and one that sees the progress first.
#[derive(Debug)]
pub(crate) struct StallClock {
    #[cfg(not(loom))]
    since: Option<std::time::Instant>,
    #[cfg(not(loom))]
    limit: std::time::Duration,
    #[cfg(loom)]
    calls: u32,
}

/// Under loom: how many `expired` calls without a `reset` stand for the limit.
#[cfg(loom)]
pub(crate) const STALL_ROUNDS: u32 = 3;

impl StallClock {
    #[cfg_attr(loom, allow(unused_variables))]
    pub(crate) fn new(limit: std::time::Duration) -> Self {
        Self {
            #[cfg(not(loom))]
            since: None,
            #[cfg(not(loom))]
            limit,
            #[cfg(loom)]
            calls: 0,
        }
    }

    /// Starts the count again: progress was seen.
    pub(crate) fn reset(&mut self) {
        #[cfg(not(loom))]
        {
            self.since = None;
        }
        #[cfg(loom)]
        {
            self.calls = 0;
        }
    }

    /// Whether the limit has passed with no `reset`.
    pub(crate) fn expired(&mut self) -> bool {
        #[cfg(not(loom))]
        {
            let now = std::time::Instant::now();
            match self.since {
                None => {
                    self.since = Some(now);
                    false
                }
                Some(since) => now.duration_since(since) >= self.limit,
            }
        }
        #[cfg(loom)]
        {
            self.calls += 1;
            self.calls >= STALL_ROUNDS
        }
    }
}
