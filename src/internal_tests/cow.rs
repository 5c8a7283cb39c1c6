//! The weak handle (`WeakShared`): what it names, what it counts, and the boundaries
//! of the strong and link counts it raises.

use crate::cow::MAX_LINKS;
use crate::sync::atomic::Ordering;
use crate::CowShared;

/// `MAX_STRONG` (private to the module): past it a new strong handle aborts.
const MAX_STRONG: usize = isize::MAX as usize;

fn counts<T>(a: &CowShared<T>) -> (usize, usize) {
    let h = a.header();
    // Relaxed: single-threaded test.
    (
        h.strong.load(Ordering::Relaxed),
        h.links.load(Ordering::Relaxed),
    )
}

#[test]
fn a_weak_handle_names_its_own_allocation_only() {
    let (a, b) = (CowShared::new(1u8), CowShared::new(2u8));
    let w = CowShared::downgrade(&a);
    assert!(w.is(&a));
    assert!(!w.is(&b));
    assert!(w.points_to(CowShared::as_ptr(&a)));
    assert!(!w.points_to(CowShared::as_ptr(&b)));
    assert_eq!(w.value_ptr(), CowShared::as_ptr(&a));
    assert!(CowShared::ptr_eq(&w.upgrade().unwrap(), &a));
}

#[test]
fn weak_handles_count_in_the_link_word_and_give_their_count_back() {
    let a = CowShared::new(String::from("a"));
    assert_eq!(counts(&a), (1, 1));
    let w = CowShared::downgrade(&a);
    assert_eq!(counts(&a), (1, 2));
    let w2 = w.clone();
    assert_eq!(counts(&a), (1, 3));
    drop(w2);
    assert_eq!(
        counts(&a),
        (1, 2),
        "a dropped weak handle gives its count back"
    );
    assert!(w.is_live());
    let strong = w.upgrade().unwrap();
    assert_eq!(counts(&a), (2, 2));
    drop(strong);
    drop(a);
    assert!(!w.is_live(), "the last strong handle went");
    assert!(w.upgrade().is_none(), "never resurrected");
    drop(w); // frees the header; Miri's leak check sees a missed free
}

#[test]
fn a_weak_handle_outlives_the_value_but_not_the_header() {
    let a = CowShared::new(5u32);
    let w = CowShared::downgrade(&a);
    let w2 = w.clone();
    drop(a);
    assert!(!w2.is_live());
    drop(w);
    assert!(w2.upgrade().is_none());
}

#[test]
#[cfg(all(unix, not(miri)))]
fn downgrade_at_the_link_limit_succeeds_and_past_it_aborts() {
    let a = CowShared::new(0u8);
    super::abort_boundary!(
        downgrade_at_the_link_limit_succeeds_and_past_it_aborts,
        || {
            a.header().links.store(MAX_LINKS, Ordering::Relaxed);
            core::mem::forget(CowShared::downgrade(&a));
        },
        || core::mem::forget(CowShared::downgrade(&a))
    );
}

#[test]
#[cfg(all(unix, not(miri)))]
fn a_weak_clone_at_the_link_limit_succeeds_and_past_it_aborts() {
    let a = CowShared::new(0u8);
    let w = CowShared::downgrade(&a);
    super::abort_boundary!(
        a_weak_clone_at_the_link_limit_succeeds_and_past_it_aborts,
        || {
            a.header().links.store(MAX_LINKS, Ordering::Relaxed);
            core::mem::forget(w.clone());
        },
        || core::mem::forget(w.clone())
    );
}

#[test]
#[cfg(all(unix, not(miri)))]
fn upgrade_at_the_strong_limit_succeeds_and_past_it_aborts() {
    let a = CowShared::new(0u8);
    let w = CowShared::downgrade(&a);
    super::abort_boundary!(
        upgrade_at_the_strong_limit_succeeds_and_past_it_aborts,
        || {
            a.header().strong.store(MAX_STRONG, Ordering::Relaxed);
            core::mem::forget(w.upgrade().unwrap());
        },
        || core::mem::forget(w.upgrade())
    );
}
