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
//! impossible by construction. The only `unsafe` code is the iterators' cursor
//! (`cursor.rs`) reading through a pointer into a chunk of the version it owns, so
//! that a step indexes the chunk directly, with no reference-count traffic; its
//! fields are private to that file, so nothing else can pair the pointer with
//! another version.
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
//!   the version it walks. It loads `Relaxed` and, on a mismatch, loads again with
//!   `Acquire` before it reports `Resync`, pairing with the writers' `Release`:
//!   whatever the writer did before the change that caused a `Resync` (inside the
//!   list or not) is visible to the reader that reports it, as it would be to
//!   GStreamer code that reads the cookie under the object lock. (The second load
//!   reads that change's cookie or a newer one, whose writer took the lock after the
//!   earlier writers published.) A step at the iterator's cookie needs no ordering:
//!   it reads only the iterator's own version, cloned under the lock. Memory safety
//!   does not rest on these orderings.
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
//! fail when the code is broken on purpose: `next`'s load on a mismatch or the writer's
//! store weakened to `Relaxed` (`resync_happens_after_the_change`), `next` not checking the
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
//!
//! # Where things are
//!
//! | file          | what                                                                 |
//! |---------------|----------------------------------------------------------------------|
//! | `mod.rs`      | [`CookieList`], its lock, `load` and `publish`, the plain writes     |
//! | `version.rs`  | chunks and versions: building the next version, repacking            |
//! | `retry.rs`    | `remove_where` and `retain`: the memo of answers, the retry loop     |
//! | `gate.rs`     | the progress gate: starving passes, waiting writers, the stall limit |
//! | `cursor.rs`   | a position in a version it owns: the module's only `unsafe`          |
//! | `iter.rs`     | [`Resync`], [`ResyncIterator`], [`CookieIter`], [`ResyncFilter`]     |
//! | `snapshot.rs` | [`ListSnapshot`] and its iterators                                   |

mod cursor;
mod gate;
mod iter;
mod retry;
mod snapshot;
mod version;

use core::convert::Infallible;
use core::fmt;
use core::mem;
use core::time::Duration;

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{arc_slice, Mutex};

use gate::{Gate, Phase, Writer};
use version::{chunk_cap, Current, Version};

pub use gate::WouldWait;
pub use iter::{CookieIter, Resync, ResyncFilter, ResyncIterator, ResyncResults};
pub use snapshot::{ListSnapshot, SnapshotIntoIter, SnapshotIter};

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

    /// Removes item `offset` of chunk `c` of the current version (locked in `writer`,
    /// which the caller releases, then drops what the write replaced) and returns it.
    #[inline]
    fn remove_at(&self, writer: &mut Locked<T>, c: usize, offset: usize) -> (T, Retired<T>) {
        let item = writer.version.chunks()[c].items[offset].clone();
        let next = writer.version.removed(c, offset);
        (item, self.publish(writer, next))
    }

    /// An iterator over the items with GStreamer's resync contract
    /// (`gst_bin_iterate_elements`, `gst_element_iterate_pads`); see [`CookieIter`].
    pub fn iter(&self) -> CookieIter<'_, T> {
        CookieIter::new(self, self.load())
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

/// What a write replaced: dropped by the writer only after it released the lock, so
/// that no item's `Drop` runs under the list's lock.
#[must_use = "drop it after releasing the lock"]
struct Retired<T> {
    _replaced: Current<T>,
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
