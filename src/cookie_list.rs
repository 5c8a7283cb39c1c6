//! [`CookieList<T>`] and its resync iterator: a list shared between threads and
//! versioned by a cookie, GStreamer's children list with its `GstIterator`, built so
//! that an iterator can neither read a torn or freed list nor starve behind a busy
//! writer: a pass resyncs at most [`CookieList::STARVING_AFTER`] (2) times, whatever
//! the writers do, as long as it keeps stepping.
//!
//! # How it is built
//!
//! A *version* of the list is immutable: its length and its items in *chunks*, each
//! an `Arc<[T]>` of at most `max(32, √len)` items. An empty version is no allocation
//! at all, and a version of one chunk (up to 32 items) is that chunk alone, so a small
//! list costs one allocation per change. The list holds two things:
//!
//! | field     | what                                                                       |
//! |-----------|----------------------------------------------------------------------------|
//! | `cookie`  | an `AtomicU64`: the cookie of the current version, which iterators compare |
//! | `current` | the current version and its cookie, behind the list's lock                 |
//!
//! A write, under the lock, builds the next version from the current one: it clones
//! the items of the one or two chunks it changes (at most `2 · max(32, √len)` items)
//! and the chunk pointers (`O(√len)` reference-count increments), shares every other
//! chunk, and publishes it with the next cookie (below). `retain` and `clear` are
//! `O(len)`. The chunk count stays `O(√len)`: a chunk left small is merged with a
//! neighbour whenever the two fit in one. Nothing a write replaces is dropped before
//! the lock is released, so an item's `Drop` may use the list; no caller's predicate
//! or callback runs under it (the one piece of item code that does is `T::clone`,
//! when a write copies a chunk's items).
//!
//! A reader takes the current version (one reference-count increment under the
//! lock) and reads it with no lock at all. It can wait for one write in progress
//! (`O(√len)` increments for a push or a removal), never for a predicate, a drop or
//! another reader's pass, and a pass takes the lock once, not per step. (Readers
//! could skip even that wait with a lock-free pointer swap; the one mtsafe measured,
//! arc-swap, scans every thread's slots on each swap and on each drop, which cost
//! more than a whole small-list write. A second lock just for publishing, so that
//! readers never wait for a build, was measured too: its extra lock and copy made
//! an object's create + add + remove 167 ns instead of 122.)
//!
//! An iterator owns the version it walks and a position in it; [`CookieIter::next`]
//! loads the cookie and compares it with its own before it touches the position, and
//! returns [`Resync`] on a mismatch, its state unchanged. Its items come from its own
//! version, which no writer can change or free, so a torn read or a use after free is
//! impossible by construction. The one `unsafe` block is the iterators' cursor reading
//! through a pointer into a chunk of the version it owns, so that a step indexes the
//! chunk directly, with no reference-count traffic.
//!
//! `remove_where` and `retain` run their predicate on a snapshot with no lock held,
//! then take the lock and apply the result to the *current* version. They
//! remember the predicate's answer per chunk, and a chunk is immutable, so an answer
//! stays true for as long as its chunk is part of the list: under the lock they only
//! use answers about chunks that are still there. When a concurrent write replaced a
//! chunk they need, they release the lock, ask the predicate about the new chunk only,
//! and try again. A concurrent write can therefore make them retry but never remove
//! the wrong item. (`remove_where`'s common case, no write in between, checks that the
//! cookie is still the one it read and skips the bookkeeping.)
//!
//! # Orderings
//!
//! A writer publishes version `c` (the cookie only grows, one per change) in the
//! critical section where it built it:
//!
//! 1. it replaces the pair in `current` with `(c, version c)`;
//! 2. it stores `c` in `cookie` with `Release`, before it releases the lock.
//!
//! A reader that wants the current version (`iter`, `resync`, `snapshot`, iterating
//! `&list`) clones the pair under the lock. The lock makes the pair consistent, and
//! because the cookie store sits inside the writer's critical section, a reader that
//! took `(c, version c)` finds `cookie == c` until the next write publishes (its lock
//! acquisition happens after that store). The
//! cookie a version carries is the list's cookie while that version is current: a
//! version becomes current at its cookie store and stops being current at the next
//! one (the *linearization point* of a write is its cookie store). Then:
//!
//! - **`Resync` iff the cookie moved.** `next` returns `Err(Resync)` exactly when the
//!   cookie it loads differs from the iterator's, and the iterator's is the cookie of
//!   the version it walks. It loads with `Acquire`, pairing with the writer's
//!   `Release`: whatever the writer did before the change that caused a `Resync`
//!   (inside the list or not) is visible to the reader that reports it, as it would be
//!   to GStreamer code that reads the cookie under the object lock. Memory safety does
//!   not rest on this ordering: the items come from the iterator's own version.
//! - **Every item a pass yields was a member during the pass**: `Ok(Some(item))` is
//!   returned only when the cookie loaded in that same call is the iterator's, i.e.
//!   while the iterator's version was the current one.
//! - **A pass that ends `Ok(None)` without `Resync` saw exactly one version**: all its
//!   items come from the iterator's version `c`, and every step, the last included,
//!   loaded cookie `c`; the cookie only grows and one atomic has one modification
//!   order, so no change was published between the pass's start and its end.
//!
//! `cookie()` loads with `Acquire` for the same reason as `next`: a caller that sees a
//! cookie sees the change that set it, and a `snapshot()` taken afterwards has that
//! cookie or a newer one.
//!
//! The loom models (`loom-tests/tests/loom_cookie_list.rs`) check these claims and
//! fail when the code is broken on purpose: `next`'s load or the writer's store
//! weakened to `Relaxed` (`resync_happens_after_the_change`), `next` not checking the
//! cookie or reaching `Ok(None)` before checking it, a change that does not bump the
//! cookie, `load` taking the version and the cookie in two critical sections (an
//! iterator can then walk an old version under the new cookie), `remove_where`
//! applying its answer to a version that changed, `remove_where` or `retain` using
//! answers about chunks that are gone, a replaced version leaked. (`next` stepping past an item before it
//! compares the cookie is caught by the std tests, which watch the position.)
//!
//! # Progress
//!
//! A pass is the walk from `iter()` (or the `Ok(None)` that ended the previous pass)
//! to its `Ok(None)`, its resyncs included. Under "`Resync` iff the cookie moved" alone,
//! a pass that takes longer than the writers' period never finishes. So:
//!
//! - **A pass resyncs at most [`STARVING_AFTER`](CookieList::STARVING_AFTER) = 2
//!   times.** At its second resync it *registers as starving* on the list's gate, and
//!   the attempt that follows sees no change: the writers that arrive while it is
//!   registered wait before they publish, until it ends (`Ok(None)`, or the iterator
//!   is dropped, a panic's unwinding included). The contract above is unchanged: the
//!   pass simply sees no `Resync` because nothing was published.
//! - **A writer waits only for the passes registered before it arrived.** The gate
//!   is a queue of phases, alternately of starving passes and of waiting writers; a
//!   pass joins the last phase if it is one of passes, else starts one, and a writer
//!   likewise. The front phase runs: its passes walk, or its writers publish. So a
//!   writer waits at most for the phases ahead of it (passes that were registered,
//!   writers that were waiting, when it arrived), never for a pass that registered
//!   after it; and a starving pass that finds writers waiting waits (in `resync`)
//!   for them to publish first, then walks protected. A write that no pass is
//!   registered for pays one check under the lock it takes anyway.
//! - **A stalled pass holds writers back for at most a bound.** The passes of a
//!   phase count their steps (`next`, `resync`) on a counter alone in its cache line
//!   (`CachePadded`). A writer waits (crossbeam's `Backoff`: spin, then yield; with
//!   no lock held) while the phase before it steps; when none of its passes has
//!   stepped for [`STALL_LIMIT`](CookieList::STALL_LIMIT) (1 ms, or
//!   [`with_stall_limit`](CookieList::with_stall_limit)), it evicts the phase and
//!   publishes. An evicted pass sees that write as a `Resync` and registers again at
//!   its resync. A pass the OS deschedules for longer than the limit is stalled too:
//!   the bound of 2 resyncs holds for passes that step at least once per limit.
//! - **Writes that must not wait** use the `try_` forms (`try_push`, `try_insert`,
//!   `try_remove_where`, `try_retain`, `try_clear`), which return [`WouldWait`]
//!   and change nothing where they would wait. The trade-off of the others: a write
//!   can wait for one pass of every pass registered before it (or the stall limit).
//! - **A write made on the thread of a starving pass** (from its loop body) would
//!   wait for that pass, which cannot step until the write returns: the pass gives
//!   its protection up instead (it sees that write as a `Resync`, as it would
//!   anyway) and registers again at its next resync. ("Its thread" is the thread
//!   that registered it: an iterator moved to another thread mid-pass keeps that
//!   mark until its next registration.) The same holds for a pass body
//!   that waits for another thread's write to the same list: that write waits for the
//!   pass until the stall limit, then goes ahead.
//!
//! `fold`, `foreach`, `find` and `filter` go through the same `next` and `resync` (the
//! `fold` and `foreach` of [`CookieIter`] walk each chunk with the position in a
//! local, and count the same steps), so they get the same bound. Iterating `&list`
//! reads one snapshot and never resyncs.
//!
//! The loom models check that a pass against a writer that makes more changes than
//! the bound finishes within it and the writer finishes too, that a stalled starving
//! pass lets the writer finish, and that a stepping one is not evicted; they fail
//! when a writer ignores the gate, a pass's registration is never cleared, a
//! stalled pass is never evicted, or a starving pass's step does not compare the
//! cookie. The std tests add two readers against two unpaced
//! writers (no pass abandoned, every writer finishes), the `try_` forms, a pass
//! dropped or unwound mid-pass, a stalled pass, a pass that steps slower than the
//! limit overall but often enough (it fails if steps are not counted), and a pass
//! that registers behind a waiting writer (it walks the writer's change; it fails if
//! a pass joins the passes ahead of the writer).

