//! `CookieList` with std threads: GStreamer's `GstIterator` test cases, callbacks
//! that use the list, item accounting, and a stress test of writers against readers.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use mtsafe::{CookieList, Resync, ResyncIterator};

/// Runs `f` on another thread and fails the test if it takes longer than `limit`
/// (a deadlock would otherwise hang the test run instead of failing it).
fn within<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("deadlocked (or took far too long)")
}

/// Under Miri everything runs a thousand times slower: a generous limit.
const LIMIT: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 20 });

/// Drains an iterator: the items, or (as `Err`) those seen before the first `Resync`.
fn drain<I: ResyncIterator>(it: &mut I) -> Result<Vec<I::Item>, Vec<I::Item>> {
    let mut out = Vec::new();
    loop {
        match it.next() {
            Ok(Some(x)) => out.push(x),
            Ok(None) => return Ok(out),
            Err(Resync) => return Err(out),
        }
    }
}

// ---------------------------------------------------------------------------------
// The GstIterator cases (gstreamer/tests/check/gst/gstiterator.c).
// ---------------------------------------------------------------------------------

#[test]
fn a_full_pass_yields_each_item_once_then_done() {
    let list: CookieList<u32> = (0..100).collect();
    let mut it = list.iter();
    let items = drain(&mut it).unwrap();
    assert_eq!(items, (0..100).collect::<Vec<_>>());
    // Done, and done again while nothing changes.
    assert_eq!(it.next(), Ok(None));
    assert_eq!(it.next(), Ok(None));
}

#[test]
fn a_change_mid_pass_gives_resync_and_after_resync_the_new_item_is_seen() {
    let list: CookieList<u32> = (0..10).collect();
    let mut it = list.iter();
    for expected in 0..5 {
        assert_eq!(it.next(), Ok(Some(expected)));
    }
    let before = format!("{it:?}");
    assert!(before.contains("position: 5"), "{before}");
    list.push(10);
    assert_eq!(it.next(), Err(Resync));
    // The state is left alone: the position did not move, and it keeps reporting
    // Resync, not items.
    assert_eq!(format!("{it:?}"), before);
    assert_eq!(it.next(), Err(Resync));
    it.resync();
    assert_eq!(it.cookie(), list.cookie());
    assert_eq!(drain(&mut it).unwrap(), (0..=10).collect::<Vec<_>>());
}

#[test]
fn every_kind_of_change_bumps_the_cookie_by_one() {
    let list: CookieList<u32> = CookieList::new();
    assert_eq!(list.cookie(), 0);
    list.push(1);
    assert_eq!(list.cookie(), 1);
    list.insert(0, 0);
    assert_eq!(list.cookie(), 2);
    assert_eq!(list.remove_where(|&x| x == 1), Some(1));
    assert_eq!(list.cookie(), 3);
    list.push(5);
    list.retain(|&x| x != 5);
    assert_eq!(list.cookie(), 5);
    list.clear();
    assert_eq!(list.cookie(), 6);
    // No change, no bump.
    assert_eq!(list.remove_where(|_| true), None);
    list.retain(|_| false);
    list.clear();
    assert_eq!(list.cookie(), 6);
    // And each change is seen by an iterator made before it.
    for change in 0..5 {
        let list: CookieList<u32> = (0..3).collect();
        let mut it = list.iter();
        match change {
            0 => list.push(9),
            1 => list.insert(1, 9),
            2 => assert_eq!(list.remove_where(|&x| x == 1), Some(1)),
            3 => list.retain(|&x| x != 2),
            _ => list.clear(),
        }
        assert_eq!(it.next(), Err(Resync), "change {change}");
    }
}

#[test]
fn fold_summing_0_to_9_gives_45() {
    let list: CookieList<u64> = (0..10).collect();
    let sum = list.iter().fold(0, |acc, x| ControlFlow::Continue(acc + x));
    assert_eq!(sum, Ok(45));
    // Break stops early and is returned as the answer.
    let mut seen = 0;
    let until_five = list.iter().fold(0, |acc, x| {
        seen += 1;
        if x == 5 {
            ControlFlow::Break(acc)
        } else {
            ControlFlow::Continue(acc + x)
        }
    });
    assert_eq!((until_five, seen), (Ok(10), 6));
}

#[test]
fn fold_and_foreach_report_resync_to_the_caller() {
    let list: CookieList<u64> = (0..10).collect();
    let mut it = list.iter();
    let folded = it.fold(0, |acc, x| {
        if x == 3 {
            list.push(100); // the body changes the list: no deadlock, a Resync
        }
        ControlFlow::Continue(acc + x)
    });
    assert_eq!(folded, Err(Resync));
    it.resync();
    assert_eq!(it.fold(0, |acc, x| ControlFlow::Continue(acc + x)), Ok(145));

    let mut seen = Vec::new();
    let mut it = list.iter();
    let r = it.foreach(|x| {
        seen.push(x);
        if x == 1 {
            list.insert(0, 7);
        }
    });
    assert_eq!((r, seen.as_slice()), (Err(Resync), &[0, 1][..]));
    seen.clear();
    it.resync();
    assert_eq!(it.foreach(|x| seen.push(x)), Ok(()));
    assert_eq!(seen.len(), 12);
    assert_eq!(seen[0], 7);
}

