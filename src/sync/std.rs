//! The normal build's primitives, Miri's included: std's atomics and `Arc`,
//! parking_lot's mutex and parking, arc-swap, crossbeam's `Backoff`. Under Miri the
//! mutex, the parking lot and `ArcSwap` are stand-ins built on std (see each file).

/// std's atomics.
pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
}

/// `core::cell::UnsafeCell` behind loom's closure-based API.
pub(crate) mod cell {
    pub(crate) use crate::sync::unsafe_cell::{get_mut_ptr, CellMutPtr, UnsafeCell};
}

pub(crate) use std::sync::Arc;

pub(crate) use super::mutex::{Condvar, Mutex, MutexGuard};

#[cfg(not(miri))]
pub(crate) use super::arc_swap::{guard_from_arc, guard_into_arc, ArcSwap, SwapGuard};
#[cfg(miri)]
pub(crate) use super::arc_swap_mutex::{guard_from_arc, guard_into_arc, ArcSwap, SwapGuard};

#[cfg(not(miri))]
pub(crate) use super::park::{park, unpark_one, SpinWait};
#[cfg(miri)]
pub(crate) use super::park_stand_in::{park, unpark_one, SpinWait};

/// Spin, then yield (`crossbeam_utils::Backoff`): `snooze` between two looks at what a
/// waiter waits for.
pub(crate) use crossbeam_utils::Backoff;

/// `Arc<[T]>` from `items` (a `Vec`'s moved in; an iterator whose length std
/// knows, such as a slice's clones chained with `once`, written straight into
/// the one allocation).
#[inline]
pub(crate) fn arc_slice<T>(items: impl IntoIterator<Item = T>) -> Arc<[T]> {
    items.into_iter().collect()
}