use core::cell::Cell;
use core::convert::Infallible;
use core::fmt;
use core::iter::FusedIterator;
use core::mem;
use core::ops::{ControlFlow, Range};
use core::ptr::NonNull;
use core::time::Duration;
use std::collections::VecDeque;

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::thread::current_thread_token;
use crate::sync::{arc_slice, Arc, Backoff, CachePadded, Mutex, MutexGuard, StallClock};

/// The fewest items a chunk may be allowed to hold before it counts as full.
const MIN_CHUNK_CAP: usize = 32;

/// How many items a chunk of a list of `len` items may hold: `max(32, √len)`, so that a
/// write clones `O(√len)` items and `O(√len)` chunk pointers.
#[inline]
fn chunk_cap(len: usize) -> usize {
    len.isqrt().max(MIN_CHUNK_CAP)
}

/// A chunk smaller than this is merged with a neighbour when one is small enough.
#[inline]
fn chunk_low(len: usize) -> usize {
    chunk_cap(len) / 4
}

/// One chunk of a version: where it starts in the list, and its items (never empty).
struct Chunk<T> {
    start: usize,
    items: Arc<[T]>,
}

impl<T> Clone for Chunk<T> {
    fn clone(&self) -> Self {
        Self {
            start: self.start,
            items: Arc::clone(&self.items),
        }
    }
}

/// An immutable version of the items: none (no allocation), one chunk (the chunk's
/// own allocation), or more (one more allocation for the chunk pointers). Cloning one
/// is at most one reference-count increment.
enum Version<T> {
    Empty,
    One(Chunk<T>),
    Many(Arc<Chunks<T>>),
}

/// The chunks of a version of two chunks or more.
struct Chunks<T> {
    len: usize,
    chunks: Vec<Chunk<T>>,
}

impl<T> Clone for Version<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Empty => Self::Empty,
            Self::One(chunk) => Self::One(chunk.clone()),
            Self::Many(chunks) => Self::Many(Arc::clone(chunks)),
        }
    }
}

impl<T> Version<T> {
    /// The chunks, in order (none empty).
    #[inline]
    fn chunks(&self) -> &[Chunk<T>] {
        match self {
            Self::Empty => &[],
            Self::One(chunk) => core::slice::from_ref(chunk),
            Self::Many(chunks) => &chunks.chunks,
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::One(chunk) => chunk.items.len(),
            Self::Many(chunks) => chunks.len,
        }
    }

    /// A version made of `chunks` (none empty).
    fn from_chunks(chunks: impl IntoIterator<Item = Arc<[T]>>) -> Self {
        let mut chunks = chunks.into_iter();
        let Some(first) = chunks.next() else {
            return Self::Empty;
        };
        debug_assert!(!first.is_empty(), "a chunk is never empty");
        let first = Chunk {
            start: 0,
            items: first,
        };
        let Some(second) = chunks.next() else {
            return Self::One(first);
        };
        let mut out = Vec::with_capacity(2 + chunks.size_hint().0);
        let mut start = first.items.len();
        out.push(first);
        for items in core::iter::once(second).chain(chunks) {
            debug_assert!(!items.is_empty(), "a chunk is never empty");
            let len = items.len();
            out.push(Chunk { start, items });
            start += len;
        }
        Self::Many(Arc::new(Chunks {
            len: start,
            chunks: out,
        }))
    }

    /// The next version: this one with the chunks in `range` replaced by `with`.
    fn splice(&self, range: Range<usize>, with: impl IntoIterator<Item = Arc<[T]>>) -> Self {
        let (head, rest) = self.chunks().split_at(range.start);
        let tail = &rest[range.len()..];
        let shared = |chunk: &Chunk<T>| Arc::clone(&chunk.items);
        Self::from_chunks(
            head.iter()
                .map(shared)
                .chain(with)
                .chain(tail.iter().map(shared)),
        )
    }

    /// The chunk index and offset of item `index` (`index < len`).
    fn locate(&self, index: usize) -> (usize, usize) {
        debug_assert!(index < self.len());
        let chunks = self.chunks();
        let chunk = chunks.partition_point(|c| c.start <= index) - 1;
        (chunk, index - chunks[chunk].start)
    }

    /// The chunk index and offset of the first item for which `pred` returns `true`.
    fn find(&self, mut pred: impl FnMut(&T) -> bool) -> Option<(usize, usize)> {
        self.chunks()
            .iter()
            .enumerate()
            .find_map(|(c, chunk)| Some((c, chunk.items.iter().position(&mut pred)?)))
    }

    fn get(&self, index: usize) -> Option<&T> {
        (index < self.len()).then(|| {
            let (chunk, offset) = self.locate(index);
            &self.chunks()[chunk].items[offset]
        })
    }
}

impl<T: Clone> Version<T> {
    /// The next version, with `value` appended.
    fn pushed(&self, value: T) -> Self {
        let chunks = self.chunks();
        let n = chunks.len();
        match chunks.last() {
            // Built straight into the chunk's one allocation (no `Vec` first).
            Some(last) if last.items.len() < chunk_cap(self.len() + 1) => {
                let items = last.items.iter().cloned().chain(core::iter::once(value));
                self.splice(n - 1..n, [arc_slice(items)])
            }
            _ => self.splice(n..n, [arc_slice(core::iter::once(value))]),
        }
    }

    /// The next version, with `value` at `index` (`index < len`).
    fn inserted(&self, index: usize, value: T) -> Self {
        let (c, offset) = self.locate(index);
        let old = &self.chunks()[c].items;
        let mut items = Vec::with_capacity(old.len() + 1);
        items.extend_from_slice(&old[..offset]);
        items.push(value);
        items.extend_from_slice(&old[offset..]);
        if items.len() > chunk_cap(self.len() + 1) {
            let right = items.split_off(items.len() / 2);
            self.splice(c..c + 1, [arc_slice(items), arc_slice(right)])
        } else {
            self.splice(c..c + 1, [arc_slice(items)])
        }
    }

    /// The next version, without the item at `offset` of chunk `c`; a chunk left small
    /// is merged with a neighbour when the two fit in one.
    fn removed(&self, c: usize, offset: usize) -> Self {
        let chunks = self.chunks();
        let old = &chunks[c].items;
        if old.len() == 1 {
            return self.splice(c..c + 1, None);
        }
        let len = self.len();
        let cap = chunk_cap(len - 1);
        let left = old.len() - 1;
        let fits = |i: usize| chunks[i].items.len() + left <= cap;
        let (range, before, after) = if left >= chunk_low(len - 1) {
            (c..c + 1, None, None)
        } else if c + 1 < chunks.len() && fits(c + 1) {
            (c..c + 2, None, Some(&chunks[c + 1].items))
        } else if c > 0 && fits(c - 1) {
            (c - 1..c + 1, Some(&chunks[c - 1].items), None)
        } else {
            (c..c + 1, None, None)
        };
        let extra = before.map_or(0, |b| b.len()) + after.map_or(0, |a| a.len());
        let mut items = Vec::with_capacity(left + extra);
        if let Some(before) = before {
            items.extend_from_slice(before);
        }
        items.extend_from_slice(&old[..offset]);
        items.extend_from_slice(&old[offset + 1..]);
        if let Some(after) = after {
            items.extend_from_slice(after);
        }
        self.splice(range, [arc_slice(items)])
    }
}

/// A version and the cookie it was published at: what readers clone and writers
/// replace, as one pair.
struct Current<T> {
    cookie: u64,
    version: Version<T>,
}

impl<T> Clone for Current<T> {
    fn clone(&self) -> Self {
        Self {
            cookie: self.cookie,
            version: self.version.clone(),
        }
    }
}

impl<T> Current<T> {
    fn next_cookie(&self) -> u64 {
        // 64 bits: at a billion changes a second, wrapping takes 584 years.
        self.cookie + 1
    }
}

/// What the list's lock guards: the current version with its cookie, and the gate
/// of starving passes, allocated the first time it is needed (a list that never
/// has a starving pass, or a set stall limit, pays one pointer for it). Derefs to
/// the version and cookie.
struct Locked<T> {
    current: Current<T>,
    gate: Option<Box<Gate>>,
}

impl<T> Locked<T> {
    /// The passes registered on the gate ([`Gate::passes`]).
    #[inline]
    fn passes(&self) -> usize {
        self.gate.as_ref().map_or(0, |gate| gate.passes)
    }

    /// The gate, allocated if need be.
    fn gate_mut(&mut self) -> &mut Gate {
        self.gate.get_or_insert_with(|| Box::new(Gate::new()))
    }
}

impl<T> core::ops::Deref for Locked<T> {
    type Target = Current<T>;

    fn deref(&self) -> &Current<T> {
        &self.current
    }
}

impl<T> core::ops::DerefMut for Locked<T> {
    fn deref_mut(&mut self) -> &mut Current<T> {
        &mut self.current
    }
}

/// The counter a reader phase's passes bump on every step, alone in its cache line:
/// the writers waiting behind the phase watch it move (module docs, "Progress").
type Progress = Arc<CachePadded<AtomicU64>>;

