//! The cookie list's answers, checked in the unit test binary first, each test's
//! whole body under [`finishes`]: a pass that never ends, a writer that never gets
//! its turn or a retry that never settles fails here at once, where in the
//! integration tests it would hang their binary. Walks over one chunk and many,
//! resyncs, the progress gate seen through the public API (refused `try_` writes, a
//! writer waiting for a starving pass and going on when it ends, is dropped, stalls
//! or writes itself), and `remove_where`/`retain` retried after a write in between.

use std::ops::ControlFlow;
use std::thread;
use std::time::Duration;

use super::finishes;
use crate::{CookieIter, CookieList, Resync, ResyncIterator, WouldWait};

/// How many resyncs make a pass starving.
const K: u32 = CookieList::<u32>::STARVING_AFTER;

/// A stall limit no test reaches: the writer waits for the pass, however slow the
/// machine (the eviction test sets its own).
const NEVER: Duration = Duration::from_secs(3600);

/// List sizes walked: empty, one item, around the first chunk's capacity (32), and
/// several chunks (fewer under Miri, which runs a thousand times slower).
const SIZES: &[u32] = if cfg!(miri) {
    &[0, 1, 33, 100]
} else {
    &[0, 1, 5, 31, 32, 33, 100, 300]
};

/// Runs `f` on another thread: a write on the thread of a starving pass would give
/// that pass's protection up instead of waiting for it.
fn elsewhere<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    thread::scope(|s| s.spawn(f).join().unwrap())
}

/// Makes `it` (a pass over `list`) starving: `K` pushes from another thread, each
/// seen as a `Resync` and resynced. Pushes `100`, `101`, ...
fn starve(list: &CookieList<u32>, it: &mut CookieIter<'_, u32>) {
    for k in 0..K {
        assert_eq!(list.starving_passes(), 0);
        elsewhere(|| list.push(100 + k));
        assert_eq!(it.next(), Err(Resync));
        it.resync();
    }
    assert_eq!(list.starving_passes(), 1);
}

/// A new pass over `list`, made starving ([`starve`]).
fn starving_pass(list: &CookieList<u32>) -> CookieIter<'_, u32> {
    let mut it = list.iter();
    starve(list, &mut it);
    it
}

/// Drains a pass with `next`: the items, or (as `Err`) those before the `Resync`.
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

/// A list of `0..n` made by pushes one at a time (many chunks once `n` passes a
/// chunk's capacity), with an insert at the front and one in the middle.
fn pushed(n: u32) -> (CookieList<u32>, Vec<u32>) {
    let list = CookieList::new();
    let mut want: Vec<u32> = (0..n).collect();
    for x in 0..n {
        list.push(x);
    }
    list.insert(0, 1000);
    want.insert(0, 1000);
    let mid = want.len() / 2;
    list.insert(mid, 2000);
    want.insert(mid, 2000);
    (list, want)
}

#[test]
fn every_walk_sees_every_item_once_in_order() {
    finishes("walks", || {
        for &n in SIZES {
            let collected: CookieList<u32> = (0..n).collect();
            let want: Vec<u32> = (0..n).collect();
            let (pushed, pushed_want) = pushed(n);
            for (list, want) in [(&collected, &want), (&pushed, &pushed_want)] {
                let mut it = list.iter();
                assert_eq!(drain(&mut it).as_ref(), Ok(want), "next, n = {n}");
                assert_eq!(it.next(), Ok(None), "done stays done");
                let sum: u64 = want.iter().map(|&x| u64::from(x)).sum();
                let folded = list
                    .iter()
                    .fold(0u64, |acc, x| ControlFlow::Continue(acc + u64::from(x)));
                assert_eq!(folded, Ok(sum), "fold, n = {n}");
                let mut seen = Vec::new();
                assert_eq!(list.iter().foreach(|x| seen.push(x)), Ok(()));
                assert_eq!(&seen, want, "foreach, n = {n}");
                // A fold that breaks early stops at that item.
                let third = list.iter().fold(0, |i, x| {
                    if i == 2 {
                        ControlFlow::Break(x)
                    } else {
                        ControlFlow::Continue(i + 1)
                    }
                });
                // (Or, with fewer than three, the count it went on to.)
                assert_eq!(third, Ok(want.get(2).copied().unwrap_or(want.len() as u32)));
                let last = want.last().copied();
                assert_eq!(list.iter().find(|&x| Some(x) == last), last);
                assert_eq!(list.iter().find(|&x| x == 9999), None);
                let evens: Vec<u32> = want.iter().copied().filter(|x| x % 2 == 0).collect();
                assert_eq!(drain(&mut list.iter().filter(|x| x % 2 == 0)), Ok(evens));
                let results: Vec<u32> = list.iter().results().map(Result::unwrap).collect();
                assert_eq!(&results, want);
                assert_eq!(&list.snapshot().to_vec(), want);
                assert_eq!(&list.snapshot().iter().copied().collect::<Vec<_>>(), want);
                assert_eq!(&list.snapshot().into_iter().collect::<Vec<_>>(), want);
                assert_eq!(list.len(), want.len());
            }
        }
    });
}

