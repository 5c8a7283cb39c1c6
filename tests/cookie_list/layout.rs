//! What a write copies: the chunk layout, seen through the public API.
//!
//! A write clones the items of the chunks it rebuilds (module docs, "How it is
//! built"), so the number of clones a write makes tells which chunks it rebuilt and
//! how long they were. A model of the layout rules (a chunk holds at most
//! `max(32, √len)` items; a full chunk splits in two on insert; a chunk left below a
//! quarter of the cap merges with the next chunk, else the previous one, when the two
//! fit; `retain` keeps untouched chunks that are not small and packs the rest up to
//! the cap) predicts the clones of every write; a layout that differs from the rules
//! shows as a different count, at once or at a later write to the chunks concerned.

use std::cell::Cell;

use mtsafe::CookieList;

use super::Rng;

thread_local! {
    /// The clones made on this thread: a write clones under the lock, on the
    /// writing thread, so tests running in parallel do not disturb each other.
    static CLONES: Cell<usize> = const { Cell::new(0) };
}

/// An item that counts its clones.
#[derive(Debug, PartialEq, Eq)]
struct Item(u32);

impl Clone for Item {
    fn clone(&self) -> Self {
        CLONES.with(|c| c.set(c.get() + 1));
        Self(self.0)
    }
}

/// The clones `f` makes on this thread.
fn clones_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = CLONES.with(Cell::get);
    let r = f();
    (r, CLONES.with(Cell::get) - before)
}

/// The chunk cap for a list of `len` items.
fn cap(len: usize) -> usize {
    len.isqrt().max(32)
}

/// Below this a chunk merges with a neighbour that it fits with.
fn low(len: usize) -> usize {
    cap(len) / 4
}

/// The chunks of a list, as the layout rules build them.
struct Model {
    chunks: Vec<Vec<u32>>,
}

impl Model {
    fn from_items(items: &[u32]) -> Self {
        let cap = cap(items.len());
        Self {
            chunks: items.chunks(cap).map(<[u32]>::to_vec).collect(),
        }
    }

    fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    fn items(&self) -> Vec<u32> {
        self.chunks.concat()
    }

    /// Appends; the clones: the last chunk's items if it has room.
    fn push(&mut self, value: u32) -> usize {
        let len = self.len();
        match self.chunks.last_mut() {
            Some(last) if last.len() < cap(len + 1) => {
                last.push(value);
                last.len() - 1
            }
            _ => {
                self.chunks.push(vec![value]);
                0
            }
        }
    }

    /// Inserts at `index`; the clones: the chunk's items.
    fn insert(&mut self, index: usize, value: u32) -> usize {
        let len = self.len();
        if index == len {
            return self.push(value);
        }
        let (c, offset) = self.locate(index);
        let mut items = self.chunks[c].clone();
        let clones = items.len();
        items.insert(offset, value);
        if items.len() > cap(len + 1) {
            let right = items.split_off(items.len() / 2);
            self.chunks.splice(c..=c, [items, right]);
        } else {
            self.chunks[c] = items;
        }
        clones
    }

    fn locate(&self, mut index: usize) -> (usize, usize) {
        for (c, chunk) in self.chunks.iter().enumerate() {
            if index < chunk.len() {
                return (c, index);
            }
            index -= chunk.len();
        }
        unreachable!("index past the end")
    }

    /// Removes the first `value`; the clones: the one handed back, and the items of
    /// the chunk (and of the neighbour it merges with) that stay.
    fn remove(&mut self, value: u32) -> (Option<u32>, usize) {
        let Some((c, offset)) = self
            .chunks
            .iter()
            .enumerate()
            .find_map(|(c, chunk)| Some((c, chunk.iter().position(|&x| x == value)?)))
        else {
            return (None, 0);
        };
        let len = self.len();
        if self.chunks[c].len() == 1 {
            self.chunks.remove(c);
            return (Some(value), 1);
        }
        let mut items = self.chunks[c].clone();
        items.remove(offset);
        let left = items.len();
        let (cap, low) = (cap(len - 1), low(len - 1));
        let n = self.chunks.len();
        let fits = |i: usize| self.chunks[i].len() + left <= cap;
        let extra = if left >= low {
            self.chunks[c] = items;
            0
        } else if c + 1 < n && fits(c + 1) {
            let after = self.chunks.remove(c + 1);
            let extra = after.len();
            items.extend(after);
            self.chunks[c] = items;
            extra
        } else if c > 0 && fits(c - 1) {
            let mut before = self.chunks.remove(c - 1);
            let extra = before.len();
            before.extend(items);
            self.chunks[c - 1] = before;
            extra
        } else {
            self.chunks[c] = items;
            0
        };
        (Some(value), 1 + left + extra)
    }