#[test]
fn filter_keeps_the_even_items() {
    let list: CookieList<u32> = (0..10).collect();
    let mut evens = list.iter().filter(|x| x % 2 == 0);
    assert_eq!(drain(&mut evens).unwrap(), [0, 2, 4, 6, 8]);
    assert_eq!(evens.next(), Ok(None));
    // Same contract as the iterator it filters.
    list.push(10);
    assert_eq!(evens.next(), Err(Resync));
    evens.resync();
    assert_eq!(drain(&mut evens).unwrap(), [0, 2, 4, 6, 8, 10]);
}

#[test]
fn filter_of_a_filter() {
    let list: CookieList<u32> = (0..30).collect();
    let mut it = list.iter().filter(|x| x % 2 == 0).filter(|x| x % 3 == 0);
    assert_eq!(drain(&mut it).unwrap(), [0, 6, 12, 18, 24]);
    assert_eq!(
        it.fold(0, |a, x| ControlFlow::Continue(a + x)),
        Ok(0),
        "at the end"
    );
    list.push(30);
    assert_eq!(it.next(), Err(Resync));
    it.resync();
    assert_eq!(it.fold(0, |a, x| ControlFlow::Continue(a + x)), Ok(90));
    // A predicate that drops every item: Done, not an endless loop.
    let mut none = list.iter().filter(|_| false).filter(|_| true);
    assert_eq!(none.next(), Ok(None));
}

#[test]
fn find_succeeds_across_a_concurrent_change() {
    let list = Arc::new(CookieList::<u32>::new());
    for x in 0..50 {
        list.push(x);
    }
    let asked = Arc::new(Mutex::new(Vec::new()));
    let found = within(LIMIT, {
        let list = Arc::clone(&list);
        let asked = Arc::clone(&asked);
        move || {
            let mut changed = false;
            list.iter().find(|&x| {
                asked.lock().unwrap().push(x);
                if x == 10 && !changed {
                    changed = true;
                    // Another thread changes the list while the search is on.
                    let writer = Arc::clone(&list);
                    thread::spawn(move || writer.push(1000)).join().unwrap();
                }
                x == 1000
            })
        }
    });
    // Only the version after the change has 1000: find resynced by itself.
    assert_eq!(found, Some(1000));
    let asked = asked.lock().unwrap();
    // The predicate saw items 0..=10 twice (before and after the resync).
    assert_eq!(asked.iter().filter(|&&x| x == 10).count(), 2);
    assert_eq!(asked.len(), 11 + 51);
}

#[test]
fn find_returns_none_when_nothing_matches() {
    let list: CookieList<u32> = (0..10).collect();
    assert_eq!(list.iter().find(|&x| x > 100), None);
    assert_eq!(list.iter().find(|&x| x > 7), Some(8));
}

#[test]
fn done_turns_into_resync_after_a_later_change() {
    let list: CookieList<u32> = (0..3).collect();
    let mut it = list.iter();
    assert_eq!(drain(&mut it).unwrap(), [0, 1, 2]);
    assert_eq!(it.next(), Ok(None));
    list.clear();
    assert_eq!(it.next(), Err(Resync), "Done is not sticky");
    it.resync();
    assert_eq!(it.next(), Ok(None));
}

#[test]
fn a_cloned_iterator_keeps_its_position_and_cookie() {
    let list: CookieList<u32> = (0..4).collect();
    let mut a = list.iter();
    assert_eq!(a.next(), Ok(Some(0)));
    let mut b = a.clone();
    assert_eq!(drain(&mut a).unwrap(), [1, 2, 3]);
    assert_eq!(drain(&mut b).unwrap(), [1, 2, 3]);
}

// ---------------------------------------------------------------------------------
// Callbacks run with no lock held.
// ---------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------
// Progress: a starving pass finishes; writers wait for it, bounded.
// ---------------------------------------------------------------------------------

const K: u32 = CookieList::<u32>::STARVING_AFTER;

/// Runs `f` on another thread: a write made on the thread of a starving pass does
/// not wait for it (`a_write_inside_a_starving_pass_does_not_wait_for_that_pass`).
fn elsewhere<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    thread::scope(|s| s.spawn(f).join().unwrap())
}

