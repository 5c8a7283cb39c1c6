//! Floating references: GLib's `ref_sink` table and the races GStreamer's objects face.

mod common;

use common::{at_once, scaled, Counter};
use mtsafe::{Floating, Object};

fn state(o: &Object<impl Sized>) -> (bool, usize) {
    (Object::is_floating(o), Object::ref_count(o))
}

#[test]
fn glib_ref_sink_table() {
    let counter = Counter::new();
    let floating = Object::with_name("x", counter.value(1));
    assert_eq!(state(&floating), (true, 1), "new");
    let a = floating.sink();
    assert_eq!(state(&a), (false, 1), "ref_sink on floating");
    let b = Object::ref_sink(&a);
    assert_eq!(state(&a), (false, 2), "ref_sink on non-floating");
    drop(b);
    assert_eq!(state(&a), (false, 1), "unref");
    let floating = Object::force_floating(a);
    assert_eq!(state(&floating), (true, 1), "force_floating");
    assert_eq!(counter.drops(), 0);
    drop(floating);
    assert_eq!(
        counter.drops(),
        1,
        "dropping a floating reference destroys the object"
    );
}

#[test]
fn an_unsunk_floating_object_is_destroyed_with_its_floating_handle() {
    let counter = Counter::new();
    let floating = Object::new(counter.value(1));
    let weak = floating.downgrade();
    drop(floating);
    assert_eq!(counter.drops(), 1);
    assert!(weak.upgrade().is_none());
}

#[test]
fn a_handle_taken_from_a_floating_object_leaves_it_floating() {
    let floating = Object::with_name("x", ());
    let handle = Object::clone(&floating);
    assert_eq!(state(&handle), (true, 2), "g_object_ref keeps the flag");
    drop(floating);
    assert_eq!(state(&handle), (false, 1), "the floating reference went");
}

#[test]
fn ref_sink_through_a_handle_adopts_and_the_floating_handle_then_owes_nothing() {
    let counter = Counter::new();
    let floating = Object::with_name("x", counter.value(1));
    let handle = Object::clone(&floating);
    let adopted = Object::ref_sink(&handle);
    assert_eq!(
        state(&adopted),
        (false, 2),
        "adopting keeps the count: handle + adopted"
    );
    drop(floating); // its reference was adopted: releasing it changes nothing visible
    assert_eq!(state(&adopted), (false, 2));
    drop(handle);
    assert_eq!(state(&adopted), (false, 1));
    assert_eq!(counter.drops(), 0);
    drop(adopted);
    assert_eq!(counter.drops(), 1);
}

#[test]
fn sinking_a_floating_handle_whose_reference_was_adopted_adds_a_reference() {
    let floating = Object::with_name("x", ());
    let adopted = Object::ref_sink(&floating); // via Deref: adopts
    assert_eq!(state(&adopted), (false, 1));
    let second = floating.sink(); // nothing to adopt any more: an ordinary reference
    assert_eq!(state(&second), (false, 2));
}

#[test]
fn force_floating_on_a_floating_object_keeps_one_floating_reference() {
    let first = Object::with_name("x", ());
    let other = Object::clone(&first);
    let second = Object::force_floating(other);
    assert_eq!(state(&second), (true, 2));
    drop(first); // the floating one: released
    assert_eq!(state(&second), (false, 1));
    let owned = second.sink();
    assert_eq!(state(&owned), (false, 1));
}

/// Two threads each hold a handle to one floating object and both `ref_sink`:
/// exactly one adopts, the other adds a reference, the count ends exact, the object
/// is destroyed exactly once.
#[test]
fn racing_ref_sinks_adopt_exactly_once() {
    for _ in 0..scaled(2000, 20) {
        let counter = Counter::new();
        let floating = Object::with_name("x", counter.value(1));
        let handles = [Object::clone(&floating), Object::clone(&floating)];
        let (a, b) = at_once(
            || Object::ref_sink(&handles[0]),
            || Object::ref_sink(&handles[1]),
        );
        let sunk = [a, b];
        // floating + 2 handles + 2 ref_sinks, of which one adopted the floating one.
        assert_eq!(state(&sunk[0]), (false, 4));
        drop(floating);
        assert_eq!(
            state(&sunk[0]),
            (false, 4),
            "the adopted reference is not released"
        );
        drop(handles);
        assert_eq!(state(&sunk[0]), (false, 2));
        drop(sunk);
        assert_eq!(counter.drops(), 1);
    }
}

/// A `ref_sink` racing the drop of the floating handle: either order leaves exactly
/// the handle and what `ref_sink` returned.
#[test]
fn ref_sink_racing_the_floating_drop_ends_exact() {
    for _ in 0..scaled(2000, 20) {
        let counter = Counter::new();
        let floating: Floating<_> = Object::with_name("x", counter.value(1));
        let handle = Object::clone(&floating);
        let (sunk, ()) = at_once(|| Object::ref_sink(&handle), move || drop(floating));
        assert_eq!(state(&sunk), (false, 2));
        drop(handle);
        assert_eq!(state(&sunk), (false, 1));
        drop(sunk);
        assert_eq!(counter.drops(), 1);
    }
}

/// `Floating::sink` racing a handle's `ref_sink`: one adopts, one adds.
#[test]
fn sink_racing_ref_sink_ends_exact() {
    for _ in 0..scaled(2000, 20) {
        let counter = Counter::new();
        let floating = Object::with_name("x", counter.value(1));
        let handle = Object::clone(&floating);
        let (a, b) = at_once(move || floating.sink(), || Object::ref_sink(&handle));
        assert_eq!(state(&a), (false, 3), "handle + one adopted + one added");
        drop((a, b, handle));
        assert_eq!(counter.drops(), 1);
    }
}