#[test]
fn a_change_makes_a_pass_resync_and_the_next_pass_sees_it() {
    finishes("resync", || {
        let list: CookieList<u32> = (0..10).collect();
        let mut it = list.iter();
        assert_eq!(it.cookie(), 0);
        for x in 0..3 {
            assert_eq!(it.next(), Ok(Some(x)));
        }
        list.push(10);
        assert_eq!(list.cookie(), 1);
        assert_eq!(it.next(), Err(Resync));
        assert_eq!(it.next(), Err(Resync), "until resynced");
        it.resync();
        assert_eq!(it.cookie(), 1);
        assert_eq!(drain(&mut it), Ok((0..11).collect()));
        // fold and foreach report the change too, and are fine after a resync.
        list.insert(0, 20);
        assert_eq!(it.fold(0, |n, _| ControlFlow::Continue(n + 1)), Err(Resync));
        assert_eq!(it.foreach(|_| {}), Err(Resync));
        it.resync();
        assert_eq!(it.fold(0, |n, _| ControlFlow::Continue(n + 1)), Ok(12));
        // A filter resyncs its inner pass.
        let mut evens = list.iter().filter(|x| x % 2 == 0);
        assert_eq!(evens.next(), Ok(Some(20)));
        list.push(12);
        assert_eq!(evens.next(), Err(Resync));
        evens.resync();
        assert_eq!(drain(&mut evens), Ok(vec![20, 0, 2, 4, 6, 8, 10, 12]));
    });
}

#[test]
fn a_starving_pass_refuses_try_writes_and_a_write_waits_until_the_pass_ends() {
    finishes("a writer behind a starving pass", || {
        let list = CookieList::from_iter(0..5u32).with_stall_limit(NEVER);
        let mut a = list.iter();
        assert_eq!(a.next(), Ok(Some(0)));
        starve(&list, &mut a);
        let before = list.cookie();
        // Every `try_` write that would change the list is refused, changing nothing.
        assert_eq!(elsewhere(|| list.try_push(20)), Err(WouldWait(20)));
        assert_eq!(
            elsewhere(|| list.try_push(21)).unwrap_err().into_inner(),
            21
        );
        assert_eq!(elsewhere(|| list.try_insert(0, 22)), Err(WouldWait(22)));
        assert_eq!(elsewhere(|| list.try_clear()), Err(WouldWait(())));
        assert_eq!(
            elsewhere(|| list.try_remove_where(|&x| x == 3)),
            Err(WouldWait(()))
        );
        assert_eq!(
            elsewhere(|| list.try_retain(|&x| x != 3)),
            Err(WouldWait(()))
        );
        // Those that would change nothing do not wait.
        assert_eq!(elsewhere(|| list.try_remove_where(|&x| x == 99)), Ok(None));
        assert_eq!(elsewhere(|| list.try_retain(|_| true)), Ok(()));
        assert_eq!((list.cookie(), list.len()), (before, 7));
        assert_eq!((list.starving_passes(), list.waiting_writers()), (1, 0));

        thread::scope(|s| {
            let writer = s.spawn(|| list.push(30));
            while list.waiting_writers() == 0 {
                thread::yield_now();
            }
            // The writer waits: the pass walks the whole list without a resync.
            assert_eq!(drain(&mut a), Ok(vec![0, 1, 2, 3, 4, 100, 101]));
            writer.join().unwrap();
        });
        assert_eq!((list.starving_passes(), list.waiting_writers()), (0, 0));
        assert_eq!((list.cookie(), list.len()), (before + 1, 8));
        // The pass starts over (its resyncs counted from 0): not starving.
        assert_eq!(a.next(), Err(Resync));
        a.resync();
        assert_eq!(list.starving_passes(), 0);
        assert_eq!(list.try_push(40), Ok(()));

        // The gate works again after its phases ended: a second starving pass, its
        // fold stepping while a writer waits.
        let mut b = starving_pass(&list);
        thread::scope(|s| {
            let writer = s.spawn(|| list.clear());
            while list.waiting_writers() == 0 {
                thread::yield_now();
            }
            assert_eq!(b.fold(0, |n, _| ControlFlow::Continue(n + 1)), Ok(11));
            writer.join().unwrap();
        });
        assert!(list.is_empty());
        assert_eq!((list.starving_passes(), list.waiting_writers()), (0, 0));
    });
}