/// Makes `it`'s pass starving: `K` changes, each reported and resynced.
fn starve(list: &CookieList<u32>, it: &mut mtsafe::CookieIter<'_, u32>) {
    for i in 0..K {
        assert_eq!(list.starving_passes(), 0, "registered before resync {i}");
        elsewhere(|| list.push(1000 + i));
        assert_eq!(it.next(), Err(Resync));
        it.resync();
    }
    assert_eq!(list.starving_passes(), 1, "registered at resync {K}");
}

#[test]
fn a_starving_pass_finishes_while_a_writer_waits_for_it() {
    let n = if cfg!(miri) { 50 } else { 2000 };
    // A pass that the OS deschedules stops stepping too: a limit no scheduler
    // reaches, so that only a writer that ignores the pass can make it resync.
    let list: Arc<CookieList<u32>> = Arc::new(
        (0..n)
            .collect::<CookieList<u32>>()
            .with_stall_limit(Duration::from_secs(3600)),
    );
    let mut it = list.iter();
    starve(&list, &mut it);
    let (about_to_push, go) = mpsc::channel();
    let pushed = Arc::new(AtomicBool::new(false));
    let writer = {
        let (list, pushed) = (Arc::clone(&list), Arc::clone(&pushed));
        thread::spawn(move || {
            about_to_push.send(()).unwrap();
            list.push(u32::MAX);
            pushed.store(true, Ordering::SeqCst);
        })
    };
    go.recv().unwrap();
    // The writer is pushing (or about to): the pass still sees one version to the
    // end. Each step yields, so an unblocked writer would get in long before.
    let mut seen = 0;
    loop {
        match it.next() {
            Ok(Some(_)) => {
                seen += 1;
                assert!(!pushed.load(Ordering::SeqCst), "the write landed mid-pass");
                thread::yield_now();
            }
            Ok(None) => break,
            Err(Resync) => panic!("a starving pass resynced after {seen} items"),
        }
    }
    assert_eq!(seen, n as usize + K as usize);
    // Done: the pass left the gate, and the writer goes on.
    assert_eq!(list.starving_passes(), 0);
    within(LIMIT, move || writer.join().unwrap());
    assert_eq!(it.next(), Err(Resync));
    assert_eq!(list.snapshot().to_vec().last(), Some(&u32::MAX));
}

/// A pass slower than the stall limit, that steps more often than the limit, keeps
/// its protection: the writer behind it watches its steps, not the clock alone.
#[test]
#[cfg_attr(miri, ignore)] // sleeps
fn a_starving_pass_that_keeps_stepping_is_not_evicted() {
    let limit = Duration::from_millis(200);
    let list: Arc<CookieList<u32>> = Arc::new(
        (0..150)
            .collect::<CookieList<u32>>()
            .with_stall_limit(limit),
    );
    let mut it = list.iter();
    starve(&list, &mut it);
    let writer = {
        let list = Arc::clone(&list);
        thread::spawn(move || list.push(u32::MAX))
    };
    let mut seen = 0;
    loop {
        match it.next() {
            Ok(Some(_)) => {
                seen += 1;
                // 152 steps of 2 ms: the pass lasts longer than the limit.
                thread::sleep(Duration::from_millis(2));
            }
            Ok(None) => break,
            Err(Resync) => panic!("a stepping pass was evicted after {seen} items"),
        }
    }
    assert_eq!(seen, 150 + K as usize);
    within(LIMIT, move || writer.join().unwrap());
}

/// Fairness both ways: a pass that registers while a writer waits (for an earlier
/// pass) lets that writer publish first, and the writer does not wait for it. So
/// the later pass walks the version with the writer's change.
#[test]
fn a_pass_that_registers_behind_a_waiting_writer_lets_it_publish_first() {
    let list: Arc<CookieList<u32>> = Arc::new(
        (0..5)
            .collect::<CookieList<u32>>()
            .with_stall_limit(Duration::from_secs(3600)),
    );
    let mut a = list.iter();
    let mut b = list.iter();
    // Both resync once; then `a` resyncs a second time and registers.
    elsewhere(|| list.push(10));
    for it in [&mut a, &mut b] {
        assert_eq!(it.next(), Err(Resync));
        it.resync();
    }
    elsewhere(|| list.push(11));
    assert_eq!(a.next(), Err(Resync));
    a.resync();
    assert_eq!(list.starving_passes(), 1);
    let b_done = AtomicBool::new(false);
    thread::scope(|s| {
        let writer = s.spawn(|| list.push(12));
        while list.waiting_writers() == 0 {
            thread::yield_now();
        }
        // `b` registers behind the waiting writer: it waits in `resync`.
        let second = s.spawn(|| {
            assert_eq!(b.next(), Err(Resync));
            b.resync();
            let items = drain(&mut b).expect("a starving pass resynced");
            b_done.store(true, Ordering::SeqCst);
            items
        });
        while list.starving_passes() < 2 && !b_done.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        // `a`'s pass, which the writer waits for, sees neither the write nor `b`.
        assert_eq!(drain(&mut a).unwrap(), [0, 1, 2, 3, 4, 10, 11]);
        writer.join().unwrap();
        assert_eq!(second.join().unwrap(), [0, 1, 2, 3, 4, 10, 11, 12]);
    });
    assert_eq!((list.starving_passes(), list.waiting_writers()), (0, 0));
}