/// Counts one step of a protected pass.
#[inline(always)]
fn step(progress: &AtomicU64) {
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
struct Gate {
    /// The number of the front phase: phases are numbered from 0 in the order they
    /// start. Mirrored in [`CookieList::front`] for the waiters.
    first: u64,
    phases: VecDeque<Phase>,
    /// The passes in all phases together: a writer publishes without waiting iff
    /// this is 0 (the write path's one extra check).
    passes: usize,
    /// The ticket of the next pass that registers.
    next_ticket: u64,
    /// How long writers wait for a phase of passes that makes no step.
    stall_limit: Duration,
}

enum Phase {
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
struct Registration {
    phase: u64,
    ticket: u64,
    progress: Progress,
}

impl Gate {
    const fn new() -> Self {
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
struct Writer<'a, T> {
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
    /// Releases the lock but keeps this write's place in the gate (a `remove_where` or
    /// `retain` asking its predicate again).
    fn unlock(mut self) -> Turn<'a, T> {
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
struct Turn<'a, T> {
    list: &'a CookieList<T>,
    turn: Option<u64>,
}

impl<'a, T> Turn<'a, T> {
    /// Takes the lock again; a write that has no place yet goes through the gate.
    fn lock(mut self, wait: bool) -> Result<Writer<'a, T>, WouldWait> {
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

/// What a write replaced: dropped by the writer only after it released the lock, so
/// that no item's `Drop` runs under the list's lock.
#[must_use = "drop it after releasing the lock"]
struct Retired<T> {
    _replaced: Current<T>,
}

/// Answers a predicate gave about whole chunks, keyed by chunk identity.
///
/// A chunk is immutable and the versions it was seen in are held here, so a chunk
/// address in `answers` cannot be freed and reused for other items while the memo
/// lives: equal address, same items, same answers. The addresses are only compared.
struct Memo<T, R> {
    held: Vec<Version<T>>,
    answers: Vec<(*const (), R)>,
    /// Where to look first: lookups mostly come in chunk order.
    cursor: Cell<usize>,
}

impl<T, R> Memo<T, R> {
    fn new() -> Self {
        Self {
            held: Vec::new(),
            answers: Vec::new(),
            cursor: Cell::new(0),
        }
    }

    fn key(items: &Arc<[T]>) -> *const () {
        Arc::as_ptr(items).cast()
    }

    fn get(&self, items: &Arc<[T]>) -> Option<&R> {
        let key = Self::key(items);
        let n = self.answers.len();
        let found = (0..n)
            .map(|i| (self.cursor.get() + i) % n)
            .find(|&i| self.answers[i].0 == key)?;
        self.cursor.set(found + 1);
        Some(&self.answers[found].1)
    }

    fn insert(&mut self, items: &Arc<[T]>, answer: R) {
        self.answers.push((Self::key(items), answer));
    }
}

/// A list shared between threads, versioned by a cookie: GStreamer's children list
/// (`GST_BIN_CHILDREN` with `children_cookie`, a pad list with `pads_cookie`) and its
/// `GstIterator`.
///
/// Every change bumps a 64-bit cookie. [`iter`](Self::iter) gives a [`CookieIter`]
/// whose [`next`](ResyncIterator::next) hands out items (clones: new references when
/// `T` is an `Arc` or a refcounted handle) that the caller uses with no lock held, and
/// reports [`Resync`] when the list changed since the iterator was made or last
/// resynced; the caller rolls back and calls [`resync`](ResyncIterator::resync), as
/// with `GST_ITERATOR_RESYNC`.
///
/// ```
/// use mtsafe::{CookieList, Resync, ResyncIterator};
///
/// let pads = CookieList::new();
/// pads.push("sink".to_string());
/// pads.push("src_0".to_string());
///
/// // The GstIterator loop: collect, and start over when the list changed.
/// let mut it = pads.iter();
/// let mut names = Vec::new();
/// let mut added = false;
/// loop {
///     match it.next() {
///         Ok(Some(name)) => {
///             if !added {
///                 pads.push("src_1".to_string()); // another thread, in real code
///                 added = true;
///             }
///             names.push(name);
///         }
///         Ok(None) => break,
///         Err(Resync) => {
///             names.clear(); // roll back what this pass did
///             it.resync();
///         }
///     }
/// }
/// assert_eq!(names, ["sink", "src_0", "src_1"]);
/// ```
///
/// An iterator walks an immutable version of the list that it owns, and writes
/// publish a new version (copy-on-write, sharing every chunk of items they do not
/// touch). A step takes no lock, it is an atomic load and a clone; starting or
/// resyncing a pass takes the list's lock once, to clone one pointer. And a busy
/// writer cannot starve a reader the way it starves `GstIterator`: a pass that
/// resynced [`STARVING_AFTER`](Self::STARVING_AFTER) (2) times registers as
/// starving, and writers that arrive after it wait, bounded, until it ends (module
/// docs, "Progress"). A caller that does not need `Resync` iterates `&list`, which
/// yields the items of one consistent [`snapshot`](Self::snapshot).
///
/// # What misuse gets
///
/// In C, using an item after the list changed, or walking a list that was freed, reads
/// freed memory. Here an item is an owned clone, so it stays valid whatever happens to
/// the list, and an iterator borrows its list, so the list cannot go first:
///
/// ```compile_fail
/// use mtsafe::CookieList;
///
/// let it = {
///     let list = CookieList::<u32>::new();
///     list.iter() // error: `list` does not live long enough
/// };
/// ```
///
/// Ignoring `Resync` is a compile warning (`next` returns a `Result`); a predicate or
/// fold body that locks or changes the same list runs with no lock held, so it cannot
/// deadlock (a `remove_where` or `retain` predicate that changes the list on *every*
/// call makes them retry for ever, though, as each change invalidates its answers).
/// The one piece of item code that runs under the list's lock is `T::clone`, when a
/// write copies the items of the chunk it changes: a `Clone` impl must not use the
/// list its item is in (a reference-count increment never does).
///
/// # Thread safety
///
/// `CookieList<T>` is `Send` and `Sync` when `T` is: items are cloned on one thread
/// and dropped on another.
///
/// ```
/// fn assert_send_sync<X: Send + Sync>() {}
/// assert_send_sync::<mtsafe::CookieList<mtsafe::CowShared<String>>>();
/// ```
///
/// ```compile_fail
/// fn assert_sync<X: Sync>() {}
/// assert_sync::<mtsafe::CookieList<std::rc::Rc<String>>>();
/// ```
#[doc(alias = "GList")]
pub struct CookieList<T> {
    /// The cookie of the current version.
    cookie: AtomicU64,
    /// The number of the gate's front phase ([`Gate::first`]), for the waiters to
    /// watch without the lock.
    front: AtomicU64,
    /// The current version and its cookie, and the gate. Writers build and publish
    /// under this lock; readers take it to clone the pair.
    current: Mutex<Locked<T>>,
}

impl<T> CookieList<T> {
    /// How many resyncs make a pass *starving*: at its second resync a pass
    /// registers on the list, and writers that arrive after it wait (bounded) until
    /// it ends before they publish. So a pass resyncs at most twice, whatever the
    /// writers do, unless it stops stepping for [`STALL_LIMIT`](Self::STALL_LIMIT)
    /// (module docs, "Progress").
    pub const STARVING_AFTER: u32 = 2;

    /// How long a writer waits for starving passes that make no step, unless
    /// [`with_stall_limit`](Self::with_stall_limit) says otherwise: when none of the
    /// passes it waits for has called `next` (or `resync`) for this long, it
    /// publishes anyway, and those passes lose their protection (they resync, and
    /// register again). Under `--cfg loom` the limit is a number of the writer's
    /// looks instead of a duration.
    pub const STALL_LIMIT: Duration = Duration::from_millis(1);

    /// This list, with writers waiting up to `limit` for starving passes that make
    /// no step instead of [`STALL_LIMIT`](Self::STALL_LIMIT): longer for passes whose
    /// loop bodies take long between two steps, shorter for writers that must not
    /// wait long.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mtsafe::CookieList;
    ///
    /// let list = CookieList::<u32>::new().with_stall_limit(Duration::from_millis(20));
    /// assert_eq!(list.stall_limit(), Duration::from_millis(20));
    /// ```
    pub fn with_stall_limit(mut self, limit: Duration) -> Self {
        self.current.get_mut().gate_mut().stall_limit = limit;
        self
    }

    /// How long writers wait for starving passes that make no step.
    pub fn stall_limit(&self) -> Duration {
        let locked = self.current.lock();
        locked
            .gate
            .as_ref()
            .map_or(Self::STALL_LIMIT, |gate| gate.stall_limit)
    }

    /// An empty list at cookie 0. Allocates nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::with_version(Version::Empty)
    }

    fn with_version(version: Version<T>) -> Self {
        Self {
            cookie: AtomicU64::new(0),
            front: AtomicU64::new(0),
            current: Mutex::new(Locked {
                current: Current { cookie: 0, version },
                gate: None,
            }),
        }
    }

    /// How many passes are registered as starving right now (a snapshot): passes
    /// running protected, or waiting for the writers before them.
    pub fn starving_passes(&self) -> usize {
        self.current.lock().passes()
    }

    /// How many writers are waiting for starving passes right now (a snapshot).
    pub fn waiting_writers(&self) -> usize {
        let locked = self.current.lock();
        locked.gate.as_ref().map_or(0, |gate| {
            gate.phases
                .iter()
                .map(|phase| match phase {
                    Phase::Writers { count } => *count,
                    Phase::Passes { .. } => 0,
                })
                .sum()
        })
    }

    /// The number of items, at some moment during the call.
    pub fn len(&self) -> usize {
        self.current.lock().version.len()
    }

    /// Whether the list is empty, at some moment during the call.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cookie: 0 for a new list, one more after every change (`push`, `insert`,
    /// a `remove_where` that removed, a `retain` that removed, a `clear` of a non-empty
    /// list). 64 bits, so it does not wrap.
    pub fn cookie(&self) -> u64 {
        // Acquire: pairs with the writer's Release store; the caller sees the change
        // that set this cookie (module docs, "Orderings").
        self.cookie.load(Ordering::Acquire)
    }

    /// A consistent, immutable view of all items at one cookie, usable with no lock
    /// for as long as the caller keeps it; later changes do not show in it.
    ///
    /// ```
    /// use mtsafe::CookieList;
    ///
    /// let list: CookieList<u32> = (0..5).collect();
    /// let snap = list.snapshot();
    /// list.clear();
    /// assert_eq!(snap.len(), 5);
    /// assert_eq!(snap.iter().sum::<u32>(), 10);
    /// assert_eq!(snap.cookie() + 1, list.cookie());
    /// ```
    pub fn snapshot(&self) -> ListSnapshot<T> {
        ListSnapshot {
            current: self.load(),
        }
    }

    /// Removes every item (one change, unless the list was empty already). The items
    /// are dropped after the lock is released, by whoever holds the last reference.
    ///
    /// Waits, bounded, for the starving passes registered before it (module docs,
    /// "Progress"); [`try_clear`](Self::try_clear) never waits.
    pub fn clear(&self) {
        self.clear_or(true)
            .unwrap_or_else(|_| unreachable!("a waiting write is never refused"));
    }

    /// [`clear`](Self::clear), unless it would have to wait for a starving pass: then
    /// nothing changes.
    pub fn try_clear(&self) -> Result<(), WouldWait> {
        self.clear_or(false)
    }

    fn clear_or(&self, wait: bool) -> Result<(), WouldWait> {
        let retired = {
            let writer = self.writer();
            if writer.version.len() == 0 {
                return Ok(());
            }
            let mut writer = self.gate(writer, wait)?;
            if writer.version.len() == 0 {
                return Ok(());
            }
            self.publish(&mut writer, Version::Empty)
        };
        drop(retired);
        Ok(())
    }

    /// The items, through an exclusive borrow of the list: no lock, no reference
    /// count touched (an owner tearing the list down).
    pub(crate) fn iter_unlocked(&mut self) -> SnapshotIter<'_, T> {
        SnapshotIter::new(&self.current.get_mut().version)
    }

    /// The current version and its cookie (module docs, "Orderings"): one
    /// reference-count increment under the lock.
    #[inline]
    fn load(&self) -> Current<T> {
        // loom-mutant: cookie-list-load-takes-version-and-cookie-in-two-critical-sections
        self.current.lock().clone()
    }

    /// Makes `next` the current version at the next cookie (module docs,
    /// "Orderings": writer steps 1 and 2) and returns what it replaced, for the
    /// caller to drop after unlocking.
    fn publish(&self, writer: &mut Locked<T>, next: Version<T>) -> Retired<T> {
        // loom-mutant: cookie-list-removal-does-not-bump-cookie
        let cookie = writer.next_cookie();
        let old = mem::replace(
            &mut writer.current,
            Current {
                cookie,
                version: next,
            },
        );
        // Release: pairs with the Acquire loads of `cookie` and `CookieIter::next`;
        // everything this writer did before, the new version included, happens
        // before a reader acts on this cookie. Stored before the lock is released,
        // so a reader that clones this version finds this cookie.
        // loom-mutant: cookie-list-publish-stores-cookie-relaxed
        self.cookie.store(cookie, Ordering::Release);
        // loom-mutant: cookie-list-publish-leaks-replaced-version
        Retired { _replaced: old }
    }

    /// The list's lock, for a write that has not passed the gate yet.
    #[inline]
    fn writer(&self) -> Writer<'_, T> {
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
    fn gate<'a>(&'a self, writer: Writer<'a, T>, wait: bool) -> Result<Writer<'a, T>, WouldWait> {
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
    fn load_starving(&self, registration: &mut Option<Registration>) -> Current<T> {
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
    fn unregister(&self, pass: Registration) {
        let mut locked = self.current.lock();
        let gate = locked.gate_mut();
        // loom-mutant: cookie-list-starving-pass-mark-never-cleared
        gate.leave(pass.phase, |ticket, _| ticket == pass.ticket);
        self.sync_front(gate);
        drop(locked);
        drop(pass);
    }
}

impl<T: Clone> CookieList<T> {
    /// Appends `value` (`gst_bin_add` on the children list).
    ///
    /// Clones the items of the last chunk (at most `max(32, √len)`) and the chunk
    /// pointers; never all the items. Waits, bounded, for the starving passes
    /// registered before it (module docs, "Progress"); [`try_push`](Self::try_push)
    /// never waits.
    pub fn push(&self, value: T) {
        self.push_unless(value, |_, _| None::<Infallible>)
            .unwrap_or_else(|(never, _)| match never {});
    }

    /// [`push`](Self::push), unless it would have to wait for a starving pass: then
    /// nothing changes and `value` comes back.
    ///
    /// ```
    /// use mtsafe::CookieList;
    ///
    /// let list = CookieList::new();
    /// assert_eq!(list.try_push(1), Ok(())); // no pass is starving
    /// assert_eq!(list.snapshot().to_vec(), [1]);
    /// ```
    pub fn try_push(&self, value: T) -> Result<(), WouldWait<T>> {
        match self.gate(self.writer(), false) {
            Ok(mut writer) => {
                let next = writer.version.pushed(value);
                let retired = self.publish(&mut writer, next);
                drop(writer);
                drop(retired);
                Ok(())
            }
            Err(WouldWait(())) => Err(WouldWait(value)),
        }
    }

    /// Inserts `value` at `index`, shifting later items, as `Vec::insert` does.
    /// Waits as [`push`](Self::push) does; [`try_insert`](Self::try_insert) never
    /// waits.
    ///
    /// # Panics
    ///
    /// If `index > len()` at the moment of the write (the lock is released first).
    pub fn insert(&self, index: usize, value: T) {
        if let Err(WouldWait(_)) = self.insert_or(index, value, true) {
            unreachable!("a waiting write is never refused");
        }
    }

    /// [`insert`](Self::insert), unless it would have to wait for a starving pass:
    /// then nothing changes and `value` comes back.
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert).
    pub fn try_insert(&self, index: usize, value: T) -> Result<(), WouldWait<T>> {
        self.insert_or(index, value, false)
    }

    fn insert_or(&self, index: usize, value: T, wait: bool) -> Result<(), WouldWait<T>> {
        let retired = {
            let mut writer = match self.gate(self.writer(), wait) {
                Ok(writer) => writer,
                Err(WouldWait(())) => return Err(WouldWait(value)),
            };
            let len = writer.version.len();
            assert!(
                index <= len,
                "insertion index (is {index}) should be <= len (is {len})"
            );
            let next = if index == len {
                writer.version.pushed(value)
            } else {
                writer.version.inserted(index, value)
            };
            self.publish(&mut writer, next)
        };
        drop(retired);
        Ok(())
    }

    /// Appends `value` unless `refuse`, shown the value and the current items,
    /// returns an error: one write, with no change in between. For the crate's own
    /// checks only: `refuse` runs under the list's lock, so it must not use this list.
    /// On a refusal `value` comes back with the error, for the caller to drop after
    /// its own locks are released. Waits as [`push`](Self::push) does.
    pub(crate) fn push_unless<E>(
        &self,
        value: T,
        refuse: impl FnOnce(&T, SnapshotIter<'_, T>) -> Option<E>,
    ) -> Result<(), (E, T)> {
        let retired = {
            let mut writer = self.waiting_writer();
            if let Some(error) = refuse(&value, SnapshotIter::new(&writer.version)) {
                return Err((error, value));
            }
            let next = writer.version.pushed(value);
            self.publish(&mut writer, next)
        };
        drop(retired);
        Ok(())
    }

    /// The list's lock, past the gate (waiting if need be).
    fn waiting_writer(&self) -> Writer<'_, T> {
        self.gate(self.writer(), true)
            .unwrap_or_else(|_| unreachable!("a waiting write is never refused"))
    }

    /// Removes the first item for which `pred` returns `true`, and returns it, in
    /// one write. For the crate's own predicates only: `pred` runs under the list's
    /// lock, so it must not use this list. Waits as [`push`](Self::push) does.
    pub(crate) fn remove_first_locked(&self, mut pred: impl FnMut(&T) -> bool) -> Option<T> {
        let mut writer = self.waiting_writer();
        let (c, offset) = writer.version.find(&mut pred)?;
        let (item, retired) = self.remove_at(&mut writer, c, offset);
        drop(writer);
        drop(retired);
        Some(item)
    }

    /// Removes the first item for which `pred` returns `true`, and returns it
    /// (`gst_bin_remove` of a child found by a predicate).
    ///
    /// `pred` runs with no lock held, on the items of a snapshot; the removal is then
    /// applied under the lock to the current version, using only answers about
    /// chunks of items that are still in it (module docs). A concurrent write can make
    /// `pred` be asked about some items again, never make the wrong item go. The
    /// predicate may lock or change this list (a change made by the predicate itself
    /// counts as concurrent). Waits as [`push`](Self::push) does, once it found an
    /// item to remove; [`try_remove_where`](Self::try_remove_where) never waits.
    ///
    /// ```
    /// use mtsafe::CookieList;
    ///
    /// let list: CookieList<u32> = [1, 2, 3, 2].into_iter().collect();
    /// assert_eq!(list.remove_where(|&x| x == 2), Some(2));
    /// assert_eq!(list.snapshot().to_vec(), [1, 3, 2]);
    /// assert_eq!(list.remove_where(|&x| x == 9), None);
    /// assert_eq!(list.cookie(), 1); // only the change counted
    /// ```
    pub fn remove_where(&self, pred: impl FnMut(&T) -> bool) -> Option<T> {
        self.remove_where_or(pred, true)
            .unwrap_or_else(|_| unreachable!("a waiting write is never refused"))
    }

    /// [`remove_where`](Self::remove_where), unless it would have to wait for a
    /// starving pass: then nothing changes.
    pub fn try_remove_where(&self, pred: impl FnMut(&T) -> bool) -> Result<Option<T>, WouldWait> {
        self.remove_where_or(pred, false)
    }

    fn remove_where_or(
        &self,
        mut pred: impl FnMut(&T) -> bool,
        wait: bool,
    ) -> Result<Option<T>, WouldWait> {
        // The common case first: ask about the current version, in order, and apply
        // the answer if no write came in between.
        let current = self.load();
        // No match: none of the items of a version current during the call matches.
        let Some((c, offset)) = current.version.find(&mut pred) else {
            return Ok(None);
        };
        let mut writer = self.gate(self.writer(), wait)?;
        // loom-mutant: cookie-list-remove-where-applies-to-changed-version
        if writer.cookie == current.cookie {
            let (item, retired) = self.remove_at(&mut writer, c, offset);
            drop(writer);
            drop(retired);
            // The result is built last, after every version this call held is
            // dropped: a panic in an item's `Drop` then drops `item` too, where it
            // would leak from a return value already built.
            drop(current);
            return Ok(Some(item));
        }
        // A write came in between: keep what was learned, per chunk, and retry.
        let mut memo = Memo::new();
        let chunks = current.version.chunks();
        for chunk in &chunks[..c] {
            memo.insert(&chunk.items, None);
        }
        memo.insert(&chunks[c].items, Some(offset));
        memo.held.push(current.version);
        let version = writer.version.clone();
        let turn = writer.unlock();
        self.remove_where_retry(memo, version, pred, turn, wait)
    }

    /// Removes item `offset` of chunk `c` of the current version (locked in `writer`,
    /// which the caller releases, then drops what the write replaced) and returns it.
    #[inline]
    fn remove_at(&self, writer: &mut Locked<T>, c: usize, offset: usize) -> (T, Retired<T>) {
        let item = writer.version.chunks()[c].items[offset].clone();
        let next = writer.version.removed(c, offset);
        (item, self.publish(writer, next))
    }

    /// `remove_where` after a concurrent write: answers per chunk in `memo`, the
    /// current version in `version`, this write's place in the gate in `turn`.
    #[cold]
    fn remove_where_retry<'a>(
        &'a self,
        mut memo: Memo<T, Option<usize>>,
        mut version: Version<T>,
        mut pred: impl FnMut(&T) -> bool,
        mut turn: Turn<'a, T>,
        wait: bool,
    ) -> Result<Option<T>, WouldWait> {
        loop {
            // Ask the predicate, in order, until a match, about the chunks it has not
            // seen yet. No lock is held.
            for chunk in version.chunks() {
                match memo.get(&chunk.items) {
                    Some(Some(_)) => break,
                    Some(None) => continue,
                    None => {}
                }
                let found = chunk.items.iter().position(&mut pred);
                memo.insert(&chunk.items, found);
                if found.is_some() {
                    break;
                }
            }
            memo.held.push(version);

            // Apply to the current version: walk it in order; every chunk before the
            // match must be known not to match.
            let writer = turn.lock(wait)?;
            let mut unknown = false;
            let mut hit = None;
            for (c, chunk) in writer.version.chunks().iter().enumerate() {
                match memo.get(&chunk.items) {
                    Some(None) => {}
                    // loom-mutant: cookie-list-remove-where-skips-chunks-it-has-no-answer-for
                    Some(&Some(offset)) => {
                        hit = Some((c, offset));
                        break;
                    }
                    None => {
                        unknown = true;
                        break;
                    }
                }
            }
            if unknown {
                // A concurrent write replaced a chunk we need an answer about.
                version = writer.version.clone();
                turn = writer.unlock();
                continue;
            }
            let Some((c, offset)) = hit else {
                drop(writer);
                return Ok(None);
            };
            let mut writer = writer;
            let (item, retired) = self.remove_at(&mut writer, c, offset);
            drop(writer);
            drop(retired);
            // Built last (see `remove_where_or`).
            drop(memo);
            return Ok(Some(item));
        }
    }

    /// Keeps only the items for which `pred` returns `true` (one change, unless it
    /// kept them all). `O(len)`.
    ///
    /// `pred` runs with no lock held, on the items of a snapshot; the result is applied
    /// under the lock to the current version, as for
    /// [`remove_where`](Self::remove_where): an item that a concurrent write added is
    /// asked about before it is kept, and `pred` may see an item twice. Waits as
    /// [`push`](Self::push) does, once it has something to remove;
    /// [`try_retain`](Self::try_retain) never waits.
    ///
    /// ```
    /// use mtsafe::CookieList;
    ///
    /// let list: CookieList<u32> = (0..10).collect();
    /// list.retain(|x| x % 3 == 0);
    /// assert_eq!(list.snapshot().to_vec(), [0, 3, 6, 9]);
    /// ```
    pub fn retain(&self, pred: impl FnMut(&T) -> bool) {
        self.retain_or(pred, true)
            .unwrap_or_else(|_| unreachable!("a waiting write is never refused"));
    }

    /// [`retain`](Self::retain), unless it would have to wait for a starving pass:
    /// then nothing changes.
    pub fn try_retain(&self, pred: impl FnMut(&T) -> bool) -> Result<(), WouldWait> {
        self.retain_or(pred, false)
    }

    fn retain_or(&self, mut pred: impl FnMut(&T) -> bool, wait: bool) -> Result<(), WouldWait> {
        // Per chunk: `None` if it keeps all its items, else what it keeps (maybe
        // nothing), cloned here with no lock held.
        let mut memo = Memo::<T, Option<Vec<T>>>::new();
        let mut version = self.load().version;
        let mut turn = Turn {
            list: self,
            turn: None,
        };
        loop {
            let mut changes = false;
            for chunk in version.chunks() {
                if let Some(kept) = memo.get(&chunk.items) {
                    changes |= kept.is_some();
                    continue;
                }
                let items = &chunk.items;
                let kept = match items.iter().position(|x| !pred(x)) {
                    None => None,
                    Some(first_out) => {
                        let mut kept = items[..first_out].to_vec();
                        kept.extend(items[first_out + 1..].iter().filter(|x| pred(x)).cloned());
                        Some(kept)
                    }
                };
                changes |= kept.is_some();
                memo.insert(items, kept);
            }
            memo.held.push(version);

            // Nothing to remove from a version current during the call: no change,
            // and no wait.
            let mut writer = if changes {
                turn.lock(wait)?
            } else {
                drop(turn);
                self.writer()
            };
            let mut chunks = Vec::with_capacity(writer.version.chunks().len());
            let mut changed = false;
            let mut unknown = false;
            for chunk in writer.version.chunks() {
                match memo.get(&chunk.items) {
                    // loom-mutant: cookie-list-retain-keeps-chunks-it-has-no-answer-for
                    None => {
                        unknown = true;
                        break;
                    }
                    Some(None) => chunks.push(Kept::Shared(Arc::clone(&chunk.items))),
                    Some(Some(kept)) => {
                        changed = true;
                        if !kept.is_empty() {
                            chunks.push(Kept::Rebuilt(kept));
                        }
                    }
                }
            }
            if unknown {
                drop(chunks);
                version = writer.version.clone();
                turn = writer.unlock();
                continue;
            }
            if !changed {
                drop(chunks);
                drop(writer);
                return Ok(());
            }
            if writer.turn.is_none() && writer.passes() != 0 {
                // A version with changes that passed no gate yet (the answers came
                // from a version with none): through the gate, then look again.
                drop(chunks);
                version = writer.version.clone();
                turn = self.gate(writer, wait)?.unlock();
                continue;
            }
            let len = chunks.iter().map(|k| k.items().len()).sum();
            let next = Version::from_chunks(repack(chunks, len));
            let retired = self.publish(&mut writer, next);
            drop(writer);
            drop(retired);
            return Ok(());
        }
    }

    /// An iterator over the items with GStreamer's resync contract
    /// (`gst_bin_iterate_elements`, `gst_element_iterate_pads`); see [`CookieIter`].
    pub fn iter(&self) -> CookieIter<'_, T> {
        let current = self.load();
        CookieIter {
            list: self,
            cookie: current.cookie,
            check: current.cookie,
            cursor: Cursor::new(current.version),
            resyncs: 0,
            registration: None,
        }
    }
}

/// A chunk as `retain` keeps it: the same `Arc`, or the items it kept of one.
enum Kept<'a, T> {
    Shared(Arc<[T]>),
    Rebuilt(&'a [T]),
}

impl<T> Kept<'_, T> {
    fn items(&self) -> &[T] {
        match self {
            Self::Shared(items) => items,
            Self::Rebuilt(items) => items,
        }
    }
}

