//! The Miri and loom builds' parking: one process-wide parking lot of the build's
//! own mutex and condition variable, with `parking_lot_core`'s contract (see
//! `park.rs`). parking_lot's parking casts integers to pointers, which
//! strict-provenance Miri refuses, and loom cannot see its threads. Same contract:
//! `validate` and the unpark's `release` run under one lock; every parked thread
//! wakes on each unpark (and checks its word again).

use crate::sync::{Condvar, Mutex};

/// Never spins: a waiter parks at once, so that loom sees every wait as a block (and
/// a deadlock as one), not as a spin loop.
#[derive(Debug, Default)]
pub(crate) struct SpinWait(());

impl SpinWait {
    /// Never worth spinning here: always `false`.
    #[inline]
    pub(crate) fn spin(&mut self) -> bool {
        false
    }

    /// Starts over (after a wake-up): nothing to reset.
    #[inline]
    pub(crate) fn reset(&mut self) {}
}

/// Parks the calling thread if `validate()` (run under the lot's lock, so that no
/// [`unpark_one`] runs meanwhile) says so, until an `unpark_one` (on any key) wakes
/// it. Callers check their word again after a wake-up, as with parking_lot's.
///
/// # Safety
/// As `park.rs`'s: `key` is the address of a lock word the caller owns the protocol
/// of, and `validate` neither panics nor calls into the parking lot.
#[inline]
pub(crate) unsafe fn park(key: usize, validate: impl FnOnce() -> bool) {
    let _ = key;
    let lot = lot();
    let guard = lot.0.lock();
    if validate() {
        drop(lot.1.wait(guard));
    }
}

/// Wakes every parked thread (one lot for every key). `release(false)` runs first,
/// under the lot's lock (so no thread validates or parks meanwhile): `more` is always
/// `false`, as each woken thread checks the word again and parks again if it must.
///
/// # Safety
/// As for [`park`]: `key` is a lock word's address whose protocol the caller owns;
/// `release` neither panics nor calls into the parking lot.
#[inline]
pub(crate) unsafe fn unpark_one(key: usize, release: impl FnOnce(bool)) {
    let _ = key;
    let lot = lot();
    let guard = lot.0.lock();
    release(false);
    lot.1.notify_all();
    drop(guard);
}

/// The parking lot: one lock and one condition variable for every key.
#[cfg(loom)]
fn lot() -> &'static (Mutex<()>, Condvar) {
    loom::lazy_static! {
        static ref LOT: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());
    }
    &LOT
}

/// The parking lot: one lock and one condition variable for every key.
#[cfg(not(loom))]
fn lot() -> &'static (Mutex<()>, Condvar) {
    static LOT: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());
    &LOT
}
