//! ObjectLock: mutual exclusion, re-lock reported (not hung), holder queries.

mod common;

use common::scaled;
use mtsafe::{Object, ObjectLock};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

#[test]
fn the_lock_excludes_other_threads() {
    // A non-atomic read-modify-write split by a yield: lost updates if two threads
    // were ever inside at once.
    let lock = ObjectLock::new(0u64);
    let per_thread = scaled(20_000, 200);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..per_thread {
                    let mut guard = lock.lock();
                    let seen = *guard;
                    if seen % 64 == 0 {
                        thread::yield_now();
                    }
                    *guard = seen + 1;
                }
            });
        }
    });
    assert_eq!(*lock.lock(), 4 * per_thread as u64);
}

#[test]
fn relocking_on_the_holding_thread_panics_with_a_clear_message() {
    let lock = ObjectLock::new(5u8);
    let guard = lock.lock();
    let err = catch_unwind(AssertUnwindSafe(|| {
        let _second = lock.lock();
    }))
    .expect_err("a re-lock must panic, not hang");
    let message = err.downcast::<String>().expect("a formatted message");
    assert!(
        message.contains("already locked by this thread"),
        "{message}"
    );
    assert!(
        message.contains("ObjectLock<u8>"),
        "names what was locked: {message}"
    );
    // The first guard is intact and still holds the lock.
    assert_eq!(*guard, 5);
    assert!(lock.is_locked_by_current_thread());
    drop(guard);
    assert!(!lock.is_locked());
}

#[test]
fn an_objects_relock_panic_names_the_object() {
    // GStreamer's classic: gst_object_get_parent() while holding GST_OBJECT_LOCK.
    let obj = Object::with_name("volume0", ()).sink();
    let guard = obj.lock();
    assert!(obj.is_locked_by_current_thread());
    let err = catch_unwind(AssertUnwindSafe(|| obj.parent())).unwrap_err();
    let message = err.downcast::<String>().unwrap();
    assert!(message.contains("'volume0'"), "{message}");
    assert!(
        message.contains("already locked by this thread"),
        "{message}"
    );
    // Under the guard, the accessors that do not re-lock work:
    assert!(guard.parent().is_none());
    assert_eq!(guard.name(), "volume0");
    drop(guard);
    assert!(!obj.is_locked_by_current_thread());
    assert!(obj.parent().is_none());
}

#[test]
fn holder_queries_answer_per_thread() {
    let lock = ObjectLock::new(());
    assert!(!lock.is_locked() && !lock.is_locked_by_current_thread());
    let guard = lock.lock();
    assert!(lock.is_locked() && lock.is_locked_by_current_thread());
    thread::scope(|s| {
        s.spawn(|| {
            assert!(lock.is_locked());
            assert!(
                !lock.is_locked_by_current_thread(),
                "held by another thread"
            );
            assert!(lock.try_lock().is_none());
        });
    });
    assert!(
        lock.try_lock().is_none(),
        "try_lock by the holder fails, never hangs"
    );
    drop(guard);
    assert!(lock.try_lock().is_some());
}

#[test]
fn a_waiter_blocks_until_the_holder_unlocks() {
    let lock = ObjectLock::new(0u32);
    let released = AtomicBool::new(false);
    thread::scope(|s| {
        let mut guard = lock.lock();
        let waiter = s.spawn(|| {
            let value = *lock.lock();
            // The holder set `released` before unlocking.
            assert!(released.load(Ordering::SeqCst));
            value
        });
        thread::sleep(std::time::Duration::from_millis(if cfg!(miri) {
            1
        } else {
            20
        }));
        *guard = 7;
        released.store(true, Ordering::SeqCst);
        drop(guard);
        assert_eq!(waiter.join().unwrap(), 7);
    });
}

#[test]
fn get_mut_and_into_inner_need_no_lock() {
    let mut lock = ObjectLock::new(vec![1]);
    lock.get_mut().push(2);
    assert_eq!(lock.into_inner(), [1, 2]);
}

