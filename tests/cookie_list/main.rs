//! `CookieList` with std threads: GStreamer's `GstIterator` test cases, callbacks
//! that use the list, item accounting, and a stress test of writers against readers.
//!
//! One file per concern: the `GstIterator` cases here, then callbacks and item
//! accounting, progress (starving passes), panic safety, and the stress tests.

mod callbacks;
mod layout;
mod panics;
mod phases;
mod progress;
mod stress;

use std::ops::ControlFlow;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use mtsafe::{CookieIter, CookieList, Resync, ResyncIterator};

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

/// How many resyncs make a pass starving.
const K: u32 = CookieList::<u32>::STARVING_AFTER;

/// Runs `f` on another thread: a write made on the thread of a starving pass does
/// not wait for it, but gives that pass's protection up
/// (`a_write_inside_a_starving_pass_does_not_wait_for_that_pass`).
fn elsewhere<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    thread::scope(|s| s.spawn(f).join().unwrap())
}

/// Two passes over `list` (items 0..5 at their start) resync once, after a push of
/// 10; then `a` resyncs a second time, after a push of 11, and is the one starving
/// pass, while `b` is one resync from starving.
fn starve_first_of_two<'a>(
    list: &CookieList<u32>,
    a: &mut CookieIter<'a, u32>,
    b: &mut CookieIter<'a, u32>,
) {
    assert_eq!(K, 2, "the pushes below are K's");
    elsewhere(|| list.push(10));
    for it in [&mut *a, &mut *b] {
        assert_eq!(it.next(), Err(Resync));
        it.resync();
    }
    elsewhere(|| list.push(11));
    assert_eq!(a.next(), Err(Resync));
    a.resync();
    assert_eq!(list.starving_passes(), 1);
}

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