#[test]
fn two_starving_passes_hold_a_writer_until_both_end() {
    finishes("a writer behind two starving passes", || {
        let list = CookieList::from_iter(0..3u32).with_stall_limit(NEVER);
        let (mut a, mut b) = (list.iter(), list.iter());
        for k in 0..K {
            elsewhere(|| list.push(100 + k));
            for it in [&mut a, &mut b] {
                assert_eq!(it.next(), Err(Resync));
                it.resync();
            }
        }
        assert_eq!(list.starving_passes(), 2);
        thread::scope(|s| {
            let writer = s.spawn(|| list.remove_where(|&x| x == 1));
            while list.waiting_writers() == 0 {
                thread::yield_now();
            }
            assert_eq!(a.foreach(|_| {}), Ok(()));
            assert_eq!(list.starving_passes(), 1);
            assert_eq!(list.waiting_writers(), 1, "b still holds the writer");
            assert_eq!(drain(&mut b), Ok(vec![0, 1, 2, 100, 101]));
            assert_eq!(writer.join().unwrap(), Some(1));
        });
        assert_eq!(list.snapshot().to_vec(), [0, 2, 100, 101]);
        assert_eq!((list.starving_passes(), list.waiting_writers()), (0, 0));
    });
}

#[test]
fn a_starving_pass_that_stops_stepping_is_evicted_and_registers_again() {
    finishes("eviction", || {
        let list = CookieList::from_iter(0..3u32).with_stall_limit(Duration::from_millis(1));
        let mut a = starving_pass(&list);
        // The pass makes no step: the writer evicts it after the stall limit.
        elsewhere(|| list.push(7));
        assert_eq!(list.starving_passes(), 0);
        assert_eq!(a.next(), Err(Resync));
        // Still past `K` resyncs: registered again at once.
        a.resync();
        assert_eq!(list.starving_passes(), 1);
        assert_eq!(drain(&mut a), Ok(vec![0, 1, 2, 100, 101, 7]));
        assert_eq!(list.starving_passes(), 0);
    });
}

#[test]
fn a_write_on_the_starving_pass_thread_gives_its_protection_up() {
    finishes("a write from the pass's thread", || {
        let list = CookieList::from_iter(0..3u32).with_stall_limit(NEVER);
        let mut a = starving_pass(&list);
        list.push(7);
        assert_eq!(list.starving_passes(), 0);
        assert_eq!(a.next(), Err(Resync));
        a.resync();
        assert_eq!(drain(&mut a), Ok(vec![0, 1, 2, 100, 101, 7]));
    });
}