/// The chunks of a list of `len` items from what `retain` kept: untouched chunks that
/// are not small stay shared; rebuilt and small ones are packed together, up to the
/// chunk cap, between them.
fn repack<T: Clone>(kept: Vec<Kept<'_, T>>, len: usize) -> Vec<Arc<[T]>> {
    let cap = chunk_cap(len);
    let low = chunk_low(len);
    let mut out = Vec::with_capacity(kept.len());
    let mut pending: Vec<T> = Vec::new();
    for chunk in kept {
        match chunk {
            Kept::Shared(items) if items.len() >= low => {
                if !pending.is_empty() {
                    out.push(arc_slice(mem::take(&mut pending)));
                }
                out.push(items);
            }
            other => {
                let items = other.items();
                if !pending.is_empty() && pending.len() + items.len() > cap {
                    out.push(arc_slice(mem::take(&mut pending)));
                }
                pending.extend_from_slice(items);
            }
        }
    }
    if !pending.is_empty() {
        out.push(arc_slice(pending));
    }
    out
}

impl<T> Default for CookieList<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> FromIterator<T> for CookieList<T> {
    /// A list of the items, at cookie 0.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let items: Vec<T> = iter.into_iter().collect();
        let cap = chunk_cap(items.len());
        let mut chunks = Vec::with_capacity(items.len().div_ceil(cap));
        let mut items = items.into_iter();
        loop {
            let chunk: Vec<T> = items.by_ref().take(cap).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push(arc_slice(chunk));
        }
        Self::with_version(Version::from_chunks(chunks))
    }
}

