//! `StallClock`: when a waiter (a cookie-list writer waiting for starving passes)
//! stops waiting. Wall-clock time normally; under loom, a count of calls.

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
            // loom-mutant: stall-clock-never-expires
            self.calls >= STALL_ROUNDS
        }
    }
}
