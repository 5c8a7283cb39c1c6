//! loom models of `CookieList` and its resync iterator, through the public API only.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p mtsafe-loom-tests --release --test loom_cookie_list`.
//!
//! The items are [`Item`]s: loom checks every read of one (a clone) against its drop
//! (a write), so an item read after, or unordered with, its drop fails the model, and
//! each carries a `Track`, so an item leaked or dropped twice fails it too.
#![cfg(loom)]

use core::ops::ControlFlow;

use loom::alloc::Track;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use mtsafe::{CookieList, Resync, ResyncIterator};

/// A list item: an id in a loom-checked cell, and a leak tracker.
#[derive(Debug)]
struct Item {
    id: UnsafeCell<u32>,
    _track: Track<()>,
}

// SAFETY: through `&Item` the cell is only read (`id`, `clone`); it is written only
// in `drop`, through `&mut self`. loom checks that every read is ordered before the
// drop's write.
unsafe impl Sync for Item {}

impl Item {
    fn new(id: u32) -> Self {
        Self {
            id: UnsafeCell::new(id),
            _track: Track::new(()),
        }
    }

    fn id(&self) -> u32 {
        // SAFETY: a read; loom checks it against the only write, in `drop`.
        self.id.with(|p| unsafe { *p })
    }
}

impl Clone for Item {
    fn clone(&self) -> Self {
        Self::new(self.id())
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        // A destructor writes, as real ones do: loom reports a drop that is not
        // ordered after every read of this item on other threads.
        self.id.with_mut(|p| {
            // SAFETY: `&mut self`; loom checks the write against every read.
            unsafe { *p = u32::MAX }
        });
    }
}

fn list_of(ids: &[u32]) -> Arc<CookieList<Item>> {
    Arc::new(ids.iter().map(|&id| Item::new(id)).collect())
}

fn ids(items: impl IntoIterator<Item = Item>) -> Vec<u32> {
    items.into_iter().map(|i| i.id()).collect()
}

/// A reader iterates (resyncing when told) while a writer pushes, removes and inserts. Every
/// step checks "Resync iff the cookie moved"; a pass that ends `Ok(None)` must have
/// yielded exactly the version of its cookie; no item is read after its drop, leaked
/// or dropped twice.
#[test]
fn reader_iterates_while_writer_pushes_and_removes() {
    loom::model(|| {
        // The contents of each version, by cookie.
        const VERSIONS: [&[u32]; 4] = [&[0, 1], &[0, 1, 2], &[1, 2], &[3, 1, 2]];
        let list = list_of(VERSIONS[0]);
        let writer = {
            let list = Arc::clone(&list);
            thread::spawn(move || {
                list.push(Item::new(2));
                let removed = list.remove_where(|i| i.id() == 0);
                assert_eq!(removed.map(|i| i.id()), Some(0));
                list.insert(0, Item::new(3));
            })
        };

        let mut it = list.iter();
        assert!(
            it.cookie() <= list.cookie(),
            "a version ahead of the cookie"
        );
        let mut seen = Vec::new();
        let mut resyncs = 0;
        loop {
            let before = list.cookie();
            match it.next() {
                Ok(Some(item)) => {
                    // Ok only while the cookie is the iterator's: had it moved
                    // before this step, the step would have seen it.
                    assert_eq!(before, it.cookie(), "an item after the cookie moved");
                    seen.push(item.id());
                }
                Ok(None) => {
                    assert_eq!(before, it.cookie(), "Done after the cookie moved");
                    assert_eq!(
                        seen,
                        VERSIONS[it.cookie() as usize],
                        "a clean pass is one version"
                    );
                    break;
                }
                Err(Resync) => {
                    assert_ne!(
                        list.cookie(),
                        it.cookie(),
                        "Resync but the cookie did not move"
                    );
                    // What was seen is a prefix of the pass's version.
                    assert_eq!(seen, VERSIONS[it.cookie() as usize][..seen.len()]);
                    resyncs += 1;
                    seen.clear();
                    it.resync();
                }
            }
        }
        assert!(resyncs <= 3, "one Resync per change at most");

        writer.join().unwrap();
        assert_eq!(list.cookie(), 3);
        // Done is not sticky, and a finished pass is not a stale one.
        let c = it.cookie();
        let last = it.next();
        assert_eq!(last.is_err(), c != 3);
        assert_eq!(ids(list.snapshot()), VERSIONS[3]);
    });
}