#[test]
fn try_writes_refuse_instead_of_waiting() {
    let list: CookieList<u32> = (0..10).collect();
    let mut it = list.iter();
    starve(&list, &mut it);
    let cookie = list.cookie();
    elsewhere(|| {
        assert_eq!(list.try_push(7), Err(mtsafe::WouldWait(7)));
        assert_eq!(list.try_insert(0, 8).map_err(|e| e.into_inner()), Err(8));
        assert_eq!(
            list.try_remove_where(|&x| x == 3),
            Err(mtsafe::WouldWait(()))
        );
        assert!(list.try_retain(|&x| x != 3).is_err());
        assert!(list.try_clear().is_err());
        assert_eq!(list.cookie(), cookie, "a refused write changes nothing");
        // No change to make: no wait, no refusal.
        assert_eq!(list.try_remove_where(|&x| x == 99), Ok(None));
        assert_eq!(list.try_retain(|_| true), Ok(()));
    });
    assert_eq!(list.starving_passes(), 1);
    assert_eq!(
        mtsafe::WouldWait(()).to_string(),
        "the write would wait for a starving pass"
    );
    // The pass ends: writes go through at once.
    while it.next().unwrap().is_some() {}
    assert_eq!(list.starving_passes(), 0);
    assert_eq!(list.try_push(7), Ok(()));
    assert_eq!(list.try_remove_where(|&x| x == 7), Ok(Some(7)));
}

#[test]
fn a_starving_pass_dropped_mid_pass_or_by_a_panic_releases_the_writers() {
    let list: CookieList<u32> = (0..10).collect();
    // Dropped mid-pass.
    let mut it = list.iter();
    starve(&list, &mut it);
    assert_eq!(it.next(), Ok(Some(0)));
    assert!(elsewhere(|| list.try_push(10)).is_err());
    drop(it);
    assert_eq!(list.starving_passes(), 0);
    assert_eq!(elsewhere(|| list.try_push(10)), Ok(()));
    // A callback that panics mid-pass, in each of the ways a pass is walked.
    for walk in 0..4 {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut it = list.iter();
            starve(&list, &mut it);
            let boom = |x: u32| {
                if x == 3 {
                    panic!("a callback panicked");
                }
            };
            match walk {
                0 => drop(it.foreach(boom)),
                1 => drop(it.fold((), |(), x| {
                    boom(x);
                    ControlFlow::Continue(())
                })),
                2 => drop(it.find(|&x| {
                    boom(x);
                    false
                })),
                _ => {
                    let mut filtered = it.filter(|&x| {
                        boom(x);
                        true
                    });
                    while filtered.next().unwrap().is_some() {}
                }
            }
        }));
        assert!(r.is_err(), "walk {walk}");
        assert_eq!(list.starving_passes(), 0, "walk {walk}");
        assert_eq!(
            elsewhere(|| list.try_push(20 + walk)),
            Ok(()),
            "walk {walk}"
        );
    }
}

#[test]
fn a_stalled_starving_pass_holds_writers_back_only_for_a_while() {
    let list: Arc<CookieList<u32>> = Arc::new((0..10).collect());
    let (registered, stalled) = mpsc::channel();
    let (wake, parked) = mpsc::channel::<()>();
    let reader = {
        let list = Arc::clone(&list);
        thread::spawn(move || {
            let mut it = list.iter();
            starve(&list, &mut it);
            assert_eq!(it.next(), Ok(Some(0)));
            registered.send(()).unwrap();
            // Stalled in its own work: no step until woken.
            parked.recv().unwrap();
            // Writers went past it: this pass resyncs again, registers again and
            // finishes.
            assert_eq!(it.next(), Err(Resync));
            it.resync();
            assert_eq!(list.starving_passes(), 1);
            let mut seen = 0;
            while it.next().unwrap().is_some() {
                seen += 1;
            }
            seen
        })
    };
    stalled.recv().unwrap();
    assert_eq!(list.starving_passes(), 1);
    // Waits for the stalled pass at most the stall limit, then publishes; the next
    // writes do not wait for it again.
    within(LIMIT, {
        let list = Arc::clone(&list);
        move || {
            list.push(100);
            list.push(101);
            assert_eq!(list.starving_passes(), 0, "the stalled pass was evicted");
            assert_eq!(list.try_push(102), Ok(()));
            assert_eq!(list.starving_passes(), 0);
        }
    });
    wake.send(()).unwrap();
    assert_eq!(reader.join().unwrap(), 10 + K as usize + 3);
    assert_eq!(list.starving_passes(), 0);
}