impl<T: fmt::Debug> fmt::Debug for CookieList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_struct("CookieList")
            .field("cookie", &snapshot.cookie())
            .field("items", &snapshot)
            .finish()
    }
}

impl<T: Clone> IntoIterator for &CookieList<T> {
    type Item = T;
    type IntoIter = SnapshotIntoIter<T>;

    /// The items of one [`snapshot`](CookieList::snapshot), for callers that do not
    /// need `Resync`: later changes do not show.
    fn into_iter(self) -> SnapshotIntoIter<T> {
        self.snapshot().into_iter()
    }
}

/// The list changed since the iterator was made or last resynced:
/// `GST_ITERATOR_RESYNC`.
///
/// The caller rolls back what it did with this pass's items, if anything, and calls
/// [`ResyncIterator::resync`] to start again from the head of the current list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resync;

impl fmt::Display for Resync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the list changed since the iterator was made or last resynced")
    }
}

impl std::error::Error for Resync {}

/// GStreamer's `GstIterator` contract: `next` reports `Resync` when the underlying
/// list changed, and `resync` starts over.
///
/// | GStreamer                      | here                                              |
/// |--------------------------------|---------------------------------------------------|
/// | `gst_iterator_next` → `OK`     | `next()` → `Ok(Some(item))`                       |
/// | `gst_iterator_next` → `DONE`   | `next()` → `Ok(None)` (not sticky)                |
/// | `gst_iterator_next` → `RESYNC` | `next()` → `Err(Resync)`, the iterator unchanged  |
/// | `gst_iterator_resync`          | [`resync`](Self::resync)                          |
/// | `gst_iterator_fold`            | [`fold`](Self::fold) (reports `Resync`)           |
/// | `gst_iterator_foreach`         | [`foreach`](Self::foreach) (reports `Resync`)     |
/// | `gst_iterator_find_custom`     | [`find`](Self::find) (resyncs by itself)          |
/// | `gst_iterator_filter`          | [`filter`](Self::filter)                          |
///
/// Callbacks and predicates run with no lock held: they may use, lock or change the
/// list (a change shows as `Resync` at the next step).
///
/// `next` returns a `Result`, not an `Option`, so this is not `Iterator`; iterate
/// `&list` or a [`ListSnapshot`] for that.
pub trait ResyncIterator {
    /// What the iterator hands out.
    type Item;