#[test]
fn a_starving_pass_dropped_mid_pass_leaves_the_gate() {
    finishes("a dropped starving pass", || {
        let list = CookieList::from_iter(0..3u32).with_stall_limit(NEVER);
        let mut a = starving_pass(&list);
        assert_eq!(a.next(), Ok(Some(0)));
        drop(a);
        assert_eq!(list.starving_passes(), 0);
        assert_eq!(elsewhere(|| list.try_push(8)), Ok(()));
        // And one whose pass ended, then dropped: nothing left either.
        let mut b = starving_pass(&list);
        assert_eq!(b.foreach(|_| {}), Ok(()));
        assert_eq!(list.starving_passes(), 0);
        drop(b);
        assert_eq!(elsewhere(|| list.try_push(9)), Ok(()));
    });
}

#[test]
fn remove_where_and_retain_ask_again_after_a_write_in_between() {
    finishes("remove_where and retain retried", || {
        for n in [10u32, SIZES[SIZES.len() - 1]] {
            // The predicate's own write comes between its answers and the removal.
            let (list, mut want) = pushed(n);
            let mut first = true;
            let removed = list.remove_where(|&x| {
                if std::mem::take(&mut first) {
                    list.push(5000);
                }
                x == n - 1
            });
            assert_eq!(removed, Some(n - 1));
            want.retain(|&x| x != n - 1);
            want.push(5000);
            assert_eq!(list.snapshot().to_vec(), want, "n = {n}");

            // The write in between removes the match: nothing else goes.
            let mut first = true;
            let removed = list.remove_where(|&x| {
                if std::mem::take(&mut first) {
                    assert_eq!(list.remove_where(|&y| y == 2000), Some(2000));
                }
                x == 2000
            });
            assert_eq!(removed, None);
            want.retain(|&x| x != 2000);
            assert_eq!(list.snapshot().to_vec(), want, "n = {n}");

            // retain: an item added in between is asked about before it is kept.
            let mut first = true;
            list.retain(|&x| {
                if std::mem::take(&mut first) {
                    list.push(6000);
                    list.push(6001);
                    list.insert(0, 6003);
                }
                x % 2 == 0
            });
            want.extend([6000, 6001]);
            want.insert(0, 6003);
            want.retain(|x| x % 2 == 0);
            assert_eq!(list.snapshot().to_vec(), want, "n = {n}");
            // Nothing to remove: no change.
            let cookie = list.cookie();
            list.retain(|_| true);
            assert_eq!(list.remove_where(|_| false), None);
            assert_eq!(list.cookie(), cookie);
        }
    });
}

#[test]
fn a_pass_that_starves_behind_a_waiting_writer_waits_for_it_then_runs_protected() {
    finishes("a starving pass behind a writer", || {
        let list = CookieList::from_iter(0..3u32).with_stall_limit(NEVER);
        let (mut a, mut b) = (list.iter(), list.iter());
        // Both resync once; `a` a second time (starving), `b` not yet.
        elsewhere(|| list.push(100));
        for it in [&mut a, &mut b] {
            assert_eq!(it.next(), Err(Resync));
            it.resync();
        }
        assert_eq!(K, 2, "the pushes here are K's");
        elsewhere(|| list.push(101));
        assert_eq!(a.next(), Err(Resync));
        a.resync();
        assert_eq!(b.next(), Err(Resync));
        assert_eq!(list.starving_passes(), 1);
        thread::scope(|s| {
            let writer = s.spawn(|| list.push(30));
            while list.waiting_writers() == 0 {
                thread::yield_now();
            }
            // `b` starves now, behind the writer: its resync waits for the writer's
            // turn, which waits for `a`.
            let late = s.spawn(move || {
                b.resync();
                drain(&mut b)
            });
            while list.starving_passes() < 2 {
                thread::yield_now();
            }
            assert_eq!(drain(&mut a), Ok(vec![0, 1, 2, 100, 101]), "a runs first");
            writer.join().unwrap();
            // Then the writer, then `b`, which sees the write and no resync.
            assert_eq!(late.join().unwrap(), Ok(vec![0, 1, 2, 100, 101, 30]));
        });
        assert_eq!((list.starving_passes(), list.waiting_writers()), (0, 0));
    });
}