    /// Keeps the items `keep` accepts; the clones: the kept items of every chunk
    /// that lost one (cloned once when asked, once when packed) and the items of
    /// the small untouched chunks packed with them.
    fn retain(&mut self, keep: impl Fn(u32) -> bool) -> usize {
        let mut clones = 0;
        // (items, untouched)
        let mut kept: Vec<(Vec<u32>, bool)> = Vec::new();
        let mut changed = false;
        for chunk in &self.chunks {
            let k: Vec<u32> = chunk.iter().copied().filter(|&x| keep(x)).collect();
            if k.len() == chunk.len() {
                kept.push((k, true));
            } else {
                changed = true;
                clones += k.len();
                if !k.is_empty() {
                    kept.push((k, false));
                }
            }
        }
        if !changed {
            return clones;
        }
        let len: usize = kept.iter().map(|(k, _)| k.len()).sum();
        let (cap, low) = (cap(len), low(len));
        let mut out = Vec::new();
        let mut pending: Vec<u32> = Vec::new();
        for (items, untouched) in kept {
            if untouched && items.len() >= low {
                if !pending.is_empty() {
                    out.push(std::mem::take(&mut pending));
                }
                out.push(items);
            } else {
                if !pending.is_empty() && pending.len() + items.len() > cap {
                    out.push(std::mem::take(&mut pending));
                }
                clones += items.len();
                pending.extend(items);
            }
        }
        if !pending.is_empty() {
            out.push(pending);
        }
        self.chunks = out;
        clones
    }
}

/// Runs `steps` random writes on a list of `start` items, its length kept between
/// `lo` and `hi`, and checks each write's clones, and now and then the items,
/// against the model.
fn walk(start: u32, steps: usize, lo: usize, hi: usize, seed: u64) {
    let items: Vec<u32> = (0..start).collect();
    let list: CookieList<Item> = items.iter().map(|&x| Item(x)).collect();
    let mut model = Model::from_items(&items);
    let mut next = start;
    let mut rng = Rng(seed);
    for step in 0..steps {
        let len = model.len();
        // Grow below `lo`, shrink above `hi`.
        let grow = if len < lo {
            8
        } else if len > hi {
            2
        } else {
            5
        };
        let op = rng.below(10);
        let (what, got, want) = if op < grow {
            next += 1;
            if rng.below(2) == 0 {
                let (_, got) = clones_during(|| list.push(Item(next)));
                ("push", got, model.push(next))
            } else {
                let i = rng.below(len + 1);
                let (_, got) = clones_during(|| list.insert(i, Item(next)));
                ("insert", got, model.insert(i, next))
            }
        } else if op < 9 || len == 0 {
            // Mostly an item that is there; now and then one that is not.
            let target = if len > 0 && rng.below(8) != 0 {
                model.items()[rng.below(len)]
            } else {
                u32::MAX
            };
            let (removed, got) = clones_during(|| list.remove_where(|x| x.0 == target));
            let (want_removed, want) = model.remove(target);
            assert_eq!(removed.map(|x| x.0), want_removed, "step {step}");
            ("remove_where", got, want)
        } else {
            // A few neighbouring values out (a chunk or two touched, the others
            // shared), or every m-th item (every chunk touched).
            let (a, w, m) = (
                rng.below(next as usize) as u32,
                1 + rng.below(40) as u32,
                7 + rng.below(30) as u32,
            );
            let spread = rng.below(4) == 0;
            let keep = move |x: u32| {
                if spread {
                    x % m != 0
                } else {
                    !(a..a + w).contains(&x)
                }
            };
            let (_, got) = clones_during(|| list.retain(|x| keep(x.0)));
            ("retain", got, model.retain(keep))
        };
        assert_eq!(
            got, want,
            "start {start}, step {step}: {what} at length {len}"
        );
        if step % 100 == 0 || step + 1 == steps {
            let now: Vec<u32> = list.snapshot().iter().map(|x| x.0).collect();
            assert_eq!(now, model.items(), "start {start}, step {step}");
        }
    }
}

