//! The normal build's poison-free `Mutex` and its `Condvar`: parking_lot's, or std's
//! under Miri (parking_lot's parking casts integers to pointers, which
//! strict-provenance Miri refuses, and the stress tests would otherwise have to skip
//! Miri).

/// A poison-free mutex: parking_lot's, or std's under Miri (module docs).
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