#[test]
fn a_write_inside_a_starving_pass_does_not_wait_for_that_pass() {
    let list: CookieList<u32> = (0..10).collect();
    within(LIMIT, move || {
        let mut it = list.iter();
        starve(&list, &mut it);
        assert!(elsewhere(|| list.try_push(50)).is_err(), "protected");
        // The pass's own body writes: it gives up its protection instead of making
        // the write wait for it (a try_ write, which never waits, shows it).
        let r = it.foreach(|x| {
            if x == 2 {
                assert_eq!(list.try_push(50), Ok(()));
            }
        });
        assert_eq!(r, Err(Resync));
        assert_eq!(list.starving_passes(), 0);
        it.resync();
        assert_eq!(list.starving_passes(), 1, "registered again");
        assert_eq!(it.foreach(drop), Ok(()));
        assert_eq!(list.starving_passes(), 0);
    });
}

#[test]
fn fold_and_next_agree_and_keep_the_position() {
    let list: CookieList<u32> = (0..100).collect();
    let mut it = list.iter();
    // Break stops after the item it broke on; the rest follows by `next`.
    assert_eq!(
        it.fold(0, |acc, x| if x == 40 {
            ControlFlow::Break(acc)
        } else {
            ControlFlow::Continue(acc + x)
        }),
        Ok((0..40).sum())
    );
    assert_eq!(it.next(), Ok(Some(41)));
    // A change mid-fold: Resync, with the position at the item not yielded.
    let r = it.fold(0, |acc, x| {
        if x == 60 {
            list.push(100);
        }
        ControlFlow::Continue(acc + x)
    });
    assert_eq!(r, Err(Resync));
    assert!(format!("{it:?}").contains("position: 61"), "{it:?}");
    it.resync();
    assert_eq!(
        it.fold(0, |acc, x| ControlFlow::Continue(acc + x)),
        Ok((0..=100).sum())
    );
    assert_eq!(
        it.fold(1, |acc, x| ControlFlow::Continue(acc + x)),
        Ok(1),
        "at the end"
    );
    list.clear();
    assert_eq!(
        it.fold(0, |acc, _| ControlFlow::Continue(acc)),
        Err(Resync),
        "Done is not sticky"
    );
}

// ---------------------------------------------------------------------------------
// Panic safety: item code that panics during a write.
// ---------------------------------------------------------------------------------

static BOMB_LIVE: AtomicUsize = AtomicUsize::new(0);
/// Panic in the next clone.
static BOMB_CLONE: AtomicBool = AtomicBool::new(false);
/// Panic in the next drop of the item with this id (0: none).
static BOMB_DROP: AtomicUsize = AtomicUsize::new(0);
static BOMBS: Mutex<()> = Mutex::new(());

#[derive(Debug, PartialEq)]
struct Bomb(usize);

impl Bomb {
    fn new(id: usize) -> Self {
        BOMB_LIVE.fetch_add(1, Ordering::SeqCst);
        Self(id)
    }
}

impl Clone for Bomb {
    fn clone(&self) -> Self {
        if BOMB_CLONE.swap(false, Ordering::SeqCst) {
            panic!("clone of {}", self.0);
        }
        Self::new(self.0)
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        let live = BOMB_LIVE.fetch_sub(1, Ordering::SeqCst);
        assert!(live > 0, "a double drop");
        if BOMB_DROP
            .compare_exchange(self.0, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            panic!("drop of {}", self.0);
        }
    }
}

fn bombs(n: usize) -> CookieList<Bomb> {
    (1..=n).map(Bomb::new).collect()
}

fn ids_of(list: &CookieList<Bomb>) -> Vec<usize> {
    list.snapshot().iter().map(|b| b.0).collect()
}

fn panics(f: impl FnOnce()) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
}

#[test]
fn remove_where_does_not_leak_when_the_removed_item_panics_in_drop() {
    let _serial = BOMBS.lock().unwrap_or_else(|p| p.into_inner());
    for n in [5, 40, 1000] {
        {
            let list = bombs(n);
            BOMB_DROP.store(2, Ordering::SeqCst);
            assert!(panics(|| drop(list.remove_where(|b| b.0 == 2))));
            // The removal happened; every item is either in the list or dropped.
            assert!(!ids_of(&list).contains(&2));
            assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), n - 1, "n = {n}");
        }
        assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0, "n = {n}: a leak");
    }
}

