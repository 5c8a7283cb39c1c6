//! The gate's phases, one case each: passes that share a phase, writers that share
//! one, a write that waited and then has to wait behind nothing more, a write that
//! panics between its two critical sections, and the stall limit's setting.
//!
//! The tests in which a thread waits for another run under `within`, so that a pass
//! or a writer left waiting for ever fails the test instead of hanging it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use mtsafe::{CookieIter, CookieList, Resync, ResyncIterator};

use super::{drain, elsewhere, starve_first_of_two, within, K, LIMIT};

/// A stall limit no test reaches: only the passes' own ends release the writers.
const NEVER: Duration = Duration::from_secs(3600);

/// Waits until `cond` holds (the test's `within` bounds the wait).
fn until(cond: impl Fn() -> bool) {
    while !cond() {
        thread::yield_now();
    }
}

/// Makes each of `passes` starving: `K` changes, each reported and resynced by all.
fn starve(list: &CookieList<u32>, passes: &mut [&mut CookieIter<'_, u32>]) {
    for i in 0..K {
        elsewhere(|| list.push(1000 + i));
        for it in passes.iter_mut() {
            assert_eq!(it.next(), Err(Resync));
            it.resync();
        }
    }
}

fn list_of(n: u32) -> Arc<CookieList<u32>> {
    Arc::new((0..n).collect::<CookieList<u32>>().with_stall_limit(NEVER))
}

#[test]
fn the_stall_limit_is_the_default_until_set() {
    let list = CookieList::<u32>::new();
    assert_eq!(list.stall_limit(), CookieList::<u32>::STALL_LIMIT);
    let list = list.with_stall_limit(Duration::from_millis(20));
    assert_eq!(list.stall_limit(), Duration::from_millis(20));
    // A list whose gate was allocated by a starving pass keeps its limit.
    let list: CookieList<u32> = (0..3).collect::<CookieList<u32>>().with_stall_limit(NEVER);
    let mut it = list.iter();
    starve(&list, &mut [&mut it]);
    assert_eq!(list.starving_passes(), 1);
    assert_eq!(list.stall_limit(), NEVER);
}

/// Two passes that register one after the other share a phase: each protects the
/// list until it ends, and the end of one does not end the other.
#[test]
fn two_passes_of_one_phase_each_leave_on_their_own() {
    within(LIMIT, || {
        let list = list_of(5);
        let (mut a, mut b) = (list.iter(), list.iter());
        starve(&list, &mut [&mut a, &mut b]);
        assert_eq!(list.starving_passes(), 2);
        assert!(elsewhere(|| list.try_push(99)).is_err(), "both protected");
        assert_eq!(drain(&mut a).unwrap().len(), 5 + K as usize);
        assert_eq!(list.starving_passes(), 1, "a left, b did not");
        assert!(
            elsewhere(|| list.try_push(99)).is_err(),
            "b still protected"
        );
        assert_eq!(drain(&mut b).unwrap().len(), 5 + K as usize);
        assert_eq!(list.starving_passes(), 0);
        assert_eq!(elsewhere(|| list.try_push(99)), Ok(()));
    });
}

/// Two writers that arrive behind one starving pass share a phase: both wait for
/// the pass, and both publish after it.
#[test]
fn two_writers_of_one_phase_both_publish_after_the_pass() {
    within(LIMIT, || {
        let list = list_of(5);
        let mut a = list.iter();
        starve(&list, &mut [&mut a]);
        thread::scope(|s| {
            let writers: Vec<_> = (0..2)
                .map(|w| {
                    s.spawn({
                        let list = &list;
                        move || list.push(100 + w)
                    })
                })
                .collect();
            until(|| list.waiting_writers() == 2);
            assert_eq!(list.starving_passes(), 1);
            let seen = drain(&mut a).expect("a starving pass resynced");
            assert_eq!(seen.len(), 5 + K as usize, "no write landed mid-pass");
            for w in writers {
                w.join().unwrap();
            }
        });
        let items = list.snapshot().to_vec();
        assert!(items.contains(&100) && items.contains(&101), "{items:?}");
        assert_eq!((list.starving_passes(), list.waiting_writers()), (0, 0));
    });
}

/// A `retain` that waited for a starving pass publishes when that pass ends, even
/// though another pass registered behind it in the meantime: it waited its turn
/// already, and the pass behind it waits for it.
#[test]
fn a_retain_that_waited_its_turn_does_not_wait_for_the_pass_behind_it() {
    within(LIMIT, || {
        let list = list_of(5);
        let (mut a, mut b) = (list.iter(), list.iter());
        starve_first_of_two(&list, &mut a, &mut b);
        thread::scope(|s| {
            let writer = s.spawn(|| list.retain(|&x| x != 0));
            until(|| list.waiting_writers() == 1);
            // `b` registers behind the waiting retain.
            let second = s.spawn(|| {
                assert_eq!(b.next(), Err(Resync));
                b.resync();
                drain(&mut b).expect("a starving pass resynced")
            });
            until(|| list.starving_passes() == 2);
            assert_eq!(drain(&mut a).unwrap(), [0, 1, 2, 3, 4, 10, 11]);
            writer.join().unwrap();
            assert_eq!(second.join().unwrap(), [1, 2, 3, 4, 10, 11]);
        });
        assert_eq!((list.starving_passes(), list.waiting_writers()), (0, 0));
    });
}

/// A `remove_where` that waited its turn, found the list changed and asks its
/// predicate again with its place kept: when the predicate panics there, the
/// place is given up, and nothing is left waiting in the gate.
#[test]
fn a_write_that_panics_between_its_turns_leaves_the_gate() {
    within(LIMIT, || {
        let list = list_of(5);
        let (asked, asked_rx) = mpsc::channel();
        let (go, go_rx) = mpsc::channel::<()>();
        thread::scope(|s| {
            let list = &list;
            let writer = s.spawn(move || {
                let mut zeros = 0;
                catch_unwind(AssertUnwindSafe(|| {
                    list.remove_where(|&x| {
                        if x == 0 {
                            zeros += 1;
                            if zeros == 1 {
                                // Holds no lock: let the pass starve meanwhile.
                                asked.send(()).unwrap();
                                go_rx.recv().unwrap();
                            } else {
                                panic!("asked again, after waiting its turn");
                            }
                        }
                        x == 3
                    })
                }))
            });
            asked_rx.recv().unwrap();
            let mut a = list.iter();
            starve(list, &mut [&mut a]);
            go.send(()).unwrap();
            until(|| list.waiting_writers() == 1);
            assert_eq!(drain(&mut a).unwrap().len(), 5 + K as usize);
            assert!(writer.join().unwrap().is_err(), "the predicate panicked");
        });
        assert_eq!((list.starving_passes(), list.waiting_writers()), (0, 0));
        assert_eq!(list.len(), 5 + K as usize, "nothing removed");
    });
}
