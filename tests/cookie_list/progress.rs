//! Progress: a starving pass finishes; writers wait for it, bounded.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use mtsafe::{CookieList, Resync, ResyncIterator};

use super::{drain, elsewhere, starve_first_of_two, within, K, LIMIT};

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
    starve_first_of_two(&list, &mut a, &mut b);
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