/// Every write, at lengths that cross the squares where the cap (33² = 1089, 34²,
/// 35²) and the merge threshold (36² = 1296) change, clones what the model says.
#[test]
fn every_write_copies_what_the_layout_rules_say() {
    if cfg!(miri) {
        walk(30, 300, 20, 80, 0x5DEE_CE66_D1CE_4E5B);
    } else {
        walk(1_000, 6_000, 1_000, 1_400, 0x5DEE_CE66_D1CE_4E5B);
    }
}

/// The same, from lists of full chunks right at the squares (`k² - 2 ..= k² + 1`),
/// where one more or one fewer item changes the cap or the merge threshold.
#[test]
#[cfg_attr(miri, ignore)] // thousands of items per list: the walk above covers Miri
fn writes_at_the_squares_copy_what_the_layout_rules_say() {
    for k in 32..=36u32 {
        for start in k * k - 2..=k * k + 1 {
            let s = start as usize;
            for seed in 1..=4 {
                walk(
                    start,
                    60,
                    s - 3,
                    s + 3,
                    0x9E37_79B9 * seed + u64::from(start),
                );
            }
        }
    }
}

/// Empties chunk `c` of a list of `n` items one removal at a time, after taking
/// `d` items out of its neighbour `c + 1` (or `c - 1` when `c` is the last chunk),
/// checking each removal's clones against the model. As the chunk shrinks below a
/// quarter of the cap it merges with the neighbour exactly when the two fit.
fn empty_a_chunk(n: u32, d: usize, last: bool) {
    let items: Vec<u32> = (0..n).collect();
    let list: CookieList<Item> = items.iter().map(|&x| Item(x)).collect();
    let mut model = Model::from_items(&items);
    let chunks = model.chunks.len();
    let (c, neighbour) = if last {
        (chunks - 1, chunks - 2)
    } else {
        (0, 1)
    };
    let mut targets: Vec<u32> = model.chunks[neighbour][..d].to_vec();
    targets.extend(&model.chunks[c]);
    for (i, &x) in targets.iter().enumerate() {
        let len = model.len();
        let (removed, got) = clones_during(|| list.remove_where(|y| y.0 == x));
        let (want_removed, want) = model.remove(x);
        assert_eq!(removed.map(|y| y.0), want_removed);
        assert_eq!(
            got, want,
            "n {n}, d {d}, last {last}: removal {i} at length {len}"
        );
    }
    let now: Vec<u32> = list.snapshot().iter().map(|x| x.0).collect();
    assert_eq!(now, model.items());
}

/// Merges right where the cap (33² = 1089) and the merge threshold (36² = 1296)
/// change with the length: the chunk and the neighbour fit in `√len` items but not
/// in one fewer, or the chunk is left at exactly a quarter of the cap.
#[test]
#[cfg_attr(miri, ignore)] // thousands of items per list
fn merges_at_the_squares_follow_the_length_after_the_removal() {
    for k in [33u32, 36] {
        for n in k * k - 5..=k * k + 45 {
            for d in [0, 3, 6, 7, 9, 12] {
                for last in [false, true] {
                    empty_a_chunk(n, d, last);
                }
            }
        }
    }
}

/// With no concurrent write, `retain` asks its predicate about each item once,
/// in order, and clones only what it keeps of the chunks it changes.
#[test]
fn retain_asks_about_each_item_once() {
    let n = if cfg!(miri) { 70 } else { 1_000 };
    let list: CookieList<Item> = (0..n).map(Item).collect();
    let mut asked = Vec::new();
    let (_, clones) = clones_during(|| {
        list.retain(|x| {
            asked.push(x.0);
            x.0 % 7 != 3
        })
    });
    assert_eq!(asked, (0..n).collect::<Vec<_>>());
    let kept: Vec<u32> = (0..n).filter(|x| x % 7 != 3).collect();
    // Every chunk lost an item: each kept item is cloned when asked and when packed.
    assert_eq!(clones, 2 * kept.len());
    let now: Vec<u32> = list.snapshot().iter().map(|x| x.0).collect();
    assert_eq!(now, kept);
}
