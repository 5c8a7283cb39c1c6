//! CowShared under std threads: GStreamer's mini-object refcount and writability rules.

mod common;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Barrier;
use std::thread;

use common::{scaled, Counter};
use mtsafe::CowShared;

#[test]
fn writable_at_count_one_not_after_a_clone() {
    let a = CowShared::new(1u32);
    assert_eq!(CowShared::ref_count(&a), 1);
    assert!(CowShared::is_writable(&a));
    let b = a.clone();
    assert_eq!(CowShared::ref_count(&a), 2);
    assert!(!CowShared::is_writable(&a));
    assert!(!CowShared::is_writable(&b));
    drop(b);
    assert!(CowShared::is_writable(&a));
}

#[test]
fn make_writable_on_a_shared_value_copies_and_releases_the_original() {
    let counter = Counter::new();
    let original = CowShared::new(counter.value(7));
    let other = original.clone();
    assert_eq!(CowShared::ref_count(&other), 2);

    let writable = CowShared::make_writable(original);
    assert!(
        !CowShared::ptr_eq(&writable, &other),
        "a shared value must be copied"
    );
    assert_eq!(
        CowShared::ref_count(&other),
        1,
        "the caller's reference was released"
    );
    assert_eq!(CowShared::ref_count(&writable), 1);
    assert_eq!(writable.value, 7);
    assert_eq!(counter.clones(), 1);
    assert_eq!(counter.drops(), 0);
}

#[test]
fn make_writable_on_a_unique_value_is_the_same_value() {
    let counter = Counter::new();
    let a = CowShared::new(counter.value(1));
    let before = CowShared::as_ptr(&a);
    let b = CowShared::make_writable(a);
    assert_eq!(CowShared::as_ptr(&b), before);
    assert_eq!(counter.clones(), 0);
}

#[test]
fn get_writable_copies_only_when_shared() {
    let counter = Counter::new();
    let mut a = CowShared::new(counter.value(1));
    let at = CowShared::as_ptr(&a);

    CowShared::get_writable(&mut a).value = 2;
    assert_eq!(CowShared::as_ptr(&a), at, "unique: written in place");
    assert_eq!(counter.clones(), 0);

    let b = a.clone();
    CowShared::get_writable(&mut a).value = 3;
    assert_eq!(counter.clones(), 1, "shared: exactly one copy");
    assert_ne!(CowShared::as_ptr(&a), at);
    assert_eq!(b.value, 2, "the other holder never sees the write");
    assert_eq!(a.value, 3);
    assert_eq!(
        CowShared::ref_count(&b),
        1,
        "the handle let go of the original"
    );

    CowShared::get_writable(&mut a).value = 4;
    assert_eq!(counter.clones(), 1, "unique again: no second copy");
    drop((a, b));
    assert_eq!(counter.drops(), 2);
}

#[test]
fn get_mut_never_copies() {
    let counter = Counter::new();
    let mut a = CowShared::new(counter.value(1));
    let b = a.clone();
    assert!(CowShared::get_mut(&mut a).is_none());
    drop(b);
    CowShared::get_mut(&mut a).expect("unique").value = 5;
    assert_eq!(a.value, 5);
    assert_eq!(counter.clones(), 0);
}

#[test]
fn try_unwrap_and_unwrap_or_clone() {
    let counter = Counter::new();
    let a = CowShared::new(counter.value(1));
    let b = a.clone();
    let a = CowShared::try_unwrap(a).expect_err("shared");
    assert_eq!(
        CowShared::ref_count(&a),
        2,
        "a failed unwrap changes nothing"
    );
    drop(b);
    let value = CowShared::try_unwrap(a).expect("unique");
    assert_eq!(value.value, 1);
    assert_eq!(counter.drops(), 0, "moved out, not dropped");
    drop(value);
    assert_eq!(counter.drops(), 1);

    let a = CowShared::new(counter.value(2));
    let b = a.clone();
    let value = CowShared::unwrap_or_clone(a);
    assert_eq!(counter.clones(), 1, "shared: cloned");
    assert_eq!(CowShared::ref_count(&b), 1);
    let moved = CowShared::unwrap_or_clone(b);
    assert_eq!(counter.clones(), 1, "unique: moved");
    assert_eq!((value.value, moved.value), (2, 2));
}

#[test]
fn ten_threads_times_ten_thousand_clones_give_the_exact_count() {
    let threads = 10;
    let per_thread = scaled(10_000, 50);
    let a = CowShared::new(0u8);
    let barrier = Barrier::new(threads);
    let clones: Vec<Vec<CowShared<u8>>> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    (0..per_thread).map(|_| a.clone()).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(CowShared::ref_count(&a), 1 + threads * per_thread);

    let barrier = Barrier::new(threads);
    thread::scope(|s| {
        for batch in clones {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                drop(batch);
            });
        }
    });
    assert_eq!(CowShared::ref_count(&a), 1);
    assert!(CowShared::is_writable(&a));
}

#[test]
fn the_last_drop_on_any_thread_drops_the_value_once() {
    for _ in 0..scaled(200, 5) {
        let counter = Counter::new();
        let a = CowShared::new(counter.value(0));
        let handles: Vec<_> = (0..4).map(|_| a.clone()).collect();
        drop(a);
        thread::scope(|s| {
            for h in handles {
                s.spawn(move || drop(h));
            }
        });
        assert_eq!(counter.drops(), 1);
    }
}

#[test]
fn writers_never_change_what_readers_hold() {
    // Each round: readers hold clones and check the value stays the original while a
    // writer on another thread calls get_writable on its own handle and writes.
    for round in 0..scaled(200, 4) as u64 {
        let original = CowShared::new([round; 16]);
        let mut writer = original.clone();
        thread::scope(|s| {
            for _ in 0..2 {
                let reader = original.clone();
                s.spawn(move || {
                    for _ in 0..scaled(100, 3) {
                        assert!(reader.iter().all(|&x| x == round));
                    }
                });
            }
            s.spawn(move || {
                CowShared::get_writable(&mut writer).fill(u64::MAX);
                assert!(writer.iter().all(|&x| x == u64::MAX));
            });
        });
        assert!(original.iter().all(|&x| x == round));
        assert!(CowShared::is_writable(&original));
    }
}

#[test]
fn traits_forward_to_the_value() {
    let a = CowShared::new(String::from("a"));
    let b = CowShared::from(String::from("b"));
    assert!(a < b);
    assert_eq!(a, CowShared::new(String::from("a")));
    assert_eq!(a.cmp(&b), std::cmp::Ordering::Less);
    assert_eq!(format!("{a:?}"), "\"a\"");
    assert_eq!(format!("{a}"), "a");
    let hash = |v: &dyn Fn(&mut DefaultHasher)| {
        let mut h = DefaultHasher::new();
        v(&mut h);
        h.finish()
    };
    assert_eq!(hash(&|h| a.hash(h)), hash(&|h| "a".to_string().hash(h)));
    assert_eq!(*CowShared::<Vec<u8>>::default(), Vec::<u8>::new());
}
