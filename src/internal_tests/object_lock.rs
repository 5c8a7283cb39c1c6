//! `ObjectLock`'s waiting protocol (`object_lock.rs`' module docs), step by step: a
//! waiter on a held lock spins a little, sets the parked flag, and sleeps on its own
//! lock's key until an unlock of that lock wakes it; it never sleeps on a free lock
//! nor on a word without the flag (no unlock would wake it); and the flag goes with
//! the last waiter, so later unlocks take the fast path again. The answers of the lock
//! are the same either way; what differs is CPU use, wake-ups, and which thread
//! is woken, which only the steps show.
//!
//! Each thread reports its slow-path steps to an observer of its own
//! (`object_lock::observer`), here into one channel; the test thread holds the lock
//! for as long as a step needs it (taken with `try_lock`, which never waits, and
//! checked held), and may stop a waiter at a step until it lets it go. Every wait
//! that a wrong protocol could make endless (a step that never comes, a join) runs
//! under [`finishes`], and what can fail at once does (the test thread's own steps, a
//! waiter's panic), so that a wrong protocol fails the tests well within the time
//! cargo-mutants gives them. Not under Miri, whose parking is a stand-in (no
//! spinning, one key for every lock, every waiter woken at once:
//! `sync/park_stand_in.rs`).
#![cfg(not(miri))]

use std::cell::Cell;
use std::rc::Rc;
// A channel, not the shim's mutex: `Sleep` is reported under the parking lot's lock,
// where the observer must not lock. Test code, never compiled under loom.
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

use super::finishes;
use crate::object_lock::observer::{observe, Step};
use crate::sync::thread::current_thread_token;
use crate::sync::Arc;
use crate::{ObjectLock, ObjectLockGuard};

/// The parked flag of a lock word (module docs' table).
const PARKED: usize = 1;

/// More spins than a waiter makes before it parks (parking_lot_core's `SpinWait`
/// spins ten times): a count, not a time. A waiter past it spins without end.
const SPIN_BOUND: usize = 1000;

