//! A position in a version that the cursor owns: the only `unsafe` code of the
//! cookie list.
//!
//! The fields are private to this file, so the only ways to make or move a cursor
//! are [`Cursor::new`], which takes the version it will walk, `clone`, and the two
//! walks, [`Cursor::next`] and [`Cursor::try_fold`]: nothing else can pair a
//! cursor's items with another version, or change the version under them.

use core::ops::ControlFlow;
use core::ptr::NonNull;

use super::version::Version;

/// A position in a version, shared by [`CookieIter`](super::CookieIter) and
/// [`SnapshotIntoIter`](super::SnapshotIntoIter): the version (owned), the items of
/// the chunk being walked, and the offset of the next item in them.
pub(super) struct Cursor<T> {
    version: Version<T>,
    /// The items of `version.chunks()[chunk - 1]`, or an empty slice before the
    /// first chunk: a step indexes them directly instead of going through the
    /// version. A pointer, not a reference, because it points into a chunk that
    /// `version`, which the cursor owns, keeps alive (on the heap: moving the cursor
    /// does not move it); the two are only ever set together (`new`, `next_chunk`),
    /// and only in this file.
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
    /// A cursor before the first item of `version`, which it keeps.
    pub(super) fn new(version: Version<T>) -> Self {
        Self {
            version,
            items: NonNull::from(&[][..]),
            chunk: 0,
            offset: 0,
        }
    }

    /// The next item, by reference, or `None` at the end (and after it).
    #[inline(always)]
    pub(super) fn next(&mut self) -> Option<&T> {
        loop {
            // SAFETY: `items` is the empty slice or the items of a chunk of
            // `self.version`, set together with it in this file only; the cursor
            // keeps that version, and so the chunk, alive, and a published chunk is
            // never written (no code outside this file reaches `self.version`). So
            // the slice is valid for reads for as long as `self` is borrowed, which
            // the returned reference is tied to.
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

    /// Folds the remaining items into `init` with `f`, walking each chunk with the
    /// position in a local: before each item `check` runs, and its `Err` ends the walk
    /// with the position on that item; else the position moves past the item, then
    /// `f` gets it. `Continue` with the accumulator at the end, or `f`'s `Break`.
    #[inline(always)]
    pub(super) fn try_fold<B, E>(
        &mut self,
        init: B,
        mut check: impl FnMut() -> Result<(), E>,
        mut f: impl FnMut(B, &T) -> ControlFlow<B, B>,
    ) -> Result<ControlFlow<B, B>, E> {
        let mut acc = init;
        loop {
            // SAFETY: as in `next`; this loop changes neither `items` nor `version`
            // until it is done with `items` (only `offset`), and `check` and `f`
            // cannot reach the cursor, which this call borrows mutably.
            let items = unsafe { self.items.as_ref() };
            let mut offset = self.offset;
            while let Some(item) = items.get(offset) {
                check()?;
                offset += 1;
                self.offset = offset;
                match f(acc, item) {
                    ControlFlow::Continue(next) => acc = next,
                    ControlFlow::Break(done) => return Ok(ControlFlow::Break(done)),
                }
            }
            if !self.next_chunk() {
                return Ok(ControlFlow::Continue(acc));
            }
        }
    }

    /// Moves to the start of the next chunk; `false` at the last one.
    ///
    /// A one-chunk version keeps its chunk inline, and `Version::chunks` would
    /// index a slice made from it with a variable index: a pointer into the cursor
    /// that stops the compiler from keeping the cursor's fields in registers. So
    /// each variant is read here, the inline chunk at a fixed place.
    #[inline(always)]
    fn next_chunk(&mut self) -> bool {
        let items = match &self.version {
            Version::One(chunk) if self.chunk == 0 => NonNull::from(&*chunk.items),
            Version::One(_) | Version::Empty => return false,
            Version::Many(chunks) => match chunks.chunks().get(self.chunk) {
                Some(next) => NonNull::from(&*next.items),
                None => return false,
            },
        };
        self.items = items;
        self.chunk += 1;
        self.offset = 0;
        true
    }

    /// How many items come before the next one.
    pub(super) fn position(&self) -> usize {
        match self.chunk {
            0 => 0,
            next => self.version.chunks()[next - 1].start + self.offset,
        }
    }

    /// How many items the version has.
    pub(super) fn len(&self) -> usize {
        self.version.len()
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
