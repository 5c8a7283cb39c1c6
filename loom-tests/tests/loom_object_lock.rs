//! loom models of `ObjectLock`: mutual exclusion and the re-lock check under
//! contention.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p mtsafe-loom-tests --release --test loom_object_lock`.
//!
//! Under loom the guard holds loom's tracked pointer into the lock's cell, so two
//! guards alive at once (or a guard's access not ordered after the previous
//! holder's) fail the model, and a wait that never ends fails it as a deadlock.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use mtsafe::ObjectLock;

/// Two threads increment under the lock: both increments land, and the second
/// holder's wait is not mistaken for a re-lock (its owner check reads the first
/// holder's number or zero, never its own).
#[test]
fn the_lock_excludes_and_a_waiter_is_not_a_relock() {
    loom::model(|| {
        let lock = Arc::new(ObjectLock::new(0u32));
        let other = Arc::clone(&lock);
        let t = thread::spawn(move || {
            *other.lock() += 1;
            assert!(!other.is_locked_by_current_thread());
        });
        {
            let mut guard = lock.lock();
            assert!(lock.is_locked_by_current_thread());
            *guard += 1;
        }
        t.join().unwrap();
        assert_eq!(*lock.lock(), 2);
    });
}

/// `try_lock` never blocks and never hands out a second guard.
#[test]
fn try_lock_never_shares_the_value() {
    loom::model(|| {
        let lock = Arc::new(ObjectLock::new(0u32));
        let other = Arc::clone(&lock);
        let t = thread::spawn(move || {
            if let Some(mut guard) = other.try_lock() {
                *guard += 1;
            }
        });
        if let Some(mut guard) = lock.try_lock() {
            *guard += 10;
        }
        t.join().unwrap();
        let value = *lock.lock();
        assert!([1, 10, 11].contains(&value), "{value}");
    });
}

/// Three lock holders in sequence on two threads, one holding across the other's
/// attempt: every owner check sees a consistent owner.
#[test]
fn owner_checks_under_contention() {
    loom::model(|| {
        let lock = Arc::new(ObjectLock::new(Vec::new()));
        let other = Arc::clone(&lock);
        let t = thread::spawn(move || {
            for i in 0..2 {
                other.lock().push(i);
            }
        });
        lock.lock().push(10);
        t.join().unwrap();
        let mut all = lock.lock().clone();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 10]);
    });
}

/// `ObjectLockGuard::unlocked`: another thread may take the lock while the callback
/// runs; the guard's accesses after it are ordered after the other holder's (loom's
/// cell tracking reports any that is not), and both increments land.
#[test]
fn unlocked_takes_the_lock_again() {
    use mtsafe::ObjectLockGuard;
    loom::model(|| {
        let lock = Arc::new(ObjectLock::new(0u32));
        let other = Arc::clone(&lock);
        let t = thread::spawn(move || {
            *other.lock() += 1;
        });
        let mut guard = lock.lock();
        ObjectLockGuard::unlocked(&mut guard, || {});
        *guard += 10;
        drop(guard);
        t.join().unwrap();
        assert_eq!(*lock.lock(), 11);
    });
}