type Lock = Arc<ObjectLock<u32>>;
/// A step and the name of the thread that reported it.
type Reported = (&'static str, Step);
/// As sent: `None` for a waiter that panicked (and reports no more).
type Sent = (&'static str, Option<Step>);

/// The steps of every thread of a test, in the order they were reported.
struct Steps {
    /// Taken out while a read of it waits under `finishes`.
    rx: Option<Receiver<Sent>>,
    tx: Sender<Sent>,
}

impl Steps {
    /// A channel for the steps, with the calling (test) thread observed as `holder`.
    fn new() -> Self {
        let (tx, rx) = channel();
        let steps = Self { rx: Some(rx), tx };
        steps.observe("holder");
        steps
    }

    /// Reports the calling thread's steps here, named `name`.
    fn observe(&self, name: &'static str) {
        let tx = self.tx.clone();
        observe(move |step| {
            // A send fails only once the test has failed (and dropped the receiver).
            let _ = tx.send((name, Some(step)));
        });
    }

    /// The next step reported, waiting for it.
    fn next(&mut self) -> Reported {
        let rx = self.rx.take().unwrap();
        let (rx, sent) = finishes("waiting for the next step", move || {
            let sent = rx.recv().unwrap();
            (rx, sent)
        });
        self.rx = Some(rx);
        Self::step(sent)
    }

    /// The next step, reported already: a step of the calling thread (reported as
    /// it makes it) that no other thread's step can precede.
    fn reported(&mut self) -> Reported {
        match self.rx.as_ref().unwrap().try_recv() {
            Ok(sent) => Self::step(sent),
            Err(_) => panic!("no step reported"),
        }
    }

    /// The step sent, or the panic of the waiter that sent `None`.
    fn step((name, step): Sent) -> Reported {
        (name, step.unwrap_or_else(|| panic!("{name} panicked")))
    }

    /// The next steps of `name`, which must be the only thread reporting: the
    /// spins on `word` first (how many; at most [`SPIN_BOUND`]), then the first
    /// step that is no spin.
    fn spins_then(&mut self, name: &str, word: usize) -> (usize, Step) {
        let mut spins = 0;
        loop {
            let (who, step) = self.next();
            assert_eq!(who, name, "{step:?}");
            if step != Step::Spin(word) {
                return (spins, step);
            }
            spins += 1;
            assert!(spins <= SPIN_BOUND, "{name} spins without end");
        }
    }

    /// The steps of `name` up to its sleep, for a waiter that finds the lock held by
    /// `holder` without the flag: some spins, then the flag, then the sleep on the
    /// flagged word.
    fn spin_flag_sleep(&mut self, name: &'static str, holder: usize) {
        let (spins, step) = self.spins_then(name, holder);
        assert!(spins > 0, "{name} did not spin before flagging the word");
        assert_eq!(step, Step::Flag(holder));
        assert_eq!(self.next(), (name, Step::Park));
        assert_eq!(self.next(), (name, Step::Sleep(holder | PARKED)));
    }

    /// The steps of `name`, for a waiter that finds the lock held by `holder` and
    /// flagged already: no spin, no flag, straight to sleep.
    fn straight_to_sleep(&mut self, name: &'static str, holder: usize) {
        assert_eq!(self.next(), (name, Step::Park));
        assert_eq!(self.next(), (name, Step::Sleep(holder | PARKED)));
    }

    /// Drops `held` (the calling thread's guard of a flagged lock), whose unlock takes
    /// the slow path and wakes `name`, which takes the lock, replacing `word`.
    fn unlock_wakes(&mut self, held: ObjectLockGuard<'_, u32>, name: &'static str, word: usize) {
        drop(held);
        assert_eq!(self.reported(), ("holder", Step::Unlock));
        assert_eq!(self.next(), (name, Step::Back));
        assert_eq!(self.next(), (name, Step::Take(word)));
    }

    /// Checks that no step is reported that has not been read (once every thread
    /// that could report one has been joined).
    fn none_left(&mut self) {
        match self.rx.as_ref().unwrap().try_recv() {
            Err(TryRecvError::Empty) => {}
            left => panic!("a step left: {left:?}"),
        }
    }
}

/// A thread that adds one to the value of a lock that it takes, reporting its steps.
struct Waiter {
    /// Lets it go from the step it is stopped at.
    go: Sender<()>,
    thread: JoinHandle<()>,
}

impl Waiter {
    /// Starts `name`, stopped at the first step that `stop_at` accepts (never
    /// `Sleep`, which is reported under the parking lot's lock) until [`Self::go`].
    fn start(name: &'static str, lock: &Lock, steps: &Steps, stop_at: fn(Step) -> bool) -> Self {
        /// Reports its thread's panic.
        struct Panics(Sender<Sent>, &'static str);
        impl Drop for Panics {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let _ = self.0.send((self.1, None));
                }
            }
        }
        let (go, stopped) = channel::<()>();
        let tx = steps.tx.clone();
        let lock = Arc::clone(lock);
        let thread = std::thread::spawn(move || {
            let _panics = Panics(tx.clone(), name);
            let took = Rc::new(Cell::new(false));
            let took_seen = Rc::clone(&took);
            let mut stops = 1;
            observe(move |step| {
                let _ = tx.send((name, Some(step)));
                took_seen.set(matches!(step, Step::Take(_)));
                if stops > 0 && stop_at(step) {
                    stops -= 1;
                    // Err: the test has failed and dropped `go`; go on.
                    let _ = stopped.recv();
                }
            });
            let mut guard = lock.lock();
            // Started on a held lock, it waits: a lock taken without the slow path
            // was not held, or is held twice.
            assert!(took.get(), "{name} took the lock without waiting");
            *guard += 1;
        });
        Self { go, thread }
    }

    /// Lets it go from the step it is stopped at.
    fn go(&self) {
        self.go.send(()).unwrap();
    }

    /// Waits for it to end.
    fn join(self) {
        let thread = self.thread;
        finishes("joining a waiter", move || thread.join())
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    }
}

/// Takes `lock`, which is free, without waiting; held by the calling thread.
fn hold(lock: &Lock) -> ObjectLockGuard<'_, u32> {
    let guard = lock.try_lock().expect("the lock is free");
    assert!(lock.is_locked_by_current_thread());
    guard
}

/// Never stops.
fn nowhere(_: Step) -> bool {
    false
}

#[test]
fn a_waiter_spins_flags_the_word_sleeps_and_the_unlock_wakes_it() {
    let mut steps = Steps::new();
    let me = current_thread_token();
    let lock: Lock = Arc::new(ObjectLock::new(0));
    let held = hold(&lock);
    let waiter = Waiter::start("waiter", &lock, &steps, nowhere);
    steps.spin_flag_sleep("waiter", me);
    // The unlock finds the flag, wakes the sleeper and clears the flag (no one else
    // sleeps); the waiter takes the free lock at once.
    steps.unlock_wakes(held, "waiter", 0);
    waiter.join();
    // The flag went with the last waiter: its unlock and the next one are fast.
    drop(hold(&lock));
    steps.none_left();
    assert_eq!(*lock.try_lock().unwrap(), 1);
}

