//! Versions of a [`CookieList`](super::CookieList): immutable, in chunks, shared
//! between versions chunk by chunk. A write builds the next version from the current
//! one here (`pushed`, `inserted`, `removed`, `retain`'s `repack`); nothing in this
//! file takes a lock or knows about cookies beyond pairing one with a version
//! ([`Current`]).

use core::mem;
use core::ops::Range;

use crate::sync::{arc_slice, Arc};

/// The fewest items a chunk may be allowed to hold before it counts as full.
const MIN_CHUNK_CAP: usize = 32;

/// How many items a chunk of a list of `len` items may hold: `max(32, √len)`, so that a
/// write clones `O(√len)` items and `O(√len)` chunk pointers.
#[inline]
pub(super) fn chunk_cap(len: usize) -> usize {
    len.isqrt().max(MIN_CHUNK_CAP)
}

/// A chunk smaller than this is merged with a neighbour when one is small enough.
#[inline]
pub(super) fn chunk_low(len: usize) -> usize {
    chunk_cap(len) / 4
}

/// One chunk of a version: where it starts in the list, and its items (never empty).
pub(super) struct Chunk<T> {
    pub(super) start: usize,
    pub(super) items: Arc<[T]>,
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
pub(super) enum Version<T> {
    Empty,
    One(Chunk<T>),
    Many(Arc<Chunks<T>>),
}

/// The chunks of a version of two chunks or more.
pub(super) struct Chunks<T> {
    len: usize,
    chunks: Vec<Chunk<T>>,
}

impl<T> Chunks<T> {
    /// The chunks, in order: what [`Version::chunks`] gives for a version of two
    /// chunks or more, without its match over the variants.
    #[inline]
    pub(super) fn chunks(&self) -> &[Chunk<T>] {
        &self.chunks
    }
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
    pub(super) fn chunks(&self) -> &[Chunk<T>] {
        match self {
            Self::Empty => &[],
            Self::One(chunk) => core::slice::from_ref(chunk),
            Self::Many(chunks) => &chunks.chunks,
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::One(chunk) => chunk.items.len(),
            Self::Many(chunks) => chunks.len,
        }
    }

    /// A version made of `chunks` (none empty).
    pub(super) fn from_chunks(chunks: impl IntoIterator<Item = Arc<[T]>>) -> Self {
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
    pub(super) fn find(&self, mut pred: impl FnMut(&T) -> bool) -> Option<(usize, usize)> {
        self.chunks()
            .iter()
            .enumerate()
            .find_map(|(c, chunk)| Some((c, chunk.items.iter().position(&mut pred)?)))
    }

    pub(super) fn get(&self, index: usize) -> Option<&T> {
        (index < self.len()).then(|| {
            let (chunk, offset) = self.locate(index);
            &self.chunks()[chunk].items[offset]
        })
    }
}

impl<T: Clone> Version<T> {
    /// The next version, with `value` appended.
    pub(super) fn pushed(&self, value: T) -> Self {
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
    pub(super) fn inserted(&self, index: usize, value: T) -> Self {
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
    pub(super) fn removed(&self, c: usize, offset: usize) -> Self {
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
pub(super) struct Current<T> {
    pub(super) cookie: u64,
    pub(super) version: Version<T>,
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
    pub(super) fn next_cookie(&self) -> u64 {
        // 64 bits: at a billion changes a second, wrapping takes 584 years.
        self.cookie + 1
    }
}

/// A chunk as `retain` keeps it: the same `Arc`, or the items it kept of one.
pub(super) enum Kept<'a, T> {
    Shared(Arc<[T]>),
    Rebuilt(&'a [T]),
}

impl<T> Kept<'_, T> {
    pub(super) fn items(&self) -> &[T] {
        match self {
            Self::Shared(items) => items,
            Self::Rebuilt(items) => items,
        }
    }
}

/// The chunks of a list of `len` items from what `retain` kept: untouched chunks that
/// are not small stay shared; rebuilt and small ones are packed together, up to the
/// chunk cap, between them.
pub(super) fn repack<T: Clone>(kept: Vec<Kept<'_, T>>, len: usize) -> Vec<Arc<[T]>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie_list::CookieList;

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
