//! `remove_where` and `retain`: the predicate runs on a snapshot with no lock held,
//! its answers are kept per chunk in a [`Memo`], and the write applies them under the
//! lock to the current version, asking again about chunks a concurrent write
//! replaced (module docs, "How it is built").

use core::cell::Cell;

use super::gate::{Turn, WouldWait};
use super::version::{repack, Kept, Version};
use super::CookieList;
use crate::sync::Arc;

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

impl<T: Clone> CookieList<T> {
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
        let mut turn = Turn::new(self);
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
            if !writer.has_turn() && writer.passes() != 0 {
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
}