/// A panic while the lock is held releases it on the way out (the guard's drop runs
/// during unwinding), clears the holder, and leaves the value as the panicking code
/// left it: the same thread and another can lock it again, and a re-lock is still
/// reported.
#[test]
fn a_panic_under_the_lock_releases_it_and_keeps_it_usable() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let state = ObjectLock::new(vec![1u32]);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut guard = state.lock();
        guard.push(2);
        panic!("an element fails while holding its lock");
    }));
    assert!(result.is_err());
    assert!(!state.is_locked_by_current_thread());
    assert_eq!(*state.lock(), [1, 2], "not poisoned: the value as left");
    std::thread::scope(|s| {
        s.spawn(|| state.lock().push(3)).join().unwrap();
    });
    let guard = state.lock();
    let relock = catch_unwind(AssertUnwindSafe(|| drop(state.lock())));
    assert!(relock.is_err(), "a re-lock is still reported");
    assert_eq!(*guard, [1, 2, 3]);
}

/// Many threads queue on one lock whose holder sometimes sleeps, so that several
/// waiters park at once and each unlock wakes one while others stay parked; mixed
/// with `try_lock`. No update is lost, nobody waits forever, and while a thread waits
/// or fails to try, the lock never reads as its own.
#[test]
fn parked_waiters_are_all_woken_and_exclusion_holds() {
    let lock = ObjectLock::new(0u64);
    let per_thread = scaled(300, 10);
    let threads = 8;
    thread::scope(|s| {
        for t in 0..threads {
            let lock = &lock;
            s.spawn(move || {
                for i in 0..per_thread {
                    if (i + t) % 3 == 0 {
                        match lock.try_lock() {
                            Some(mut guard) => *guard += 1,
                            None => {
                                assert!(!lock.is_locked_by_current_thread());
                                *lock.lock() += 1;
                            }
                        }
                        continue;
                    }
                    let mut guard = lock.lock();
                    assert!(lock.is_locked_by_current_thread());
                    let seen = *guard;
                    if i % 50 == 0 {
                        // Long enough for the other threads to give up spinning.
                        thread::sleep(std::time::Duration::from_micros(200));
                    }
                    *guard = seen + 1;
                }
            });
        }
    });
    assert_eq!(*lock.lock(), (threads * per_thread) as u64);
    assert!(!lock.is_locked());
}

/// `unlocked` (GStreamer's unlock, call out, re-lock): another thread takes the lock
/// while the callback runs, and the guard holds it again afterwards, also when the
/// callback panics.
#[test]
fn unlocked_lets_others_in_and_takes_the_lock_again() {
    use mtsafe::ObjectLockGuard;
    let state = ObjectLock::new(0u32);
    let mut guard = state.lock();
    *guard = 1;
    thread::scope(|s| {
        ObjectLockGuard::unlocked(&mut guard, || {
            assert!(!state.is_locked());
            s.spawn(|| *state.lock() += 10).join().unwrap();
        });
    });
    assert!(state.is_locked_by_current_thread());
    assert_eq!(*guard, 11, "the other thread's write is seen");
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        ObjectLockGuard::unlocked(&mut guard, || panic!("a callback fails"));
    }));
    assert!(panicked.is_err());
    assert!(
        state.is_locked_by_current_thread(),
        "taken again while unwinding"
    );
    *guard += 1;
    drop(guard);
    assert!(!state.is_locked());
    assert_eq!(*state.lock(), 12);
}

/// A mapped guard holds the lock until it is dropped and reaches only its part.
#[test]
fn a_mapped_guard_holds_the_lock() {
    use mtsafe::ObjectLockGuard;
    let state = ObjectLock::new((String::from("src"), vec![1u8]));
    let mut part = ObjectLockGuard::map(state.lock(), |s| &mut s.1);
    part.push(2);
    assert!(state.try_lock().is_none());
    thread::scope(|s| {
        assert!(s.spawn(|| state.try_lock().is_none()).join().unwrap());
    });
    drop(part);
    assert_eq!(state.lock().1, [1, 2]);
}
