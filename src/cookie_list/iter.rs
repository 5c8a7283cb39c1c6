//! The resync iterator: [`Resync`], the [`ResyncIterator`] contract
//! (`GstIterator`'s), [`CookieIter`] over a [`CookieList`] and [`ResyncFilter`].

use core::fmt;
use core::iter::FusedIterator;
use core::mem::{self, ManuallyDrop};
use core::ops::ControlFlow;

use super::cursor::Cursor;
use super::gate::{step, Registration};
use super::version::{Current, Version};
use super::CookieList;
use crate::sync::atomic::Ordering;

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
/// `&list` or a [`ListSnapshot`](super::ListSnapshot) for that.
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
    /// Dropped by [`Drop`], with `registration`, out of line (see there).
    cursor: ManuallyDrop<Cursor<T>>,
    /// How many times this pass resynced.
    resyncs: u32,
    /// This pass's place in the list's gate, once it is starving. Dropped by
    /// [`Drop`].
    registration: ManuallyDrop<Option<Registration>>,
}

impl<'a, T> CookieIter<'a, T> {
    /// A pass over `current`, which `list` published at its cookie.
    pub(super) fn new(list: &'a CookieList<T>, current: Current<T>) -> Self {
        Self {
            list,
            cookie: current.cookie,
            check: current.cookie,
            cursor: ManuallyDrop::new(Cursor::new(current.version)),
            resyncs: 0,
            registration: ManuallyDrop::new(None),
        }
    }

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
        // Relaxed: a step at the iterator's cookie reads only its own version,
        // which it cloned under the list's lock, so this load orders nothing; the
        // mismatch path below loads again with Acquire. The cookie is compared
        // before the position is touched; on a mismatch nothing changes.
        // loom-mutant: cookie-list-next-checks-cookie-first
        if self.list.cookie.load(Ordering::Relaxed) != self.check {
            // A change, or a starving pass (`check` is `STARVING`), which compares
            // with the version's cookie and counts the step for the writers waiting
            // behind it, in line: no call here takes the iterator's address.
            // loom-mutant: cookie-list-resync-reported-without-acquire
            // Acquire: pairs with the writers' Release stores, so a reader that
            // reports Resync sees the change behind it. It reads the cookie loaded
            // above or a newer one, stored by a writer that took the list's lock
            // after the earlier writers had published.
            let now = self.list.cookie.load(Ordering::Acquire);
            match &*self.registration {
                // loom-mutant: cookie-list-starving-pass-step-never-checks-cookie
                Some(pass) if now == self.cookie => step(&pass.progress),
                _ => return Err(Resync),
            }
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
        // The parts go to the out-of-line `reload` as copies and come back by value
        // (see `Drop`): the iterator's address reaches no call, and this stays
        // small enough to inline into the caller's loop. (If an item's drop panics
        // in `reload`, the iterator is left with no items at its old cookie. That
        // cookie is never the list's again: the old version drops items only when
        // the list no longer holds them, after a change. So every later step and
        // fold reports `Resync`, never an empty pass; tests/cookie_list/panics.rs.)
        let old = mem::replace(&mut *self.cursor, Cursor::new(Version::Empty));
        let (current, registration) =
            reload(self.list, self.resyncs, self.registration.take(), old);
        self.cookie = current.cookie;
        self.check = if registration.is_some() {
            STARVING
        } else {
            current.cookie
        };
        // The fields own nothing now (an empty cursor, `None`): overwritten, not
        // dropped.
        self.cursor = ManuallyDrop::new(Cursor::new(current.version));
        self.registration = ManuallyDrop::new(registration);
    }

    /// As the trait's `fold`, walking each chunk with the position in a local.
    fn fold<B, F>(&mut self, init: B, mut f: F) -> Result<B, Resync>
    where
        F: FnMut(B, T) -> ControlFlow<B, B>,
    {
        let cookie = &self.list.cookie;
        let mine = self.cookie;
        let progress = self.registration.as_ref().map(|pass| &*pass.progress);
        let check = || {
            // Acquire: as in `next`; compared before the position moves.
            if cookie.load(Ordering::Acquire) != mine {
                return Err(Resync);
            }
            if let Some(progress) = progress {
                step(progress);
            }
            Ok(())
        };
        let acc = match self
            .cursor
            .try_fold(init, check, |acc, item| f(acc, item.clone()))?
        {
            ControlFlow::Continue(acc) => acc,
            ControlFlow::Break(done) => return Ok(done),
        };
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
    ///
    /// The parts are moved out and dropped by value, out of line, so that the
    /// iterator's drop is a copy and one call that inlines wherever the iterator
    /// goes out of scope: its address then reaches no call, and the compiler can
    /// keep its fields in registers across a loop of `next`. (An object whose
    /// address reaches a call lives in memory, and the loop reloads its fields
    /// after anything the body calls and after each `Acquire` or `Release`
    /// atomic, such as dropping an `Arc` item.)
    #[inline]
    fn drop(&mut self) {
        // Each part is replaced by one that owns nothing (so the fields, never
        // dropped, leak nothing) and passed on as a copy: a part moved out of its
        // field unchanged could reach the call by the field's address.
        let cursor = mem::replace(&mut *self.cursor, Cursor::new(Version::Empty));
        let registration = self.registration.take();
        release(self.list, cursor, registration);
    }
}

/// [`CookieIter::resync`]'s work, out of line: the current version, through the gate
/// once the pass has resynced [`STARVING_AFTER`](CookieList::STARVING_AFTER) times,
/// and the pass's registration; the old position is dropped after, with no lock held.
#[inline(never)]
fn reload<T>(
    list: &CookieList<T>,
    resyncs: u32,
    mut registration: Option<Registration>,
    old: Cursor<T>,
) -> (Current<T>, Option<Registration>) {
    let current = if resyncs >= CookieList::<T>::STARVING_AFTER {
        list.load_starving(&mut registration)
    } else {
        list.load()
    };
    drop(old);
    (current, registration)
}

/// What dropping a [`CookieIter`] does with its parts: the pass leaves the gate if it
/// was starving, then the version is dropped, with no lock held. Never inlined, so
/// that the iterator's drop stays small enough to inline.
#[inline(never)]
fn release<T>(list: &CookieList<T>, cursor: Cursor<T>, registration: Option<Registration>) {
    if let Some(pass) = registration {
        list.unregister(pass);
    }
    drop(cursor);
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
            cursor: ManuallyDrop::new((*self.cursor).clone()),
            resyncs: self.resyncs,
            registration: ManuallyDrop::new(None),
        }
    }
}

impl<T> fmt::Debug for CookieIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieIter")
            .field("cookie", &self.cookie)
            .field("position", &self.cursor.position())
            .field("len", &self.cursor.len())
            .field("resyncs", &self.resyncs)
            .field("starving", &self.registration.is_some())
            .finish()
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
