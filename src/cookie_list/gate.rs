//! The progress gate (module docs, "Progress"): starving passes register on it,
//! writers that arrive after them wait for them, and a phase of passes that stops
//! stepping for the stall limit is evicted. Also the write lock as a write holds it
//! ([`Writer`]) and between two critical sections ([`Turn`]).

use core::fmt;
use core::time::Duration;
use std::collections::VecDeque;

use super::version::Current;
use super::{CookieList, Locked};
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::thread::current_thread_token;
use crate::sync::{Arc, Backoff, CachePadded, MutexGuard, StallClock};

/// The counter a reader phase's passes bump on every step, alone in its cache line:
/// the writers waiting behind the phase watch it move (module docs, "Progress").
type Progress = Arc<CachePadded<AtomicU64>>;

/// Counts one step of a protected pass.
#[inline(always)]
pub(super) fn step(progress: &AtomicU64) {
    // Relaxed: a writer only looks for the count to move; nothing is read on its
    // strength.
    progress.fetch_add(1, Ordering::Relaxed);
}

/// The starving passes and the writers waiting for them (module docs, "Progress"): a
/// queue of phases, alternately of passes and of writers. The front phase runs (its
/// passes walk, or its writers publish); a phase ends when its last member leaves,
/// or, for passes, when a writer behind them finds that none stepped for
/// [`CookieList::STALL_LIMIT`]. A pass joins the last phase if it is a phase of
/// passes, else starts one; a writer likewise. So a writer waits only for the
/// passes registered before it, and a pass only for the writers waiting before it.
pub(super) struct Gate {
    /// The number of the front phase: phases are numbered from 0 in the order they
    /// start. Mirrored in [`CookieList::front`] for the waiters.
    pub(super) first: u64,
    pub(super) phases: VecDeque<Phase>,
    /// The passes in all phases together: a writer publishes without waiting iff
    /// this is 0 (the write path's one extra check).
    pub(super) passes: usize,
    /// The ticket of the next pass that registers.
    next_ticket: u64,
    /// How long writers wait for a phase of passes that makes no step.
    pub(super) stall_limit: Duration,
}

pub(super) enum Phase {
    /// Starving passes, each a ticket and its thread's token, and the counter they
    /// step.
    Passes {
        progress: Progress,
        members: Vec<(u64, usize)>,
    },
    /// Writers waiting for the phases before this one.
    Writers { count: usize },
}

/// A pass's place in the [`Gate`]: its phase, its ticket, its phase's counter.
/// Dropping one touches only the counter's reference count (no item code).
pub(super) struct Registration {
    phase: u64,
    ticket: u64,
    pub(super) progress: Progress,
}

/// The gate's bookkeeping, tested without threads: a child module for the private
/// fields, its file with the other internal tests.
#[cfg(test)]
#[path = "../internal_tests/gate.rs"]
mod internal_tests;

impl Gate {
    pub(super) const fn new() -> Self {
        Self {
            first: 0,
            phases: VecDeque::new(),
            passes: 0,
            next_ticket: 0,
            stall_limit: CookieList::<()>::STALL_LIMIT,
        }
    }

    fn get(&self, phase: u64) -> Option<&Phase> {
        let index = usize::try_from(phase.checked_sub(self.first)?).ok()?;
        self.phases.get(index)
    }

    fn get_mut(&mut self, phase: u64) -> Option<&mut Phase> {
        let index = usize::try_from(phase.checked_sub(self.first)?).ok()?;
        self.phases.get_mut(index)
    }

    /// Whether `pass` is still a member of its phase (not ended, not evicted).
    fn holds(&self, pass: &Registration) -> bool {
        matches!(self.get(pass.phase), Some(Phase::Passes { members, .. })
            if members.iter().any(|&(ticket, _)| ticket == pass.ticket))
    }

    /// Registers a starving pass of thread `thread`: in the last phase if it is one
    /// of passes (no writer waits after them), else in a new phase at the back.
    fn register(&mut self, thread: usize) -> Registration {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.passes += 1;
        let next = self.first + self.phases.len() as u64;
        if let Some(Phase::Passes { progress, members }) = self.phases.back_mut() {
            members.push((ticket, thread));
            return Registration {
                phase: next - 1,
                ticket,
                progress: Arc::clone(progress),
            };
        }
        let progress = Arc::new(CachePadded::new(AtomicU64::new(0)));
        self.phases.push_back(Phase::Passes {
            progress: Arc::clone(&progress),
            members: vec![(ticket, thread)],
        });
        Registration {
            phase: next,
            ticket,
            progress,
        }
    }

    /// Removes from phase `phase` the passes for which `leaves` is true (none if it
    /// is not a phase of passes), then ends the front phases left empty.
    fn leave(&mut self, phase: u64, mut leaves: impl FnMut(u64, usize) -> bool) {
        if let Some(Phase::Passes { members, .. }) = self.get_mut(phase) {
            let before = members.len();
            members.retain(|&(ticket, thread)| !leaves(ticket, thread));
            let gone = before - members.len();
            self.passes -= gone;
        }
        self.advance();
    }

