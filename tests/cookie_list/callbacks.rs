//! Callbacks run with no lock held; item accounting; snapshots and by-value iteration.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

use mtsafe::{CookieList, Resync, ResyncIterator};

use super::{drain, within, LIMIT};

#[test]
fn predicates_that_use_and_change_the_same_list_do_not_deadlock() {
    let list = Arc::new((0..100).collect::<CookieList<u32>>());
    within(LIMIT, {
        let list = Arc::clone(&list);
        move || {
            // remove_where: the predicate reads, iterates and writes the list once.
            let mut once = true;
            let removed = list.remove_where(|&x| {
                assert!(list.len() >= 100);
                let _ = list.snapshot();
                let _ = list.iter().next();
                if once {
                    once = false;
                    list.push(500);
                }
                x == 50
            });
            assert_eq!(removed, Some(50));

            // retain: same.
            let mut once = true;
            list.retain(|&x| {
                let _ = list.iter().find(|_| true);
                if once {
                    once = false;
                    list.push(501);
                }
                x != 7
            });
            // find / filter / foreach predicates.
            let found = list.iter().filter(|_| !list.is_empty()).find(|&x| {
                let _ = list.remove_where(|&y| y == 9999);
                x == 501
            });
            assert_eq!(found, Some(501));
            let mut once = true;
            let r = list.iter().foreach(|_| {
                if once {
                    once = false;
                    list.clear();
                }
            });
            assert_eq!(r, Err(Resync));
        }
    });
    assert!(list.is_empty());
}

#[test]
fn a_write_during_remove_where_never_removes_the_wrong_item() {
    // Items are (identity, key). The predicate looks for key 'b' and, on its first
    // call, inserts another 'b' at the head, as a concurrent writer could. The first
    // 'b' of the list at the moment of the removal is the new one; an implementation
    // that applied the index it found in its snapshot (1) would remove 'a'.
    let list: CookieList<(u32, char)> = [(0, 'a'), (1, 'b'), (2, 'c')].into_iter().collect();
    let mut calls = 0;
    let removed = list.remove_where(|&(_, key)| {
        calls += 1;
        if calls == 1 {
            list.insert(0, (9, 'b'));
        }
        key == 'b'
    });
    assert_eq!(removed, Some((9, 'b')));
    assert_eq!(list.snapshot().to_vec(), [(0, 'a'), (1, 'b'), (2, 'c')]);
}

#[test]
fn a_write_to_another_chunk_does_not_make_remove_where_ask_again() {
    let list: CookieList<u32> = (0..100).collect();
    let mut calls = 0;
    let removed = list.remove_where(|&x| {
        calls += 1;
        if calls == 1 {
            list.push(100); // the tail chunk changes; the head chunk does not
        }
        x == 10
    });
    assert_eq!(removed, Some(10));
    assert_eq!(
        calls, 11,
        "the answers about the unchanged chunk were reused"
    );
    let mut expected: Vec<u32> = (0..=100).collect();
    expected.remove(10);
    assert_eq!(list.snapshot().to_vec(), expected);
}

#[test]
fn retain_asks_about_items_a_concurrent_write_added() {
    let list: CookieList<u32> = (0..10).collect();
    let mut once = true;
    list.retain(|&x| {
        if once {
            once = false;
            list.push(100);
            list.push(101);
        }
        x % 2 == 0
    });
    assert_eq!(list.snapshot().to_vec(), [0, 2, 4, 6, 8, 100]);
}

/// An item whose drop uses the list it was in.
struct UsesListOnDrop(u32);

static DROP_LIST: OnceLock<CookieList<UsesListOnDrop>> = OnceLock::new();
static DROPS_SEEN: AtomicUsize = AtomicUsize::new(0);
static CLONES_MADE: AtomicUsize = AtomicUsize::new(0);

impl Clone for UsesListOnDrop {
    fn clone(&self) -> Self {
        CLONES_MADE.fetch_add(1, Ordering::SeqCst);
        Self(self.0)
    }
}