#[test]
fn a_panicking_clone_during_a_write_changes_nothing() {
    let _serial = BOMBS.lock().unwrap_or_else(|p| p.into_inner());
    {
        let list = bombs(40);
        let before = (list.cookie(), ids_of(&list));
        // Each write clones the items of the chunk it changes.
        type Write = fn(&CookieList<Bomb>);
        let writes: [Write; 4] = [
            |l| l.push(Bomb::new(100)),
            |l| l.insert(3, Bomb::new(101)),
            |l| drop(l.remove_where(|b| b.0 == 5)),
            |l| l.retain(|b| b.0 != 6),
        ];
        for (i, write) in writes.iter().enumerate() {
            BOMB_CLONE.store(true, Ordering::SeqCst);
            assert!(panics(|| write(&list)), "write {i}");
            assert_eq!((list.cookie(), ids_of(&list)), before, "write {i}");
            assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 40, "write {i}");
        }
        // Usable: the lock was released and no pass is held.
        list.push(Bomb::new(41));
        assert_eq!(list.len(), 41);
    }
    assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn a_panicking_predicate_changes_nothing() {
    let _serial = BOMBS.lock().unwrap_or_else(|p| p.into_inner());
    {
        let list = bombs(100);
        let before = (list.cookie(), ids_of(&list));
        assert!(panics(|| drop(
            list.remove_where(|b| b.0 == 50 || panic!("pred"))
        )));
        assert!(panics(|| list.retain(|b| b.0 != 70 || panic!("pred"))));
        assert_eq!((list.cookie(), ids_of(&list)), before);
        assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 100);
        assert_eq!(list.remove_where(|b| b.0 == 50).map(|b| b.0), Some(50));
    }
    assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn a_panicking_drop_of_removed_items_leaves_the_list_consistent() {
    let _serial = BOMBS.lock().unwrap_or_else(|p| p.into_inner());
    {
        let list = bombs(100);
        BOMB_DROP.store(10, Ordering::SeqCst);
        assert!(panics(|| list.retain(|b| b.0 % 10 != 0)));
        assert_eq!(
            ids_of(&list),
            (1..=100).filter(|x| x % 10 != 0).collect::<Vec<_>>()
        );
        assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 90);
        BOMB_DROP.store(1, Ordering::SeqCst);
        assert!(panics(|| list.clear()));
        assert!(list.is_empty());
        assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0);
        list.push(Bomb::new(1));
        assert_eq!(ids_of(&list), [1]);
    }
    assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------
// Stress: writers insert and remove while readers iterate.
// ---------------------------------------------------------------------------------

/// xorshift64*: the tests need cheap, reproducible randomness and nothing more.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(usize, u64),
    Remove(u64),
    RetainNotMultipleOf(u64),
}

/// The changes, each with the cookie it got, and the writers' replica of the contents.
type Log = (Vec<(u64, Op)>, Vec<u64>);

#[derive(Debug)]
struct Pass {
    /// The cookie the pass started at (the iterator's, after its resync).
    start: u64,
    /// The list's cookie loaded after the pass's last step.
    end: u64,
    items: Vec<u64>,
    clean: bool,
}

#[cfg(not(miri))]
const STRESS: (usize, usize, usize) = (3000, 400, 200); // writes per writer, passes per reader, start len
#[cfg(miri)]
const STRESS: (usize, usize, usize) = (12, 6, 20);

