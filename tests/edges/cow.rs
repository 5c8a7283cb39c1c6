//! `CowShared`: the comparison traits forward to the value, and the conversions.

use mtsafe::CowShared;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

fn hash_of<T: Hash + ?Sized>(x: &T) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

#[test]
fn comparisons_are_the_values_not_the_handles() {
    let (a, b, a2) = (
        CowShared::new(1u32),
        CowShared::new(2u32),
        CowShared::new(1u32),
    );
    assert!(a == a2);
    assert!(a != b);
    assert_eq!(a.partial_cmp(&b), Some(Ordering::Less));
    assert_eq!(b.partial_cmp(&a), Some(Ordering::Greater));
    assert_eq!(a.partial_cmp(&a2), Some(Ordering::Equal));
    assert_eq!(a.cmp(&b), Ordering::Less);
    assert_eq!(b.cmp(&a), Ordering::Greater);
    assert_eq!(a.cmp(&a2), Ordering::Equal);
    assert!(a < b);
    assert!(b > a);
    assert!(a <= a2);
    assert_eq!(hash_of(&a), hash_of(&1u32));
    assert_eq!(hash_of(&a), hash_of(&a2));
    assert_ne!(hash_of(&a), hash_of(&b));
}

#[test]
fn conversions_give_the_value() {
    let a: CowShared<String> = String::from("x").into();
    assert_eq!(AsRef::<String>::as_ref(&a), "x");
    assert_eq!(Borrow::<String>::borrow(&a), "x");
    assert_eq!(*CowShared::<Vec<u8>>::default(), Vec::<u8>::new());
    assert_eq!(*CowShared::<u32>::default(), 0);
    assert!(std::ptr::eq(
        AsRef::<String>::as_ref(&a),
        CowShared::as_ptr(&a)
    ));
    assert_eq!(format!("{a:p}"), format!("{:p}", CowShared::as_ptr(&a)));
}

#[test]
fn unwrap_or_clone_moves_out_when_alone_and_clones_when_shared() {
    let a = CowShared::new(vec![1u8, 2]);
    let ptr = a.as_ptr();
    let b = a.clone();
    let copied = CowShared::unwrap_or_clone(a);
    assert_ne!(copied.as_ptr(), ptr, "shared: a copy");
    assert_eq!(
        CowShared::ref_count(&b),
        1,
        "the shared handle was released"
    );
    let moved = CowShared::unwrap_or_clone(b);
    assert_eq!(moved.as_ptr(), ptr, "alone: the value itself");
    assert_eq!(moved, [1, 2]);
}

#[test]
fn try_unwrap_and_get_mut_refuse_a_shared_value() {
    let mut a = CowShared::new(3u8);
    let b = a.clone();
    assert!(CowShared::get_mut(&mut a).is_none());
    let a = CowShared::try_unwrap(a).unwrap_err();
    assert_eq!(CowShared::ref_count(&a), 2, "given back with its count");
    drop(b);
    let mut a = a;
    *CowShared::get_mut(&mut a).unwrap() = 4;
    assert_eq!(CowShared::try_unwrap(a), Ok(4));
}
