//! The loom and Miri builds' `ArcSwap<T>`: a mutex around an `Arc<T>`, with
//! arc-swap's contract (the shim's docs), blocking instead of lock-free.

use crate::sync::{Arc, Mutex};

/// The loom and Miri builds' `ArcSwap<T>`: a mutex around an `Arc<T>` (loom's
/// under loom, so that loom sees and permutes every load and swap). Same contract
/// as arc-swap's (the shim's docs), blocking instead of lock-free.
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