/// Two writers insert, remove and retain (each change logged with the cookie it got,
/// under a log lock that also keeps their replica of the contents); two readers do
/// passes, resyncing when told. Afterwards the log is replayed, version by version:
/// - every cookie from 1 to the last was given to exactly one change;
/// - every item a pass yielded was a member of the list at some version between the
///   pass's start and its end;
/// - a pass that ended `Ok(None)` without `Resync` yielded exactly the members of the
///   version it started at, in order;
/// - snapshots taken during the run are exactly their version.
// Under Miri the sync shim's mutex is std's (parking_lot's parking is not
// strict-provenance clean), so this runs in the strict pass too.
#[test]
fn stress_writers_against_readers() {
    let (writes, passes, start_len) = STRESS;
    let list: Arc<CookieList<u64>> = Arc::new((0..start_len as u64).collect());
    // The log: the changes by cookie, and the contents (the writers' replica).
    let log: Arc<Mutex<Log>> = Arc::new(Mutex::new((Vec::new(), (0..start_len as u64).collect())));
    let next_id = Arc::new(AtomicUsize::new(start_len));
    let stop = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Barrier::new(4));

    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (list, log, next_id, go) = (list.clone(), log.clone(), next_id.clone(), go.clone());
            thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (w + 1));
                go.wait();
                for _ in 0..writes {
                    let mut log = log.lock().unwrap();
                    let (changes, contents) = &mut *log;
                    let before = list.cookie();
                    let roll = rng.below(100);
                    let op = if roll < 2 {
                        let m = 5 + rng.below(5) as u64;
                        list.retain(|x| x % m != 0);
                        contents.retain(|x| x % m != 0);
                        Op::RetainNotMultipleOf(m)
                    } else if roll < 50 || contents.len() < 10 {
                        let id = next_id.fetch_add(1, Ordering::Relaxed) as u64;
                        let at = rng.below(contents.len() + 1);
                        list.insert(at, id);
                        contents.insert(at, id);
                        Op::Insert(at, id)
                    } else {
                        let id = contents.remove(rng.below(contents.len()));
                        assert_eq!(list.remove_where(|&x| x == id), Some(id));
                        Op::Remove(id)
                    };
                    // Under the log lock no other write can come between.
                    let cookie = list.cookie();
                    if cookie == before {
                        assert!(
                            matches!(op, Op::RetainNotMultipleOf(_)),
                            "a change without a bump"
                        );
                        continue;
                    }
                    assert_eq!(cookie, before + 1);
                    changes.push((cookie, op));
                }
            })
        })
        .collect();

    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (list, stop, go) = (list.clone(), stop.clone(), go.clone());
            thread::spawn(move || {
                go.wait();
                let mut out = Vec::new();
                let mut snapshots = Vec::new();
                let mut it = list.iter();
                for p in 0.. {
                    if p >= passes && stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if p % 16 == r {
                        let s = list.snapshot();
                        snapshots.push((s.cookie(), s.to_vec()));
                    }
                    it.resync();
                    let start = it.cookie();
                    let mut items = Vec::new();
                    let clean = loop {
                        match it.next() {
                            Ok(Some(x)) => items.push(x),
                            Ok(None) => break true,
                            Err(Resync) => break false,
                        }
                    };
                    out.push(Pass {
                        start,
                        end: list.cookie(),
                        items,
                        clean,
                    });
                }
                (out, snapshots)
            })
        })
        .collect();

    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let mut all_passes = Vec::new();
    let mut all_snapshots = Vec::new();
    for r in readers {
        let (p, s) = r.join().unwrap();
        all_passes.extend(p);
        all_snapshots.extend(s);
    }

    // Replay: the contents of every version, and each item's membership interval
    // [inserted at, removed at).
    let (mut changes, final_contents) = Arc::try_unwrap(log).unwrap().into_inner().unwrap();
    changes.sort_by_key(|(c, _)| *c);
    let cookies: Vec<u64> = changes.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        cookies,
        (1..=changes.len() as u64).collect::<Vec<_>>(),
        "one cookie per change"
    );
    assert!(changes.len() > writes);
    let mut versions: Vec<Vec<u64>> = vec![(0..start_len as u64).collect()];
    let mut interval: HashMap<u64, (u64, u64)> =
        (0..start_len as u64).map(|x| (x, (0, u64::MAX))).collect();
    for (cookie, op) in &changes {
        let mut next = versions.last().unwrap().clone();
        match *op {
            Op::Insert(at, id) => {
                next.insert(at, id);
                interval.insert(id, (*cookie, u64::MAX));
            }
            Op::Remove(id) => {
                next.retain(|&x| x != id);
                interval.get_mut(&id).unwrap().1 = *cookie;
            }
            Op::RetainNotMultipleOf(m) => {
                for &x in next.iter().filter(|&&x| x % m == 0) {
                    interval.get_mut(&x).unwrap().1 = *cookie;
                }
                next.retain(|x| x % m != 0);
            }
        }
        versions.push(next);
    }
    assert_eq!(versions.last().unwrap(), &final_contents);
    assert_eq!(list.snapshot().to_vec(), final_contents);

    let mut clean = 0;
    for pass in &all_passes {
        assert!(pass.start <= pass.end);
        for x in &pass.items {
            let (inserted, removed) = interval[x];
            assert!(
                inserted <= pass.end && removed > pass.start,
                "{x} was not a member during the pass {}..={}",
                pass.start,
                pass.end
            );
        }
        if pass.clean {
            clean += 1;
            assert_eq!(
                pass.items, versions[pass.start as usize],
                "a clean pass is one version"
            );
        } else {
            assert!(pass.end > pass.start, "Resync without a change");
            let prefix = &versions[pass.start as usize][..pass.items.len()];
            assert_eq!(pass.items, prefix);
        }
    }
    for (cookie, items) in &all_snapshots {
        assert_eq!(items, &versions[*cookie as usize]);
    }
    eprintln!(
        "stress: {} changes, {} passes ({clean} clean), {} snapshots",
        changes.len(),
        all_passes.len(),
        all_snapshots.len()
    );
    assert!(clean > 0, "no pass completed");
    assert!(all_passes.len() >= 2 * passes);
}