    /// A writer joins the last phase if it is one of writers, else starts one at
    /// the back: its phase, and the counter of the phase of passes just before it.
    /// Only called while some pass is registered, so there is one.
    fn join_writers(&mut self) -> (u64, Progress) {
        debug_assert!(self.passes > 0);
        if let Some(Phase::Writers { count }) = self.phases.back_mut() {
            *count += 1;
        } else {
            self.phases.push_back(Phase::Writers { count: 1 });
        }
        let n = self.phases.len();
        // Phases alternate, and a phase of writers is only started behind passes.
        let Some(Phase::Passes { progress, .. }) = n.checked_sub(2).map(|i| &self.phases[i]) else {
            unreachable!("a phase of writers follows a phase of passes");
        };
        (self.first + n as u64 - 1, Arc::clone(progress))
    }

    /// A writer of phase `phase` (the front one) is done.
    fn writer_done(&mut self, phase: u64) {
        if let Some(Phase::Writers { count }) = self.get_mut(phase) {
            *count -= 1;
        }
        self.advance();
    }

    /// Ends phase `phase` if it is the front one and one of passes: its passes lose
    /// their protection (they see the next write as a `Resync`, and register again).
    fn evict(&mut self, phase: u64) {
        if self.first == phase {
            if let Some(Phase::Passes { members, .. }) = self.phases.front() {
                self.passes -= members.len();
                // Drops the phase's counter reference: no item code.
                self.phases.pop_front();
                self.first += 1;
                self.advance();
            }
        }
    }

    /// Ends the front phases that have no member left.
    fn advance(&mut self) {
        while let Some(front) = self.phases.front() {
            let empty = match front {
                Phase::Passes { members, .. } => members.is_empty(),
                Phase::Writers { count } => *count == 0,
            };
            if !empty {
                break;
            }
            // Drops at most a counter's reference: no item code under the lock.
            self.phases.pop_front();
            self.first += 1;
        }
    }
}

/// The list's lock, held by a write: the current version and the gate, and the
/// writer phase this write waited in, if it did, which it leaves when dropped.
pub(super) struct Writer<'a, T> {
    locked: MutexGuard<'a, Locked<T>>,
    list: &'a CookieList<T>,
    turn: Option<u64>,
}

impl<T> core::ops::Deref for Writer<'_, T> {
    type Target = Locked<T>;

    fn deref(&self) -> &Locked<T> {
        &self.locked
    }
}

impl<T> core::ops::DerefMut for Writer<'_, T> {
    fn deref_mut(&mut self) -> &mut Locked<T> {
        &mut self.locked
    }
}

impl<'a, T> Writer<'a, T> {
    /// Whether this write has its place in the gate already (it waited for one).
    pub(super) fn has_turn(&self) -> bool {
        self.turn.is_some()
    }

    /// Releases the lock but keeps this write's place in the gate (a `remove_where` or
    /// `retain` asking its predicate again).
    pub(super) fn unlock(mut self) -> Turn<'a, T> {
        Turn {
            list: self.list,
            turn: self.turn.take(),
        }
    }
}

impl<T> Drop for Writer<'_, T> {
    fn drop(&mut self) {
        if let Some(phase) = self.turn.take() {
            let gate = self.locked.gate_mut();
            gate.writer_done(phase);
            self.list.sync_front(gate);
        }
    }
}

/// A write between two critical sections: its place in the gate, if it has one,
/// left when dropped (a panic included).
pub(super) struct Turn<'a, T> {
    list: &'a CookieList<T>,
    turn: Option<u64>,
}

impl<'a, T> Turn<'a, T> {
    /// A write that has no place in the gate yet.
    pub(super) fn new(list: &'a CookieList<T>) -> Self {
        Self { list, turn: None }
    }

    /// Takes the lock again; a write that has no place yet goes through the gate.
    pub(super) fn lock(mut self, wait: bool) -> Result<Writer<'a, T>, WouldWait> {
        match self.turn.take() {
            Some(phase) => Ok(Writer {
                locked: self.list.current.lock(),
                list: self.list,
                turn: Some(phase),
            }),
            None => self.list.gate(self.list.writer(), wait),
        }
    }
}

impl<T> Drop for Turn<'_, T> {
    fn drop(&mut self) {
        if let Some(phase) = self.turn.take() {
            let mut locked = self.list.current.lock();
            let gate = locked.gate_mut();
            gate.writer_done(phase);
            self.list.sync_front(gate);
        }
    }
}

/// A write refused because it would have to wait for a starving pass: what the
/// `try_` writes return (with the value they were given, if any).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct WouldWait<V = ()>(pub V);

impl<V> WouldWait<V> {
    /// The value the write was given back.
    pub fn into_inner(self) -> V {
        self.0
    }
}

impl<V> fmt::Display for WouldWait<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the write would wait for a starving pass")
    }
}

impl<V: fmt::Debug> std::error::Error for WouldWait<V> {}