    /// The next item, `Ok(None)` at the end, or `Err(Resync)` when the list changed
    /// since the iterator was made or last resynced (checked before the position is
    /// touched; the iterator is unchanged). The end is not sticky: after `Ok(None)`, a
    /// change turns the next call into `Err(Resync)`.
    #[doc(alias = "gst_iterator_next")]
    fn next(&mut self) -> Result<Option<Self::Item>, Resync>;

    /// Starts again from the head of the current list, at the current cookie.
    #[doc(alias = "gst_iterator_resync")]
    fn resync(&mut self);

    /// Folds the remaining items into `init` with `f`, which continues
    /// (`ControlFlow::Continue`) or stops early (`ControlFlow::Break`, returned as
    /// `Ok`). On `Resync` the accumulator is dropped and `Err(Resync)` returned: the
    /// caller rolls back and decides whether to resync and fold again.
    ///
    /// ```
    /// use core::ops::ControlFlow;
    /// use mtsafe::{CookieList, ResyncIterator};
    ///
    /// let list: CookieList<u32> = (0..10).collect();
    /// let sum = list.iter().fold(0, |acc, x| ControlFlow::Continue(acc + x));
    /// assert_eq!(sum, Ok(45));
    /// let first_big = list.iter().fold(0, |_, x| {
    ///     if x > 6 { ControlFlow::Break(x) } else { ControlFlow::Continue(0) }
    /// });
    /// assert_eq!(first_big, Ok(7));
    /// ```
    #[doc(alias = "gst_iterator_fold")]
    fn fold<B, F>(&mut self, init: B, mut f: F) -> Result<B, Resync>
    where
        F: FnMut(B, Self::Item) -> ControlFlow<B, B>,
    {
        let mut acc = init;
        while let Some(item) = self.next()? {
            match f(acc, item) {
                ControlFlow::Continue(next) => acc = next,
                ControlFlow::Break(done) => return Ok(done),
            }
        }
        Ok(acc)
    }

    /// Calls `f` on each remaining item; `Err(Resync)` when the list changed on the
    /// way (the items already seen were seen: the caller rolls back).
    #[doc(alias = "gst_iterator_foreach")]
    fn foreach<F>(&mut self, mut f: F) -> Result<(), Resync>
    where
        F: FnMut(Self::Item),
    {
        while let Some(item) = self.next()? {
            f(item);
        }
        Ok(())
    }

    /// The first remaining item for which `pred` returns `true`. On `Resync` it
    /// resyncs and searches again from the head, so `pred` may see an item twice.
    ///
    /// Under a writer that changes the list faster than a search completes, this
    /// searches until one does: the answer is always about one version of the list.
    #[doc(alias = "gst_iterator_find_custom")]
    fn find<P>(&mut self, mut pred: P) -> Option<Self::Item>
    where
        P: FnMut(&Self::Item) -> bool,
    {
        loop {
            match self.next() {
                Ok(Some(item)) if pred(&item) => return Some(item),
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(Resync) => self.resync(),
            }
        }
    }

    /// An iterator over the items for which `pred` returns `true`, with the same
    /// `next` / `resync` contract (`gst_iterator_filter`). Filters stack.
    ///
    /// ```
    /// use mtsafe::{CookieList, ResyncIterator};
    ///
    /// let list: CookieList<u32> = (0..10).collect();
    /// let mut it = list.iter().filter(|x| x % 2 == 0).filter(|x| *x > 4);
    /// assert_eq!(it.next(), Ok(Some(6)));
    /// list.push(10);
    /// assert_eq!(it.next(), Err(mtsafe::Resync));
    /// it.resync();
    /// assert_eq!(it.find(|x| *x > 8), Some(10));
    /// ```
    #[doc(alias = "gst_iterator_filter")]
    fn filter<P>(self, pred: P) -> ResyncFilter<Self, P>
    where
        Self: Sized,
        P: FnMut(&Self::Item) -> bool,
    {
        ResyncFilter { inner: self, pred }
    }

    /// A std [`Iterator`] over the pass, for `for` loops and iterator adapters:
    /// `Ok(item)` for each item, and `Err(Resync)` when the list changed under the
    /// pass, after which it resyncs by itself and goes on from the head of the list
    /// as it is now (so the caller rolls back what it did with the items before, as
    /// after [`resync`](Self::resync)). It ends when a pass completes. For a
    /// [`CookieIter`], the progress guarantee bounds the `Err`s of one pass (module
    /// docs).
    ///
    /// ```
    /// use mtsafe::{CookieList, Resync, ResyncIterator};
    ///
    /// let list: CookieList<u32> = (1..=3).collect();
    /// let mut sum = 0;
    /// for step in list.iter().results() {
    ///     match step {
    ///         Ok(x) => {
    ///             sum += x;
    ///             if x == 1 && list.len() == 3 {
    ///                 list.push(4); // a change mid-pass
    ///             }
    ///         }
    ///         Err(Resync) => sum = 0, // roll back; the pass starts over
    ///     }
    /// }
    /// assert_eq!(sum, 1 + 2 + 3 + 4);
    /// ```
    fn results(self) -> ResyncResults<Self>
    where
        Self: Sized,
    {
        ResyncResults {
            inner: self,
            done: false,
        }
    }
}

/// A [`ResyncIterator`] as a std [`Iterator`] of `Result<Item, Resync>`, made by
/// [`ResyncIterator::results`]: resyncs by itself after reporting a `Resync`, and
/// ends when a pass completes.
#[derive(Clone, Debug)]
#[must_use = "iterators are lazy and do nothing unless stepped"]
pub struct ResyncResults<I> {
    inner: I,
    done: bool,
}

impl<I: ResyncIterator> Iterator for ResyncResults<I> {
    type Item = Result<I::Item, Resync>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.inner.next() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(Resync) => {
                self.inner.resync();
                Some(Err(Resync))
            }
        }
    }
}

impl<I: ResyncIterator> FusedIterator for ResyncResults<I> {}

/// The resync iterator of a [`CookieList`], made by [`CookieList::iter`]: a
/// `GstIterator` over a children list (`gst_bin_iterate_elements`).
///
/// It owns the version of the list it walks (an immutable snapshot) and a position
/// in it, and borrows the list only to read its cookie. A step loads the cookie
/// (one atomic load, no lock) and, when it is the iterator's, clones the next item
/// out of the iterator's own version; otherwise it reports [`Resync`] and changes
/// nothing. See [`ResyncIterator`] for the methods.
///
/// ```
/// use mtsafe::{CookieList, Resync, ResyncIterator};
///
/// let list: CookieList<u32> = (0..3).collect();
/// let mut it = list.iter();
/// assert_eq!(it.next(), Ok(Some(0)));
/// list.push(3); // a change mid-pass
/// assert_eq!(it.next(), Err(Resync));
/// assert_eq!(it.next(), Err(Resync)); // until resynced
/// it.resync();
/// assert_eq!(it.cookie(), list.cookie());
/// let mut seen = Vec::new();
/// while let Some(x) = it.next().unwrap() {
///     seen.push(x);
/// }
/// assert_eq!(seen, [0, 1, 2, 3]); // the new item is seen
/// list.clear(); // Done is not sticky
/// assert_eq!(it.next(), Err(Resync));
/// ```
///
/// # Thread safety
///
/// `Send` (and `Sync`) when `T` is `Send + Sync`: it shares the list with the thread
/// it came from and clones items out of a version that other threads read too.
///
/// ```
/// fn assert_send<X: Send>() {}
/// assert_send::<mtsafe::CookieIter<'static, mtsafe::CowShared<String>>>();
/// ```
///
/// An `Rc` is not `Send`, so neither is an iterator of them:
///
/// ```compile_fail
/// fn assert_send<X: Send>() {}
/// assert_send::<mtsafe::CookieIter<'static, std::rc::Rc<String>>>();
/// ```
///
/// A `Cell` may move between threads but not be shared, and two threads' iterators
/// share the items:
///
/// ```compile_fail
/// fn assert_send<X: Send>() {}
/// assert_send::<mtsafe::CookieIter<'static, std::cell::Cell<u32>>>();
/// ```
#[must_use = "iterators are lazy and do nothing unless stepped"]
#[doc(alias = "GstIterator")]
pub struct CookieIter<'a, T> {
    list: &'a CookieList<T>,
    /// The cookie of the cursor's version.
    cookie: u64,
    /// What a step compares the list's cookie with, kept here so that a step reads
    /// it from the iterator: `cookie`, or, while the pass is starving, [`STARVING`],
    /// which the list's cookie never reaches, so that every step takes the starving
    /// path (which compares with `cookie` and counts the step) at no cost to the
    /// others.
    check: u64,
    cursor: Cursor<T>,
    /// How many times this pass resynced.
    resyncs: u32,
    /// This pass's place in the list's gate, once it is starving.
    registration: Option<Registration>,
}