/// Two writers with no log between them, racing each other's `remove_where` and
/// `insert`: every removal returns the item it asked for, nothing is lost or
/// duplicated, and readers' clean passes never see an item twice.
#[test]
fn stress_free_running_writers() {
    let (writes, _, _) = STRESS;
    let list = Arc::new(CookieList::<u64>::new());
    let removed_total = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (list, removed_total) = (list.clone(), removed_total.clone());
            thread::spawn(move || {
                let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (w + 1));
                let mut mine = Vec::new();
                for i in 0..writes as u64 {
                    let id = w << 32 | i;
                    if rng.below(3) == 0 && !mine.is_empty() {
                        let gone = mine.swap_remove(rng.below(mine.len()));
                        assert_eq!(list.remove_where(|&x| x == gone), Some(gone));
                        removed_total.fetch_add(1, Ordering::Relaxed);
                    }
                    // Only this writer removes its own ids, so the list holds at least
                    // `mine.len()` items: a valid index whatever the other writer does,
                    // though it shifts positions under both calls.
                    list.insert(rng.below(mine.len() + 1), id);
                    mine.push(id);
                }
                mine
            })
        })
        .collect();
    let reader = {
        let (list, stop) = (list.clone(), stop.clone());
        thread::spawn(move || {
            let mut it = list.iter();
            let mut clean = 0;
            while !stop.load(Ordering::Relaxed) {
                it.resync();
                if let Ok(items) = drain(&mut it) {
                    let mut sorted = items.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    assert_eq!(
                        sorted.len(),
                        items.len(),
                        "an item seen twice in one version"
                    );
                    clean += 1;
                }
            }
            clean
        })
    };
    let mut expected: Vec<u64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    let mut actual = list.snapshot().to_vec();
    expected.sort_unstable();
    actual.sort_unstable();
    assert_eq!(actual, expected);
    assert_eq!(
        list.cookie() as usize,
        2 * writes + removed_total.load(Ordering::Relaxed)
    );
}

/// Two unpaced writers (each adds an item, then removes it by value) against two
/// readers making full passes, one with `next`, one with `foreach`: without the
/// starving-pass gate a pass over 2000 items is longer than a write and almost
/// never finishes. Every pass finishes (none needs more than `ABANDON` resyncs;
/// `STARVING_AFTER` is the bound while no pass stalls for the stall limit, and a
/// descheduled reader stalls), and every writer finishes its changes.
#[test]
fn stress_starving_passes_finish_and_writers_finish() {
    const ABANDON: u32 = 100;
    let (len, writes, min_passes) = if cfg!(miri) {
        (40, 30, 3)
    } else {
        (1000, 2000, 50)
    };
    let list: Arc<CookieList<u64>> = Arc::new((0..len).collect());
    let writing = Arc::new(AtomicUsize::new(2));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (list, writing) = (Arc::clone(&list), Arc::clone(&writing));
            thread::spawn(move || {
                for i in 0..writes {
                    let id = (w + 1) << 32 | i;
                    list.push(id);
                    assert_eq!(list.remove_where(|&x| x == id), Some(id));
                }
                writing.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (list, writing) = (Arc::clone(&list), Arc::clone(&writing));
            thread::spawn(move || {
                let (mut passes, mut abandoned, mut most) = (0u32, 0u32, 0u32);
                while writing.load(Ordering::SeqCst) > 0 || passes < min_passes {
                    let mut it = list.iter();
                    let mut resyncs = 0;
                    let finished = loop {
                        let mut sum = 0u64;
                        let step = if r == 0 {
                            loop {
                                match it.next() {
                                    Ok(Some(x)) => sum = sum.wrapping_add(x),
                                    Ok(None) => break Ok(()),
                                    Err(Resync) => break Err(Resync),
                                }
                            }
                        } else {
                            it.foreach(|x| sum = sum.wrapping_add(x))
                        };
                        std::hint::black_box(sum);
                        match step {
                            Ok(()) => break true,
                            Err(Resync) if resyncs == ABANDON => break false,
                            Err(Resync) => {
                                resyncs += 1;
                                it.resync();
                            }
                        }
                    };
                    most = most.max(resyncs);
                    if finished {
                        passes += 1;
                    } else {
                        abandoned += 1;
                    }
                }
                (passes, abandoned, most)
            })
        })
        .collect();
    for w in writers {
        within(LIMIT, move || w.join().unwrap());
    }
    for r in readers {
        let (passes, abandoned, most) = r.join().unwrap();
        eprintln!("reader: {passes} passes, {abandoned} abandoned, at most {most} resyncs");
        assert_eq!(abandoned, 0, "a pass did not finish");
        assert!(passes >= min_passes);
    }
    assert_eq!(list.snapshot().to_vec(), (0..len).collect::<Vec<_>>());
    assert_eq!(list.starving_passes(), 0);
}