impl<T> CookieList<T> {
    /// The list's lock, for a write that has not passed the gate yet.
    #[inline]
    pub(super) fn writer(&self) -> Writer<'_, T> {
        Writer {
            locked: self.current.lock(),
            list: self,
            turn: None,
        }
    }

    /// Lets `writer` publish: at once when no pass is starving (the common case, one
    /// check), else after the passes registered before it end or stall, or, when
    /// `wait` is false, not at all.
    #[inline]
    pub(super) fn gate<'a>(
        &'a self,
        writer: Writer<'a, T>,
        wait: bool,
    ) -> Result<Writer<'a, T>, WouldWait> {
        // loom-mutant: cookie-list-writer-ignores-starving-passes
        if writer.passes() == 0 || writer.turn.is_some() {
            return Ok(writer);
        }
        self.wait_behind_passes(writer, wait)
    }

    #[cold]
    fn wait_behind_passes<'a>(
        &'a self,
        mut writer: Writer<'a, T>,
        wait: bool,
    ) -> Result<Writer<'a, T>, WouldWait> {
        // A write made on the thread of a protected pass (from its loop body) would
        // wait for that pass, which cannot step until the write returns: the pass
        // gives its protection up instead, and sees this write as a `Resync`, as it
        // would have anyway.
        let me = current_thread_token();
        let gate = writer.gate_mut();
        gate.leave(gate.first, |_, thread| thread == me);
        self.sync_front(gate);
        if gate.passes == 0 {
            return Ok(writer);
        }
        if !wait {
            return Err(WouldWait(()));
        }
        let (phase, progress) = gate.join_writers();
        let limit = gate.stall_limit;
        let mut turn = Turn {
            list: self,
            turn: Some(phase),
        };
        drop(writer);
        loop {
            self.wait_for_turn(phase, &progress, limit);
            let writer = turn.lock(true)?;
            if writer.gate.as_ref().map(|gate| gate.first) == Some(phase) {
                return Ok(writer);
            }
            turn = writer.unlock();
        }
    }

    /// Waits, with no lock held, until the writer phase `phase` runs: until the
    /// phases before it end. When the phase of passes just before it runs and makes
    /// no step for `limit`, evicts it.
    #[cold]
    fn wait_for_turn(&self, phase: u64, progress: &AtomicU64, limit: Duration) {
        let backoff = Backoff::new();
        let mut clock = StallClock::new(limit);
        // Relaxed: only compared with later loads of the same counter.
        let mut seen = progress.load(Ordering::Relaxed);
        loop {
            // Relaxed: a hint; the turn is confirmed under the lock.
            let front = self.front.load(Ordering::Relaxed);
            if front >= phase {
                return;
            }
            if front + 1 == phase {
                // Relaxed: as above.
                let now = progress.load(Ordering::Relaxed);
                if now != seen {
                    seen = now;
                    clock.reset();
                // loom-mutant: cookie-list-stalled-starving-pass-never-evicted
                } else if clock.expired() {
                    let mut locked = self.current.lock();
                    let gate = locked.gate_mut();
                    gate.evict(phase - 1);
                    self.sync_front(gate);
                    drop(locked);
                    continue;
                }
            } else {
                // Earlier phases are the earlier writers' to watch.
                clock.reset();
            }
            backoff.snooze();
        }
    }

    /// Publishes the gate's front phase to the waiters.
    #[inline]
    fn sync_front(&self, gate: &Gate) {
        // Relaxed: a hint for the waiters, which confirm their turn under the lock.
        self.front.store(gate.first, Ordering::Relaxed);
    }

    /// The current version and its cookie for a starving pass (module docs,
    /// "Progress"): registers the pass unless it is registered, waits, with no lock
    /// held, for the writers registered before it, and loads under the lock. A pass
    /// whose phase was evicted registers again.
    #[cold]
    pub(super) fn load_starving(&self, registration: &mut Option<Registration>) -> Current<T> {
        let backoff = Backoff::new();
        loop {
            let mut locked = self.current.lock();
            let pass = match registration.take() {
                Some(pass) if locked.gate_mut().holds(&pass) => pass,
                // Evicted or new: (again) at the back. Dropping the old registration
                // under the lock touches only a counter's reference count.
                _ => locked.gate_mut().register(current_thread_token()),
            };
            if locked.gate_mut().first == pass.phase {
                step(&pass.progress);
                let current = locked.current.clone();
                drop(locked);
                *registration = Some(pass);
                return current;
            }
            let phase = pass.phase;
            *registration = Some(pass);
            drop(locked);
            // Relaxed: a hint; the turn is confirmed under the lock.
            while self.front.load(Ordering::Relaxed) < phase {
                backoff.snooze();
            }
        }
    }

    /// Ends a starving pass: it leaves its phase (if it was not evicted).
    #[cold]
    pub(super) fn unregister(&self, pass: Registration) {
        let mut locked = self.current.lock();
        let gate = locked.gate_mut();
        // loom-mutant: cookie-list-starving-pass-mark-never-cleared
        gate.leave(pass.phase, |ticket, _| ticket == pass.ticket);
        self.sync_front(gate);
        drop(locked);
        drop(pass);
    }
}