impl<T> CookieIter<'_, T> {
    /// The cookie of the version this iterator walks: the list's cookie when it was
    /// made or last resynced.
    #[must_use]
    pub fn cookie(&self) -> u64 {
        self.cookie
    }
}

/// [`CookieIter::check`] of a starving pass: a cookie no list reaches (one change
/// a nanosecond would take 584 years).
const STARVING: u64 = u64::MAX;

impl<T> CookieIter<'_, T> {
    /// The pass is over (`Ok(None)`): it leaves the gate if it was starving, and the
    /// next resync starts a new pass.
    #[inline]
    fn end_pass(&mut self) {
        self.resyncs = 0;
        if let Some(pass) = self.registration.take() {
            self.check = self.cookie;
            self.list.unregister(pass);
        }
    }
}

impl<T: Clone> ResyncIterator for CookieIter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Result<Option<T>, Resync> {
        // Acquire: pairs with the writer's Release store; a reader that reports
        // Resync sees the change behind it. The cookie is compared before the
        // position is touched; on a mismatch nothing changes.
        // loom-mutant: cookie-list-next-loads-cookie-relaxed
        if self.list.cookie.load(Ordering::Acquire) != self.check {
            // A change, or a starving pass (`check` is `STARVING`), which compares
            // with the version's cookie and counts the step for the writers waiting
            // behind it, in line: no call here takes the iterator's address.
            let Some(pass) = &self.registration else {
                return Err(Resync);
            };
            // loom-mutant: cookie-list-starving-pass-step-never-checks-cookie
            // Acquire: as in the check above.
            if self.list.cookie.load(Ordering::Acquire) != self.cookie {
                return Err(Resync);
            }
            step(&pass.progress);
        }
        match self.cursor.next() {
            Some(item) => Ok(Some(item.clone())),
            None => {
                self.end_pass();
                Ok(None)
            }
        }
    }

    #[inline]
    fn resync(&mut self) {
        self.resyncs = self.resyncs.saturating_add(1);
        let current = if self.resyncs >= CookieList::<T>::STARVING_AFTER {
            self.list.load_starving(&mut self.registration)
        } else {
            self.list.load()
        };
        self.cookie = current.cookie;
        self.check = if self.registration.is_some() {
            STARVING
        } else {
            current.cookie
        };
        // The old version is dropped here, with no lock held.
        self.cursor = Cursor::new(current.version);
    }

    /// As the trait's `fold`, walking each chunk with the position in a local.
    fn fold<B, F>(&mut self, init: B, mut f: F) -> Result<B, Resync>
    where
        F: FnMut(B, T) -> ControlFlow<B, B>,
    {
        let cookie = &self.list.cookie;
        let mine = self.cookie;
        let progress = self.registration.as_ref().map(|pass| &*pass.progress);
        let mut acc = init;
        loop {
            // SAFETY: as in `Cursor::next`: `items` is the empty slice or the items
            // of a chunk of `self.cursor.version`, which the cursor keeps alive and
            // which nothing writes; this loop changes neither field (only `offset`),
            // and `f` cannot reach the iterator, which this call borrows mutably.
            let items = unsafe { self.cursor.items.as_ref() };
            let mut offset = self.cursor.offset;
            while let Some(item) = items.get(offset) {
                // Acquire: as in `next`.
                if cookie.load(Ordering::Acquire) != mine {
                    return Err(Resync);
                }
                if let Some(progress) = progress {
                    step(progress);
                }
                offset += 1;
                self.cursor.offset = offset;
                match f(acc, item.clone()) {
                    ControlFlow::Continue(next) => acc = next,
                    ControlFlow::Break(done) => return Ok(done),
                }
            }
            if !self.cursor.next_chunk() {
                break;
            }
        }
        // The end, as `next` reports it: only at the iterator's cookie.
        // Acquire: as in `next`.
        if cookie.load(Ordering::Acquire) != mine {
            return Err(Resync);
        }
        self.end_pass();
        Ok(acc)
    }

    /// As the trait's `foreach`, through [`fold`](Self::fold).
    fn foreach<F>(&mut self, mut f: F) -> Result<(), Resync>
    where
        F: FnMut(T),
    {
        self.fold((), |(), item| {
            f(item);
            ControlFlow::Continue(())
        })
    }
}

impl<T> Drop for CookieIter<'_, T> {
    /// A starving pass dropped mid-pass (a panic included) leaves the gate.
    fn drop(&mut self) {
        if let Some(pass) = self.registration.take() {
            self.list.unregister(pass);
        }
    }
}

impl<T> Clone for CookieIter<'_, T> {
    /// Another iterator at the same position and cookie (`gst_iterator_copy`), with
    /// the same resync count; it is not registered as starving until its own
    /// next resync.
    fn clone(&self) -> Self {
        Self {
            list: self.list,
            cookie: self.cookie,
            check: self.cookie,
            cursor: self.cursor.clone(),
            resyncs: self.resyncs,
            registration: None,
        }
    }
}

impl<T> fmt::Debug for CookieIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieIter")
            .field("cookie", &self.cookie)
            .field("position", &self.cursor.position())
            .field("len", &self.cursor.version.len())
            .field("resyncs", &self.resyncs)
            .field("starving", &self.registration.is_some())
            .finish()
    }
}

/// A position in a version, shared by [`CookieIter`] and [`SnapshotIntoIter`]: the
/// version (owned), the items of the chunk being walked, and the offset of the next
/// item in them.
struct Cursor<T> {
    version: Version<T>,
    /// The items of `version.chunks()[chunk - 1]`, or an empty slice before the
    /// first chunk: a step indexes them directly instead of going through the
    /// version. A pointer, not a reference, because it points into a chunk that
    /// `version`, which the cursor owns, keeps alive (on the heap: moving the cursor
    /// does not move it); the two are only ever set together (`new`, `next`).
    items: NonNull<[T]>,
    /// The index of the chunk after `items`.
    chunk: usize,
    offset: usize,
}

// SAFETY: the fields stand for a `Version<T>` (`Arc`s) and a `&[T]` into it;
// both are `Send` and `Sync` when `T: Send + Sync`, which both impls require. (The
// pointer alone would make the cursor neither.)
unsafe impl<T: Send + Sync> Send for Cursor<T> {}
// SAFETY: as for `Send`; a shared cursor only reads.
unsafe impl<T: Send + Sync> Sync for Cursor<T> {}

impl<T> Cursor<T> {
    fn new(version: Version<T>) -> Self {
        Self {
            version,
            items: NonNull::from(&[][..]),
            chunk: 0,
            offset: 0,
        }
    }

    /// The next item, by reference, or `None` at the end (and after it).
    #[inline(always)]
    fn next(&mut self) -> Option<&T> {
        loop {
            // SAFETY: `items` is the empty slice or the items of a chunk of
            // `self.version`, set together with it; the cursor keeps that version,
            // and so the chunk, alive, and a published chunk is never written. So the
            // slice is valid for reads for as long as `self` is borrowed.
            let items = unsafe { self.items.as_ref() };
            if let Some(item) = items.get(self.offset) {
                self.offset += 1;
                return Some(item);
            }
            if !self.next_chunk() {
                return None;
            }
        }
    }

    /// Moves to the start of the next chunk; `false` at the last one.
    #[inline(always)]
    fn next_chunk(&mut self) -> bool {
        let Some(next) = self.version.chunks().get(self.chunk) else {
            return false;
        };
        self.items = NonNull::from(&*next.items);
        self.chunk += 1;
        self.offset = 0;
        true
    }

    /// How many items come before the next one.
    fn position(&self) -> usize {
        match self.chunk {
            0 => 0,
            next => self.version.chunks()[next - 1].start + self.offset,
        }
    }
}

impl<T> Clone for Cursor<T> {
    fn clone(&self) -> Self {
        Self {
            version: self.version.clone(),
            // Points into the same version, which the clone holds too.
            items: self.items,
            chunk: self.chunk,
            offset: self.offset,
        }
    }
}

/// A [`ResyncIterator`] over the items of another for which a predicate returns
/// `true`: `gst_iterator_filter`. Made by [`ResyncIterator::filter`].
///
/// The predicate runs with no lock held. `resync` resyncs the inner iterator.
#[derive(Clone)]
#[must_use = "iterators are lazy and do nothing unless stepped"]
pub struct ResyncFilter<I, P> {
    inner: I,
    pred: P,
}

impl<I, P> ResyncIterator for ResyncFilter<I, P>
where
    I: ResyncIterator,
    P: FnMut(&I::Item) -> bool,
{
    type Item = I::Item;

    fn next(&mut self) -> Result<Option<I::Item>, Resync> {
        while let Some(item) = self.inner.next()? {
            if (self.pred)(&item) {
                return Ok(Some(item));
            }
        }
        Ok(None)
    }

    fn resync(&mut self) {
        self.inner.resync();
    }
}

