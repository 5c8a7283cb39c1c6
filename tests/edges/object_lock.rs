//! `ObjectLock`: what `try_lock` takes is held, by this thread, until the guard goes.

use mtsafe::ObjectLock;

#[test]
fn a_lock_taken_by_try_lock_is_held_and_named_for_this_thread() {
    let lock = ObjectLock::new(1u8);
    let guard = lock.try_lock().expect("free");
    assert!(lock.is_locked());
    assert!(lock.is_locked_by_current_thread());
    assert!(lock.try_lock().is_none(), "held: a second try fails");
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(lock.is_locked() && !lock.is_locked_by_current_thread());
            assert!(lock.try_lock().is_none());
        });
    });
    drop(guard);
    assert!(!lock.is_locked());
    assert_eq!(*lock.try_lock().unwrap(), 1);
}
