//! The normal build's `ArcSwap<T>`: arc-swap's lock-free `ArcSwap` (the contract
//! it shares with the loom and Miri stand-in is in the shim's docs).

use crate::sync::Arc;

/// An `Arc<T>` that readers load without a lock and writers replace atomically:
/// `arc_swap::ArcSwap<T>`. See the shim's docs for the contract it shares with
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