/// The change behind a `Resync` happens before the `Resync` is reported: whatever the
/// writer did before changing the list is visible to a reader told to resync.
#[test]
fn resync_happens_after_the_change() {
    loom::model(|| {
        let list = list_of(&[0]);
        let flag = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (list, flag) = (Arc::clone(&list), Arc::clone(&flag));
            thread::spawn(move || {
                // Relaxed on purpose: only the list's cookie may order it.
                flag.store(1, Ordering::Relaxed);
                list.push(Item::new(1));
            })
        };
        let mut it = list.iter();
        let first = it.next();
        if it.cookie() == 0 {
            match first {
                Ok(item) => assert_eq!(item.map(|i| i.id()), Some(0)),
                Err(Resync) => assert_eq!(flag.load(Ordering::Relaxed), 1),
            }
        }
        if list.cookie() == 1 {
            assert_eq!(flag.load(Ordering::Relaxed), 1);
        }
        writer.join().unwrap();
        assert_eq!(it.next().is_err(), it.cookie() == 0);
    });
}

/// Snapshots (`snapshot`, iterating `&list`) are exactly one version while a writer
/// pushes and clears; `fold` reports `Resync` or folds one version.
#[test]
fn snapshots_and_fold_see_one_version_while_writer_clears() {
    loom::model(|| {
        const VERSIONS: [&[u32]; 3] = [&[0], &[0, 1], &[]];
        let list = list_of(VERSIONS[0]);
        let writer = {
            let list = Arc::clone(&list);
            thread::spawn(move || {
                list.push(Item::new(1));
                list.clear();
            })
        };
        let snap = list.snapshot();
        let cookie = snap.cookie();
        // A reader never gets a version before its cookie is published.
        assert!(cookie <= list.cookie(), "a version ahead of the cookie");
        assert_eq!(ids(snap), VERSIONS[cookie as usize]);

        let by_value = (&*list).into_iter();
        let cookie = by_value.cookie();
        assert_eq!(ids(by_value), VERSIONS[cookie as usize]);

        let mut it = list.iter();
        let folded = it.fold(Vec::new(), |mut acc, item| {
            acc.push(item.id());
            ControlFlow::Continue(acc)
        });
        match folded {
            Ok(all) => assert_eq!(all, VERSIONS[it.cookie() as usize]),
            Err(Resync) => assert_ne!(list.cookie(), it.cookie()),
        }
        writer.join().unwrap();
        assert!(list.is_empty());
    });
}

/// Two writers: `remove_where` looks for key `b` while another thread inserts a new
/// `b` at the head and then appends. Whatever the interleaving, the item removed is
/// the first `b` of the list at the moment of the removal, never the item its
/// snapshot had at that index, and a `remove_where` that a write interrupts twice
/// (its snapshot, then its retry) still finds it.
#[test]
fn remove_where_removes_the_right_item_under_a_concurrent_insert() {
    loom::model(|| {
        // ids: 10 = a, 11 = b, 12 = c, 13 = d, 19 = the new b.
        let is_b = |i: &Item| i.id() == 11 || i.id() == 19;
        let list = list_of(&[10, 11, 12]);
        let writer = {
            let list = Arc::clone(&list);
            thread::spawn(move || {
                list.insert(0, Item::new(19));
                list.push(Item::new(13));
            })
        };
        let removed = list.remove_where(is_b).map(|i| i.id());
        writer.join().unwrap();
        let after = ids(list.snapshot());
        match removed {
            // The insert came first: its b is the first one.
            Some(19) => assert_eq!(after, [10, 11, 12, 13]),
            // The removal came first.
            Some(11) => assert_eq!(after, [19, 10, 12, 13]),
            other => panic!("removed {other:?}, leaving {after:?}"),
        }
        assert_eq!(list.cookie(), 3);
    });
}

/// `retain` against a concurrent `push`: the pushed item is kept or dropped by the
/// predicate, never slipped in unasked, and nothing leaks.
#[test]
fn retain_against_a_concurrent_push() {
    loom::model(|| {
        let list = list_of(&[1, 2, 3]);
        let pusher = {
            let list = Arc::clone(&list);
            thread::spawn(move || list.push(Item::new(4)))
        };
        list.retain(|i| i.id() % 2 == 1);
        pusher.join().unwrap();
        let after = ids(list.snapshot());
        // Either the push came first and retain asked about (and dropped) its item,
        // or it came after; both are two changes.
        assert!(after == [1, 3] || after == [1, 3, 4], "{after:?}");
        assert_eq!(list.cookie(), 2);
    });
}

