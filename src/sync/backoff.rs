//! The loom build's `Backoff` (crossbeam's elsewhere).

/// loom's `Backoff`: every `snooze` is `loom::thread::yield_now`, so that loom runs
/// the other threads instead of exploring an unbounded spin. Same contract as
/// crossbeam's: `snooze` only lets time pass, it decides nothing.
#[derive(Debug, Default)]
pub(crate) struct Backoff(());

impl Backoff {
    pub(crate) fn new() -> Self {
        Self(())
    }

    pub(crate) fn snooze(&self) {
        loom::thread::yield_now();
    }
}
