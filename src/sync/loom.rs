//! The `--cfg loom` build's primitives: loom's atomics, `Arc`, cells, mutex and
//! condition variable, so that loom sees (and permutes) every access; and the
//! stand-ins for what loom cannot run (arc-swap, parking_lot's parking, crossbeam's
//! `Backoff`), each keeping the contract of what it replaces.

/// loom's atomics.
pub(crate) mod atomic {
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
}

/// loom's `UnsafeCell`, and a tracked pointer into it that a guard can keep.
pub(crate) mod cell {
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
}

pub(crate) use loom::sync::Arc;

pub(crate) use super::arc_swap_mutex::{guard_from_arc, guard_into_arc, ArcSwap, SwapGuard};
pub(crate) use super::backoff::Backoff;
pub(crate) use super::park_stand_in::{park, unpark_one, SpinWait};

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

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
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

/// `Arc<[T]>` from `items`; loom's `Arc` has no unsized coercion, so it adopts a
/// fresh `std` one.
pub(crate) fn arc_slice<T>(items: impl IntoIterator<Item = T>) -> Arc<[T]> {
    Arc::from_std(items.into_iter().collect())
}
