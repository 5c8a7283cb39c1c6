//! The normal build's parking: `parking_lot_core`'s `park` and `unpark_one` on a
//! lock word's address, and its bounded `SpinWait` (`ObjectLock` waits with them).

/// Bounded spinning before parking: `parking_lot_core::SpinWait` (a few rounds of
/// exponentially longer pause loops, then a few yields). Under Miri and loom the
/// stand-in never spins.
#[derive(Default)]
pub(crate) struct SpinWait(parking_lot_core::SpinWait);

impl core::fmt::Debug for SpinWait {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SpinWait")
    }
}

impl SpinWait {
    /// Spins once more; `false` once spinning is no longer worth it.
    #[inline]
    pub(crate) fn spin(&mut self) -> bool {
        self.0.spin()
    }

    /// Starts over (after a wake-up).
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.0.reset();
    }
}

/// Parks the calling thread on `key` if `validate()` (run under the parking lot's
/// lock, so that no [`unpark_one`] runs meanwhile) says so, until an `unpark_one` on
/// `key` wakes it. It may also wake for no reason: callers check their word again.
///
/// # Safety
/// `key` is the address of a lock word the caller owns the protocol of, and
/// `validate` neither panics nor calls into the parking lot (`parking_lot_core::park`'s
/// contract).
#[inline]
pub(crate) unsafe fn park(key: usize, validate: impl FnOnce() -> bool) {
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
}

/// Wakes one thread parked on `key`, if any. `release(more)` runs first, under the
/// parking lot's lock (so no thread validates or parks meanwhile), with `more`
/// telling whether threads stay parked after the wake-up.
///
/// # Safety
/// As for [`park`]: `key` is a lock word's address whose protocol the caller owns;
/// `release` neither panics nor calls into the parking lot.
#[inline]
pub(crate) unsafe fn unpark_one(key: usize, release: impl FnOnce(bool)) {
    // SAFETY: the caller's contract is `parking_lot_core::unpark_one`'s.
    unsafe {
        parking_lot_core::unpark_one(key, |result| {
            release(result.have_more_threads);
            parking_lot_core::DEFAULT_UNPARK_TOKEN
        });
    }
}
