//! `Property` and `Snapshot`: comparisons, identity, and the value taken out.

use mtsafe::{Property, Snapshot};

#[test]
fn a_snapshot_compares_equal_to_its_value_only() {
    let p = Property::new(5u32);
    let s = p.load();
    assert!(s == 5);
    assert!(s != 6);
    assert!(!(s == 6));
    assert!(!(s != 5));
}

#[test]
fn snapshots_are_the_same_value_only_while_nothing_was_stored_between() {
    let p = Property::new(String::from("a"));
    let (first, again) = (p.load(), p.get());
    assert!(Snapshot::ptr_eq(&first, &again));
    assert!(Snapshot::ptr_eq(&first, &first.clone()));
    p.set(String::from("a"));
    let after = p.load();
    assert!(
        !Snapshot::ptr_eq(&first, &after),
        "a new value, though equal"
    );
    assert!(first == *after);
}

#[test]
fn replace_and_update_return_the_value_they_displaced_or_stored() {
    let p = Property::new(1u32);
    assert_eq!(*p.replace(2), 1);
    assert_eq!(*p.load(), 2);
    assert_eq!(*p.update(|n| n * 10), 2, "update returns the old value");
    assert_eq!(*p.get(), 20);
    assert_eq!(*Property::<u32>::default().load(), 0);
}

#[test]
fn into_value_moves_out_when_alone_and_clones_when_shared() {
    let p = Property::new(vec![1u8, 2]);
    let s = p.load();
    let kept = s.clone();
    assert_eq!(Snapshot::into_value(s), [1, 2]);
    drop(p);
    let ptr = kept.as_ptr();
    let v = Snapshot::into_value(kept);
    assert_eq!(v, [1, 2]);
    assert_eq!(
        v.as_ptr(),
        ptr,
        "the last holder moves the value out, no copy"
    );
}