impl Drop for UsesListOnDrop {
    fn drop(&mut self) {
        if let Some(list) = DROP_LIST.get() {
            // Takes the writer lock (no match: no change): a deadlock if the item
            // were dropped under it.
            assert!(list.remove_where(|x| x.0 == u32::MAX).is_none());
            DROPS_SEEN.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn items_are_dropped_with_no_lock_held() {
    let list = DROP_LIST.get_or_init(|| (0..5).map(UsesListOnDrop).collect());
    within(LIMIT, move || {
        assert!(list.remove_where(|x| x.0 == 2).is_some()); // the returned clone drops
        list.retain(|x| x.0 != 3);
        list.clear();
    });
    // The five originals and every clone (writes clone a chunk's other items, and
    // remove_where hands back a clone) were dropped, each once, none under the lock.
    assert_eq!(
        DROPS_SEEN.load(Ordering::SeqCst),
        5 + CLONES_MADE.load(Ordering::SeqCst)
    );
    assert!(CLONES_MADE.load(Ordering::SeqCst) > 0);
}

// ---------------------------------------------------------------------------------
// Item accounting: writes clone a chunk, not the list; every item drops once.
// ---------------------------------------------------------------------------------

static CLONES: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static ACCOUNTING: Mutex<()> = Mutex::new(());

#[derive(Debug, PartialEq)]
struct Counted(u32);

impl Counted {
    fn new(x: u32) -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Self(x)
    }
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, Ordering::SeqCst);
        Self::new(self.0)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

fn clones_during(f: impl FnOnce()) -> usize {
    let before = CLONES.load(Ordering::SeqCst);
    f();
    CLONES.load(Ordering::SeqCst) - before
}

#[test]
fn writes_clone_one_chunk_not_the_list() {
    let _serial = ACCOUNTING.lock().unwrap();
    let n = if cfg!(miri) { 200 } else { 1000 };
    {
        let list: CookieList<Counted> = (0..n).map(Counted::new).collect();
        // The chunk cap for 1000 items is 32: a push clones at most 31 items, an
        // insert or a remove at most two chunks' worth.
        for i in 0..40 {
            let c = clones_during(|| list.push(Counted::new(n + i)));
            assert!(c <= 31, "push cloned {c}");
        }
        for i in 0..40 {
            let c = clones_during(|| list.insert((i * 7 % n) as usize, Counted::new(2 * n + i)));
            assert!(c <= 32, "insert cloned {c}");
        }
        for i in 0..40 {
            let c = clones_during(|| {
                assert!(list.remove_where(|x| x.0 == i * 13 % n).is_some());
            });
            // The chunk's other items plus, when merging, a neighbour, plus the one
            // handed back.
            assert!(c <= 2 * 32 + 1, "remove_where cloned {c}");
        }
        let c = clones_during(|| drop(list.iter().next()));
        assert_eq!(c, 1);
        let c = clones_during(|| assert!(list.snapshot().iter().count() > 0));
        assert_eq!(c, 0, "iterating a snapshot by reference clones nothing");
    }
    assert_eq!(
        LIVE.load(Ordering::SeqCst),
        0,
        "every item dropped exactly once"
    );
}

#[test]
fn readers_keep_their_version_alive_and_let_it_go() {
    let _serial = ACCOUNTING.lock().unwrap();
    {
        let list: CookieList<Counted> = (0..10).map(Counted::new).collect();
        let mut it = list.iter();
        let snap = list.snapshot();
        list.clear();
        // The iterator's and the snapshot's version still holds the ten items.
        assert_eq!(LIVE.load(Ordering::SeqCst), 10);
        assert_eq!(it.next(), Err(Resync));
        assert_eq!(snap.len(), 10);
        assert_eq!(snap.get(3).map(|c| c.0), Some(3));
        drop(snap);
        assert_eq!(LIVE.load(Ordering::SeqCst), 10);
        it.resync();
        assert_eq!(LIVE.load(Ordering::SeqCst), 0);
    }
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------
// Snapshots, by-value iteration, Send, misc.
// ---------------------------------------------------------------------------------

#[test]
fn iterating_the_list_yields_one_consistent_snapshot() {
    let list: CookieList<u32> = (0..100).collect();
    let mut seen = Vec::new();
    for x in &list {
        if x == 10 {
            list.clear(); // not seen: the snapshot is fixed
        }
        seen.push(x);
    }
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
    assert!(list.is_empty());
    let into = (&list).into_iter();
    assert_eq!(into.len(), 0);
}

#[test]
fn snapshot_reads() {
    let list: CookieList<u32> = (0..1000).collect();
    let snap = list.snapshot();
    assert_eq!(snap.cookie(), 0);
    assert_eq!(snap.len(), 1000);
    assert!(!snap.is_empty());
    for i in [0, 1, 31, 32, 33, 500, 999] {
        assert_eq!(snap.get(i), Some(&(i as u32)));
    }
    assert_eq!(snap.get(1000), None);
    let mut by_ref = snap.iter();
    assert_eq!(by_ref.len(), 1000);
    by_ref.nth(499);
    assert_eq!(by_ref.len(), 500);
    let by_value = snap.clone().into_iter();
    assert_eq!(by_value.cookie(), 0);
    assert_eq!(by_value.sum::<u32>(), 999 * 1000 / 2);
    assert_eq!((&snap).into_iter().copied().max(), Some(999));
    assert_eq!(
        format!("{:?}", CookieList::<u8>::new()),
        "CookieList { cookie: 0, items: [] }"
    );
    let small: CookieList<u8> = [1, 2].into_iter().collect();
    assert_eq!(
        format!("{small:?}"),
        "CookieList { cookie: 0, items: [1, 2] }"
    );
    assert_eq!(format!("{:?}", small.snapshot()), "[1, 2]");
    assert!(format!("{:?}", small.iter()).contains("cookie: 0"));
    assert_eq!(
        Resync.to_string(),
        "the list changed since the iterator was made or last resynced"
    );
}

#[test]
fn insert_places_items_and_panics_past_the_end() {
    let list: CookieList<u32> = CookieList::default();
    list.insert(0, 1);
    list.insert(0, 0);
    list.insert(2, 3);
    list.insert(2, 2);
    assert_eq!(list.snapshot().to_vec(), [0, 1, 2, 3]);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| list.insert(9, 9)));
    assert!(r.is_err());
    // The lock was released by the panic: the list is usable and unchanged.
    assert_eq!(list.cookie(), 4);
    list.push(4);
    assert_eq!(list.snapshot().to_vec(), [0, 1, 2, 3, 4]);
}

#[test]
fn an_iterator_can_move_to_another_thread() {
    let list: CookieList<Arc<String>> =
        ["a", "b"].iter().map(|s| Arc::new(s.to_string())).collect();
    let mut it = list.iter();
    assert_eq!(it.next().unwrap().unwrap().as_str(), "a");
    let rest = thread::scope(|s| s.spawn(move || drain(&mut it).unwrap()).join().unwrap());
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].as_str(), "b");
}

/// `foreach` through an adapter (the trait's own `foreach`, not `CookieIter`'s) calls
/// `f` on each item the adapter yields, and reports a change as `Resync`.
#[test]
fn foreach_through_a_filter_visits_the_kept_items() {
    let list: CookieList<u32> = (0..10).collect();
    let mut seen = Vec::new();
    assert_eq!(
        list.iter().filter(|x| x % 3 == 0).foreach(|x| seen.push(x)),
        Ok(())
    );
    assert_eq!(seen, [0, 3, 6, 9]);
    let mut it = list.iter().filter(|_| true);
    list.push(10);
    assert_eq!(it.foreach(|_| ()), Err(Resync));
}

/// A snapshot's by-value iterator knows how many items are left at every step.
#[test]
fn a_snapshot_iterator_counts_down_what_is_left() {
    for n in [0usize, 5, 40, 1000] {
        let list: CookieList<usize> = (0..n).collect();
        let mut it = list.snapshot().into_iter();
        for left in (0..=n).rev() {
            assert_eq!(it.size_hint(), (left, Some(left)), "n = {n}");
            assert_eq!(it.len(), left);
            if left > 0 {
                assert!(it.next().is_some());
            }
        }
        assert_eq!(it.next(), None);
    }
}