impl<I: fmt::Debug, P> fmt::Debug for ResyncFilter<I, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResyncFilter")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// All items of a [`CookieList`] at one cookie, made by [`CookieList::snapshot`]:
/// immutable, usable with no lock, cheap to clone (at most one reference-count
/// increment).
///
/// The items sit in chunks, not in one slice; [`iter`](Self::iter) walks them as
/// `&T`, and iterating the snapshot by value clones them out.
pub struct ListSnapshot<T> {
    current: Current<T>,
}

impl<T> ListSnapshot<T> {
    /// The list's cookie when this snapshot was taken.
    #[must_use]
    pub fn cookie(&self) -> u64 {
        self.current.cookie
    }

    /// The number of items.
    #[must_use]
    pub fn len(&self) -> usize {
        self.current.version.len()
    }

    /// Whether there are no items.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The item at `index`, in `O(log(len))`.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&T> {
        self.current.version.get(index)
    }

    /// The items, by reference.
    pub fn iter(&self) -> SnapshotIter<'_, T> {
        SnapshotIter::new(&self.current.version)
    }

    /// The items, cloned into a `Vec`.
    #[must_use]
    pub fn to_vec(&self) -> Vec<T>
    where
        T: Clone,
    {
        let mut out = Vec::with_capacity(self.len());
        for chunk in self.current.version.chunks() {
            out.extend_from_slice(&chunk.items);
        }
        out
    }
}

impl<T> Clone for ListSnapshot<T> {
    fn clone(&self) -> Self {
        Self {
            current: self.current.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for ListSnapshot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, T> IntoIterator for &'a ListSnapshot<T> {
    type Item = &'a T;
    type IntoIter = SnapshotIter<'a, T>;

    fn into_iter(self) -> SnapshotIter<'a, T> {
        self.iter()
    }
}

impl<T: Clone> IntoIterator for ListSnapshot<T> {
    type Item = T;
    type IntoIter = SnapshotIntoIter<T>;

    fn into_iter(self) -> SnapshotIntoIter<T> {
        SnapshotIntoIter {
            cookie: self.current.cookie,
            cursor: Cursor::new(self.current.version),
        }
    }
}

/// The items of a [`ListSnapshot`] by reference; made by [`ListSnapshot::iter`].
#[must_use = "iterators are lazy and do nothing unless stepped"]
pub struct SnapshotIter<'a, T> {
    chunks: core::slice::Iter<'a, Chunk<T>>,
    items: core::slice::Iter<'a, T>,
    remaining: usize,
}

impl<'a, T> SnapshotIter<'a, T> {
    fn new(version: &'a Version<T>) -> Self {
        Self {
            chunks: version.chunks().iter(),
            items: [].iter(),
            remaining: version.len(),
        }
    }
}

impl<'a, T> Iterator for SnapshotIter<'a, T> {
    type Item = &'a T;

    #[inline]
    fn next(&mut self) -> Option<&'a T> {
        loop {
            if let Some(item) = self.items.next() {
                self.remaining -= 1;
                return Some(item);
            }
            self.items = self.chunks.next()?.items.iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for SnapshotIter<'_, T> {}
impl<T> FusedIterator for SnapshotIter<'_, T> {}

impl<T> Clone for SnapshotIter<'_, T> {
    fn clone(&self) -> Self {
        Self {
            chunks: self.chunks.clone(),
            items: self.items.clone(),
            remaining: self.remaining,
        }
    }
}

impl<T> fmt::Debug for SnapshotIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotIter")
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// The items of a snapshot, cloned out one by one: what iterating a [`ListSnapshot`]
/// or a `&CookieList` by value gives.
#[must_use = "iterators are lazy and do nothing unless stepped"]
pub struct SnapshotIntoIter<T> {
    cookie: u64,
    cursor: Cursor<T>,
}

impl<T> SnapshotIntoIter<T> {
    /// The cookie of the snapshot being iterated.
    #[must_use]
    pub fn cookie(&self) -> u64 {
        self.cookie
    }
}

impl<T: Clone> Iterator for SnapshotIntoIter<T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        self.cursor.next().cloned()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.cursor.version.len() - self.cursor.position();
        (remaining, Some(remaining))
    }
}

impl<T: Clone> ExactSizeIterator for SnapshotIntoIter<T> {}
impl<T: Clone> FusedIterator for SnapshotIntoIter<T> {}

impl<T> Clone for SnapshotIntoIter<T> {
    fn clone(&self) -> Self {
        Self {
            cookie: self.cookie,
            cursor: self.cursor.clone(),
        }
    }
}

impl<T> fmt::Debug for SnapshotIntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotIntoIter")
            .field("cookie", &self.cookie())
            .field(
                "remaining",
                &(self.cursor.version.len() - self.cursor.position()),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the chunk invariants of the current version, and that the readers'
    /// pair and the writers' pair agree.
    fn check<T>(list: &CookieList<T>) {
        let current = list.load();
        let v = &current.version;
        let mut start = 0;
        for chunk in v.chunks() {
            assert!(!chunk.items.is_empty());
            assert_eq!(chunk.start, start);
            start += chunk.items.len();
        }
        assert_eq!(start, v.len());
        match v {
            Version::Empty => assert_eq!(v.len(), 0),
            Version::One(_) => {}
            Version::Many(chunks) => assert!(chunks.chunks.len() >= 2),
        }
        assert_eq!(current.cookie, list.cookie());
    }

    fn chunk_lens<T>(list: &CookieList<T>) -> Vec<usize> {
        list.load()
            .version
            .chunks()
            .iter()
            .map(|c| c.items.len())
            .collect()
    }

    #[test]
    fn chunk_cap_grows_with_the_square_root() {
        assert_eq!(chunk_cap(0), 32);
        assert_eq!(chunk_cap(1000), 32);
        assert_eq!(chunk_cap(10_000), 100);
        assert_eq!(chunk_cap(1_000_000), 1000);
    }

    #[test]
    fn push_fills_chunks_to_their_cap() {
        let list = CookieList::new();
        for i in 0..100u32 {
            list.push(i);
            check(&list);
        }
        assert_eq!(chunk_lens(&list), [32, 32, 32, 4]);
        assert_eq!(list.snapshot().to_vec(), (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn small_versions_are_one_chunk_or_nothing() {
        let list = CookieList::new();
        assert!(matches!(list.load().version, Version::Empty));
        list.push(1u32);
        assert!(matches!(list.load().version, Version::One(_)));
        for i in 2..=32 {
            list.push(i);
        }
        assert!(matches!(list.load().version, Version::One(_)));
        list.push(33);
        assert!(matches!(list.load().version, Version::Many(_)));
        assert_eq!(list.remove_where(|&x| x == 33), Some(33));
        assert!(matches!(list.load().version, Version::One(_)));
        list.clear();
        assert!(matches!(list.load().version, Version::Empty));
        check(&list);
    }

    #[test]
    fn a_write_shares_the_chunks_it_does_not_touch() {
        let list: CookieList<u32> = (0..1000).collect();
        let before = list.load().version;
        list.push(1000);
        let after = list.load().version;
        // How many chunks two versions share, position by position.
        let shared = |a: &Version<u32>, b: &Version<u32>| {
            a.chunks()
                .iter()
                .zip(b.chunks())
                .filter(|(x, y)| Arc::ptr_eq(&x.items, &y.items))
                .count()
        };
        assert_eq!(shared(&before, &after), before.chunks().len() - 1);
        list.remove_where(|&x| x == 500);
        let third = list.load().version;
        let kept = shared(&after, &third);
        assert!(kept >= after.chunks().len() - 2, "{kept}");
    }

    #[test]
    fn insert_splits_a_full_chunk() {
        let list: CookieList<u32> = (0..64).collect();
        assert_eq!(chunk_lens(&list), [32, 32]);
        list.insert(5, 100);
        check(&list);
        assert_eq!(chunk_lens(&list), [16, 17, 32]);
        let mut expected: Vec<u32> = (0..64).collect();
        expected.insert(5, 100);
        assert_eq!(list.snapshot().to_vec(), expected);
        for i in 0..=expected.len() {
            assert_eq!(list.snapshot().get(i), expected.get(i));
        }
    }

    #[test]
    fn removing_merges_small_chunks() {
        let list: CookieList<u32> = (0..64).collect();
        for x in 32..52 {
            assert_eq!(list.remove_where(|&y| y == x), Some(x));
            check(&list);
        }
        assert_eq!(chunk_lens(&list), [32, 12]);
        for x in 0..24 {
            assert_eq!(list.remove_where(|&y| y == x), Some(x));
        }
        assert_eq!(chunk_lens(&list), [8, 12]);
        // Below a quarter of the cap, and the two fit in one chunk: merged.
        assert_eq!(list.remove_where(|&y| y == 24), Some(24));
        check(&list);
        assert_eq!(chunk_lens(&list), [19]);
        let expected: Vec<u32> = (25..32).chain(52..64).collect();
        assert_eq!(list.snapshot().to_vec(), expected);
        // A small chunk next to a full one stays: merging would overfill.
        let list: CookieList<u32> = (0..64).collect();
        for x in 0..29 {
            list.remove_where(|&y| y == x);
        }
        assert_eq!(chunk_lens(&list), [3, 32]);
        while list.remove_where(|_| true).is_some() {
            check(&list);
        }
        assert!(list.is_empty());
        assert_eq!(chunk_lens(&list), [] as [usize; 0]);
    }

    #[test]
    fn retain_repacks_small_chunks() {
        let list: CookieList<u32> = (0..320).collect();
        list.retain(|x| x % 10 == 0);
        check(&list);
        assert_eq!(
            list.snapshot().to_vec(),
            (0..32).map(|x| x * 10).collect::<Vec<_>>()
        );
        assert_eq!(chunk_lens(&list), [32]);
        let cookie = list.cookie();
        list.retain(|_| true);
        assert_eq!(list.cookie(), cookie, "keeping all is no change");
    }
}