/// How many resyncs make a pass starving.
const K: u32 = CookieList::<Item>::STARVING_AFTER;

/// A writer makes more changes than `K` (add, remove, add) while a reader makes one
/// pass: in every interleaving the pass finishes with at most `K` resyncs (a pass
/// that resynced `K` times is protected), the writer finishes all its changes (it
/// waits for the pass, bounded), and the finished pass holds nothing (a `try_`
/// write goes through). The writer makes change `i` only once the reader resynced
/// `i` times (or finished), so that every change can cost the pass a resync within
/// loom's preemption bound.
#[test]
fn a_starving_pass_finishes_and_so_does_the_writer() {
    loom::model(|| {
        let list = list_of(&[0]);
        // The reader's resyncs so far, and `u32::MAX` once its pass is over.
        let progress = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (list, progress) = (Arc::clone(&list), Arc::clone(&progress));
            thread::spawn(move || {
                for i in 0..=K as usize {
                    while progress.load(Ordering::SeqCst) < i {
                        thread::yield_now();
                    }
                    if i % 2 == 0 {
                        list.push(Item::new(1 + i as u32));
                    } else {
                        let id = i as u32;
                        assert_eq!(
                            list.remove_where(|x| x.id() == id).map(|x| x.id()),
                            Some(id)
                        );
                    }
                }
            })
        };
        let mut it = list.iter();
        let mut resyncs = 0;
        loop {
            match it.next() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(Resync) => {
                    resyncs += 1;
                    assert!(resyncs <= K, "a pass resynced {resyncs} times");
                    progress.store(resyncs as usize, Ordering::SeqCst);
                    it.resync();
                }
            }
        }
        progress.store(usize::MAX, Ordering::SeqCst);
        writer.join().unwrap();
        assert_eq!(list.cookie(), u64::from(K) + 1);
        assert_eq!(list.starving_passes(), 0, "a finished pass still starving");
        assert!(list.try_push(Item::new(9)).is_ok());
    });
}

/// A starving pass that stops stepping (its thread waits for the writer) holds the
/// writer back only for the stall limit (under loom, a few of the writer's looks):
/// the writer finishes, and the pass then resyncs again and still finishes.
#[test]
fn a_stalled_starving_pass_lets_the_writer_finish() {
    loom::model(|| {
        let list = list_of(&[0]);
        let mut it = list.iter();
        // K changes before the writer starts, each reported: the pass is starving.
        for i in 0..K {
            list.push(Item::new(10 + i));
            assert_eq!(it.next().map(|_| ()), Err(Resync));
            it.resync();
        }
        assert_eq!(list.starving_passes(), 1);
        let writer = {
            let list = Arc::clone(&list);
            thread::spawn(move || list.push(Item::new(1)))
        };
        // Stalled: no step until the writer is done.
        writer.join().unwrap();
        assert_eq!(list.starving_passes(), 0, "the stalled pass was evicted");
        assert_eq!(it.next().map(|_| ()), Err(Resync));
        it.resync();
        let mut seen = Vec::new();
        while let Some(item) = it.next().unwrap() {
            seen.push(item.id());
        }
        assert_eq!(seen, [0, 10, 11, 1]);
        assert_eq!(list.starving_passes(), 0);
    });
}

/// A starving pass that keeps stepping is not taken for a stalled one: the writer
/// that arrives after it waits for the whole pass (its steps show it alive), and the
/// pass finishes with no further resync. (A writer that ignored the steps is caught
/// by the std test `a_starving_pass_that_keeps_stepping_is_not_evicted`: its looks
/// at the counter conflict with no access of the reader's then, so loom's
/// partial-order reduction never spreads them across the pass.)
#[test]
fn a_stepping_starving_pass_is_not_evicted() {
    loom::model(|| {
        let list = list_of(&[0, 1, 2]);
        let mut it = list.iter();
        for i in 0..K {
            list.push(Item::new(10 + i));
            assert_eq!(it.next().map(|_| ()), Err(Resync));
            it.resync();
        }
        let writer = {
            let list = Arc::clone(&list);
            thread::spawn(move || list.push(Item::new(3)))
        };
        let mut seen = Vec::new();
        loop {
            match it.next() {
                Ok(Some(item)) => seen.push(item.id()),
                Ok(None) => break,
                Err(Resync) => panic!("a stepping starving pass resynced"),
            }
        }
        assert_eq!(seen, [0, 1, 2, 10, 11]);
        writer.join().unwrap();
        assert_eq!(list.starving_passes(), 0);
    });
}