#[test]
fn a_second_waiter_finding_the_flag_sleeps_without_spinning_and_each_unlock_wakes_one() {
    let mut steps = Steps::new();
    let me = current_thread_token();
    let lock: Lock = Arc::new(ObjectLock::new(0));
    let held = hold(&lock);
    let first = Waiter::start("first", &lock, &steps, nowhere);
    steps.spin_flag_sleep("first", me);
    let second = Waiter::start("second", &lock, &steps, nowhere);
    steps.straight_to_sleep("second", me);
    // The first to sleep is woken first; the flag stays for the second.
    steps.unlock_wakes(held, "first", PARKED);
    // Its unlock, seeing the flag, wakes the second, which takes the lock, the flag
    // now cleared.
    assert_eq!(steps.next(), ("first", Step::Unlock));
    assert_eq!(steps.next(), ("second", Step::Back));
    assert_eq!(steps.next(), ("second", Step::Take(0)));
    first.join();
    second.join();
    drop(hold(&lock));
    steps.none_left();
    assert_eq!(*lock.try_lock().unwrap(), 2);
}

#[test]
fn a_waiter_does_not_sleep_on_a_held_word_without_the_flag() {
    let mut steps = Steps::new();
    let me = current_thread_token();
    let lock: Lock = Arc::new(ObjectLock::new(0));
    let held = hold(&lock);
    let waiter = Waiter::start("waiter", &lock, &steps, |step| step == Step::Park);
    // Stopped after flagging the word, before parking.
    let (spins, step) = steps.spins_then("waiter", me);
    assert!(spins > 0);
    assert_eq!(step, Step::Flag(me));
    assert_eq!(steps.next(), ("waiter", Step::Park));
    // Meanwhile the lock is released (clearing the flag: nobody sleeps yet) and
    // taken again: held, no flag. Sleeping now, the waiter would miss the next
    // unlock, which takes the fast path; the parking lot's check sends it back.
    drop(held);
    assert_eq!(steps.reported(), ("holder", Step::Unlock));
    let held = hold(&lock);
    waiter.go();
    assert_eq!(steps.next(), ("waiter", Step::Back));
    steps.spin_flag_sleep("waiter", me);
    steps.unlock_wakes(held, "waiter", 0);
    waiter.join();
    steps.none_left();
    assert_eq!(*lock.try_lock().unwrap(), 1);
}

#[test]
fn a_waiter_does_not_sleep_on_a_free_flagged_word() {
    let mut steps = Steps::new();
    let me = current_thread_token();
    let lock: Lock = Arc::new(ObjectLock::new(0));
    let held = hold(&lock);
    // Two sleepers, each stopped once woken (before it takes the lock).
    let back = |step: Step| step == Step::Back;
    let first = Waiter::start("first", &lock, &steps, back);
    steps.spin_flag_sleep("first", me);
    let second = Waiter::start("second", &lock, &steps, back);
    steps.straight_to_sleep("second", me);
    // A third, stopped before parking.
    let third = Waiter::start("third", &lock, &steps, |step| step == Step::Park);
    assert_eq!(steps.next(), ("third", Step::Park));
    // The unlock wakes the first sleeper and, the second still sleeping, leaves the
    // word free and flagged.
    drop(held);
    assert_eq!(steps.reported(), ("holder", Step::Unlock));
    assert_eq!(steps.next(), ("first", Step::Back));
    // The third's check finds the lock free: it takes it, keeping the flag, instead
    // of sleeping on a lock that no unlock may come to.
    third.go();
    assert_eq!(steps.next(), ("third", Step::Back));
    assert_eq!(steps.next(), ("third", Step::Take(PARKED)));
    // Its unlock wakes the second sleeper; then all three end.
    assert_eq!(steps.next(), ("third", Step::Unlock));
    assert_eq!(steps.next(), ("second", Step::Back));
    first.go();
    second.go();
    third.join();
    first.join();
    second.join();
    assert_eq!(*lock.try_lock().unwrap(), 3);
}

#[test]
fn an_unlock_wakes_a_waiter_of_its_own_lock_only() {
    let mut steps = Steps::new();
    let me = current_thread_token();
    let (a, b): (Lock, Lock) = (Arc::new(ObjectLock::new(0)), Arc::new(ObjectLock::new(0)));
    let (held_a, held_b) = (hold(&a), hold(&b));
    // `b`'s waiter sleeps first: were both on one key, the parking lot would wake it
    // first.
    let waiter_b = Waiter::start("b", &b, &steps, nowhere);
    steps.spin_flag_sleep("b", me);
    let waiter_a = Waiter::start("a", &a, &steps, nowhere);
    steps.spin_flag_sleep("a", me);
    steps.unlock_wakes(held_a, "a", 0);
    waiter_a.join();
    // `b`'s waiter still sleeps, woken by `b`'s unlock only.
    steps.none_left();
    steps.unlock_wakes(held_b, "b", 0);
    waiter_b.join();
    steps.none_left();
    assert_eq!((*a.try_lock().unwrap(), *b.try_lock().unwrap()), (1, 1));
}
