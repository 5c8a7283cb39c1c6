//! [`ListSnapshot`]: all items of a list at one cookie, and its iterators.

use core::fmt;
use core::iter::FusedIterator;

use super::cursor::Cursor;
use super::version::{Chunk, Current, Version};

/// All items of a [`CookieList`](super::CookieList) at one cookie, made by
/// [`CookieList::snapshot`](super::CookieList::snapshot): immutable, usable with no
/// lock, cheap to clone (at most one reference-count increment).
///
/// The items sit in chunks, not in one slice; [`iter`](Self::iter) walks them as
/// `&T`, and iterating the snapshot by value clones them out.
pub struct ListSnapshot<T> {
    pub(super) current: Current<T>,
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
    pub(super) fn new(version: &'a Version<T>) -> Self {
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
        let remaining = self.cursor.len() - self.cursor.position();
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
            .field("remaining", &(self.cursor.len() - self.cursor.position()))
            .finish()
    }
}
