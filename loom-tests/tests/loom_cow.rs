//! loom models of CowShared: the count, the last drop, and copy-on-write.
#![cfg(loom)]

use loom::sync::atomic::Ordering;
use loom::thread;
use mtsafe::CowShared;
use mtsafe_loom_tests::{drop_counter, Payload};

#[test]
fn concurrent_clone_and_drop_free_exactly_once() {
    loom::model(|| {
        let drops = drop_counter();
        let a = CowShared::new(Payload::new(7, &drops));
        let b = a.clone();
        let t1 = thread::spawn(move || {
            let c = b.clone();
            drop(b);
            assert_eq!(c.read(), 7);
            drop(c);
        });
        let t2 = thread::spawn(move || {
            let d = a.clone();
            drop(a);
            assert_eq!(d.read(), 7);
            drop(d);
        });
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn get_writable_never_writes_what_another_holder_can_see() {
    loom::model(|| {
        let drops = drop_counter();
        let mut mine = CowShared::new(Payload::new(0, &drops));
        let theirs = mine.clone();
        let reader = thread::spawn(move || {
            let again = theirs.clone();
            assert_eq!(theirs.read(), 0);
            drop(theirs);
            assert_eq!(again.read(), 0);
            drop(again);
        });
        // In place if the reader is done with the value, on a copy otherwise; loom's
        // cell reports a write racing the reader's reads either way.
        CowShared::get_writable(&mut mine).write(1);
        assert_eq!(mine.read(), 1);
        reader.join().unwrap();
        assert!(CowShared::is_writable(&mine));
        let copies = drops.load(Ordering::Relaxed);
        assert!(copies <= 1, "at most the original was dropped: {copies}");
        drop(mine);
    });
}

#[test]
fn make_writable_releases_the_original_exactly_once() {
    loom::model(|| {
        let drops = drop_counter();
        let a = CowShared::new(Payload::new(0, &drops));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.read(), 0);
            drop(b);
        });
        let a = CowShared::make_writable(a);
        a.write(2);
        t.join().unwrap();
        assert_eq!(CowShared::ref_count(&a), 1);
        drop(a);
        let total = drops.load(Ordering::Relaxed);
        assert!(
            total == 1 || total == 2,
            "one value, or it and one copy: {total}"
        );
    });
}

#[test]
fn try_unwrap_racing_a_drop_takes_the_value_only_when_unique() {
    loom::model(|| {
        let drops = drop_counter();
        let a = CowShared::new(Payload::new(5, &drops));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.read(), 5);
            drop(b);
        });
        match CowShared::try_unwrap(a) {
            // Unique: the other thread's read must be ordered before our write.
            Ok(value) => value.write(6),
            Err(shared) => drop(shared),
        }
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn get_mut_racing_a_drop_is_some_only_after_the_other_holder_is_done() {
    loom::model(|| {
        let drops = drop_counter();
        let mut a = CowShared::new(Payload::new(1, &drops));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.read(), 1);
            drop(b);
        });
        if let Some(value) = CowShared::get_mut(&mut a) {
            value.write(2);
        }
        t.join().unwrap();
        drop(a);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}
