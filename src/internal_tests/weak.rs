//! The weak handle (`WeakShared`) and its strong type: what a weak handle names, what
//! it counts, and the boundaries of the strong and link counts it raises. A child of
//! `shared::weak` (declared there), for the private counts.

use super::*;
use crate::shared::header::{MAX_LINKS, MAX_STRONG};

#[test]
fn a_weak_handle_names_its_own_allocation_only() {
    let (a, b) = (StrongShared::new(1u8), StrongShared::new(2u8));
    let w = StrongShared::downgrade(&a);
    assert!(w.is(&a));
    assert!(!w.is(&b));
    assert!(w.points_to(StrongShared::as_ptr(&a)));
    assert!(!w.points_to(StrongShared::as_ptr(&b)));
    assert_eq!(w.value_ptr(), StrongShared::as_ptr(&a));
    assert!(StrongShared::ptr_eq(&w.upgrade().unwrap(), &a));
    assert!(!StrongShared::ptr_eq(&a, &b));
}

#[test]
fn weak_handles_count_in_the_link_word_and_give_their_count_back() {
    let a = StrongShared::new(String::from("a"));
    assert_eq!(a.header().counts(), (1, 1));
    assert_eq!(StrongShared::ref_count(&a), 1);
    let w = StrongShared::downgrade(&a);
    assert_eq!(a.header().counts(), (1, 2));
    let w2 = w.clone();
    assert_eq!(a.header().counts(), (1, 3));
    drop(w2);
    assert_eq!(
        a.header().counts(),
        (1, 2),
        "a dropped weak handle gives its count back"
    );
    assert!(w.is_live());
    let strong = w.upgrade().unwrap();
    assert_eq!(a.header().counts(), (2, 2));
    assert_eq!(StrongShared::ref_count(&a), 2);
    let third = strong.clone();
    assert_eq!(StrongShared::ref_count(&a), 3);
    drop((strong, third));
    assert_eq!(*a, "a");
    drop(a);
    assert!(!w.is_live(), "the last strong handle went");
    assert!(w.upgrade().is_none(), "never resurrected");
    drop(w); // frees the header; Miri's leak check sees a missed free
}

#[test]
#[cfg(all(unix, not(miri)))]
fn downgrade_at_the_link_limit_succeeds_and_past_it_aborts() {
    let a = StrongShared::new(0u8);
    crate::internal_tests::abort_boundary!(
        downgrade_at_the_link_limit_succeeds_and_past_it_aborts,
        || {
            a.header().force_counts(None, Some(MAX_LINKS));
            core::mem::forget(StrongShared::downgrade(&a));
        },
        || core::mem::forget(StrongShared::downgrade(&a))
    );
}

#[test]
#[cfg(all(unix, not(miri)))]
fn a_weak_clone_at_the_link_limit_succeeds_and_past_it_aborts() {
    let a = StrongShared::new(0u8);
    let w = StrongShared::downgrade(&a);
    crate::internal_tests::abort_boundary!(
        a_weak_clone_at_the_link_limit_succeeds_and_past_it_aborts,
        || {
            a.header().force_counts(None, Some(MAX_LINKS));
            core::mem::forget(w.clone());
        },
        || core::mem::forget(w.clone())
    );
}

#[test]
#[cfg(all(unix, not(miri)))]
fn upgrade_at_the_strong_limit_succeeds_and_past_it_aborts() {
    let a = StrongShared::new(0u8);
    let w = StrongShared::downgrade(&a);
    crate::internal_tests::abort_boundary!(
        upgrade_at_the_strong_limit_succeeds_and_past_it_aborts,
        || {
            a.header().force_counts(Some(MAX_STRONG), None);
            core::mem::forget(w.upgrade().unwrap());
        },
        || core::mem::forget(w.upgrade())
    );
}

#[test]
#[cfg(all(unix, not(miri)))]
fn a_strong_clone_at_the_strong_limit_succeeds_and_past_it_aborts() {
    let a = StrongShared::new(0u8);
    crate::internal_tests::abort_boundary!(
        a_strong_clone_at_the_strong_limit_succeeds_and_past_it_aborts,
        || {
            a.header().force_counts(Some(MAX_STRONG), None);
            core::mem::forget(a.clone());
        },
        || core::mem::forget(a.clone())
    );
}
