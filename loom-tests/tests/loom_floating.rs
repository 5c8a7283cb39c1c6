//! loom models of floating references: sinks racing sinks and drops.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p mtsafe-loom-tests --release --test loom_floating`.
//!
//! Each object's data is a [`Tracked`]: a model fails if an object leaks or is
//! destroyed twice, and every model checks the count GLib would report.
#![cfg(loom)]

use loom::thread;
use mtsafe::{Object, ObjectError};
use mtsafe_loom_tests::{drop_counter, drops, Tracked};

fn state<T>(o: &Object<T>) -> (bool, usize) {
    (Object::is_floating(o), Object::ref_count(o))
}

/// Two threads, each with a handle to one floating object, both `ref_sink`: exactly
/// one adopts the floating reference and the other adds one.
#[test]
fn racing_ref_sinks_adopt_exactly_once() {
    loom::model(|| {
        let counter = drop_counter();
        let floating = Object::with_name("x", Tracked::new(&counter));
        let (h1, h2) = (Object::clone(&floating), Object::clone(&floating));
        let t = thread::spawn(move || {
            let sunk = Object::ref_sink(&h1);
            (h1, sunk)
        });
        let mine = Object::ref_sink(&h2);
        let (h1, theirs) = t.join().unwrap();
        // floating + h1 + h2 + two ref_sinks, one of which adopted the floating one.
        assert_eq!(state(&mine), (false, 4));
        drop(floating);
        assert_eq!(
            state(&mine),
            (false, 4),
            "an adopted reference is not released"
        );
        drop((h1, h2, theirs));
        assert_eq!(state(&mine), (false, 1));
        drop(mine);
        assert_eq!(drops(&counter), 1);
    });
}

/// A handle's `ref_sink` racing the drop of the `Floating<T>`: either the sink
/// adopts (and the drop releases nothing visible) or the drop releases the floating
/// reference first (and the sink adds one); the count ends the same.
#[test]
fn ref_sink_racing_the_floating_drop() {
    loom::model(|| {
        let counter = drop_counter();
        let floating = Object::with_name("x", Tracked::new(&counter));
        let handle = Object::clone(&floating);
        let t = thread::spawn(move || drop(floating));
        let sunk = Object::ref_sink(&handle);
        t.join().unwrap();
        assert_eq!(state(&sunk), (false, 2));
        drop(handle);
        assert_eq!(drops(&counter), 0);
        drop(sunk);
        assert_eq!(drops(&counter), 1);
    });
}

/// `Floating::sink` by the creator racing a handle's `ref_sink` on another thread.
#[test]
fn sink_racing_ref_sink() {
    loom::model(|| {
        let counter = drop_counter();
        let floating = Object::with_name("x", Tracked::new(&counter));
        let handle = Object::clone(&floating);
        let t = thread::spawn(move || {
            let sunk = Object::ref_sink(&handle);
            (handle, sunk)
        });
        let owned = floating.sink();
        let (handle, sunk) = t.join().unwrap();
        assert_eq!(
            state(&owned),
            (false, 3),
            "handle + one adopted + one added"
        );
        drop((handle, sunk));
        assert_eq!(state(&owned), (false, 1));
        drop(owned);
        assert_eq!(drops(&counter), 1);
    });
}

/// A floating child added to a parent on one thread while another thread's handle
/// `ref_sink`s it: one of them adopts, the parent holds a reference either way, and
/// a refused add (here: a duplicate name) destroys nothing it does not own.
#[test]
fn add_racing_ref_sink() {
    loom::model(|| {
        let counter = drop_counter();
        let parent = Object::with_name("bin", Tracked::new(&counter)).sink();
        let child = Object::with_name("c", Tracked::new(&counter));
        let handle = Object::clone(&child);
        let t = thread::spawn(move || {
            let sunk = Object::ref_sink(&handle);
            (handle, sunk)
        });
        parent.add(child).unwrap();
        let (handle, sunk) = t.join().unwrap();
        assert_eq!(state(&handle), (false, 3), "parent's + handle + sunk");
        let duplicate = Object::with_name("c", Tracked::new(&counter));
        assert!(matches!(
            parent.add(duplicate),
            Err(ObjectError::DuplicateName { .. })
        ));
        assert_eq!(
            drops(&counter),
            1,
            "the refused floating child is destroyed"
        );
        drop((handle, sunk, parent));
        assert_eq!(drops(&counter), 3);
    });
}
