//! `Object`: identity (equality, order, hash), the queries' answers, and refusals
//! that name the right objects.

use mtsafe::{Object, ObjectError, WeakObject};
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

fn named(name: &str) -> Object<()> {
    Object::with_name(name, ()).sink()
}

fn hash_of<T: Hash>(x: &T) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

#[test]
fn objects_and_weak_handles_compare_by_identity() {
    let (a, b) = (named("same"), named("same"));
    let a2 = a.clone();
    assert!(a == a2);
    assert!(a != b);
    assert_eq!(a.cmp(&a2), Ordering::Equal);
    assert_ne!(a.cmp(&b), Ordering::Equal);
    assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
    assert_eq!(a.partial_cmp(&b), Some(a.cmp(&b)));
    assert_eq!(hash_of(&a), hash_of(&a2));
    assert_ne!(hash_of(&a), hash_of(&b));

    let (wa, wb): (WeakObject<()>, WeakObject<()>) = (a.downgrade(), b.downgrade());
    let wa2 = wa.clone();
    assert!(wa == wa2);
    assert!(wa != wb);
    assert_eq!(wa.cmp(&wa2), Ordering::Equal);
    assert_eq!(wa.cmp(&wb), a.cmp(&b), "a weak handle orders as its object");
    assert_eq!(wa.partial_cmp(&wb), Some(wa.cmp(&wb)));
    assert_eq!(hash_of(&wa), hash_of(&wa2));
    assert_ne!(hash_of(&wa), hash_of(&wb));
    assert!(Object::ptr_eq(&wa2.upgrade().unwrap(), &a));
}

#[test]
fn counts_and_names_read_back() {
    let a = Object::with_name("given", 7u8);
    assert!(Object::is_floating(&a));
    assert_eq!(Object::ref_count(&a), 1);
    let a = a.sink();
    assert!(!Object::is_floating(&a));
    let b = a.clone();
    assert_eq!(Object::ref_count(&a), 2);
    drop(b);
    assert_eq!(a.name(), "given");
    assert!(a.has_name("given") && !a.has_name("other"));
    assert_eq!(*a, 7);
    a.set_name("renamed").unwrap();
    assert_eq!(a.name(), "renamed");
    let guard = a.lock();
    assert_eq!(guard.name(), "renamed");
    assert!(guard.parent().is_none());
    assert!(a.is_locked_by_current_thread());
    drop(guard);
    assert!(!a.is_locked_by_current_thread());
}

/// A type whose default names are `widget<n>`.
struct Widget;

#[test]
fn default_names_are_the_lowercased_type_name_and_a_number() {
    let w = Object::new(Widget).sink();
    let name = w.name();
    let digits = name.strip_prefix("widget").expect(&name);
    assert!(
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    assert!(w.has_name(&name));
}

#[test]
fn the_hierarchy_queries_answer_for_parent_and_ancestor() {
    let (top, mid, leaf, other) = (named("top"), named("mid"), named("leaf"), named("x"));
    top.add(&mid).unwrap();
    mid.add(&leaf).unwrap();
    assert!(leaf.has_as_parent(&mid) && !leaf.has_as_parent(&top));
    assert!(leaf.has_as_ancestor(&top) && leaf.has_as_ancestor(&mid));
    assert!(leaf.has_as_ancestor(&leaf), "an object is its own ancestor");
    assert!(!leaf.has_as_ancestor(&other) && !top.has_as_ancestor(&leaf));
    assert!(Object::ptr_eq(&leaf.toplevel(), &top));
    assert!(Object::ptr_eq(&top.toplevel(), &top));
    assert_eq!(top.n_children(), 1);
    assert_eq!(mid.n_children(), 1);
    assert_eq!(leaf.n_children(), 0);
    assert!(Object::ptr_eq(&mid.child_by_name("leaf").unwrap(), &leaf));
    assert!(mid.child_by_name("top").is_none());
    assert_eq!(mid.children_snapshot().len(), 1);
    let guard = leaf.lock();
    assert!(Object::ptr_eq(&guard.parent().unwrap(), &mid));
    drop(guard);
}

#[test]
fn adding_under_a_descendant_is_refused_and_names_both() {
    let (top, mid, leaf) = (named("top"), named("mid"), named("leaf"));
    top.add(&mid).unwrap();
    mid.add(&leaf).unwrap();
    assert_eq!(
        leaf.add(&top),
        Err(ObjectError::WouldCycle {
            child: "top".into(),
            parent: "leaf".into()
        })
    );
    // Into a tree from below its root, and across trees: accepted.
    let (other_top, other_child) = (named("ot"), named("oc"));
    other_top.add(&other_child).unwrap();
    leaf.add(&other_top).unwrap();
    assert!(other_child.has_as_ancestor(&top));
    assert_eq!(leaf.n_children(), 1);
}

#[test]
fn remove_refuses_a_child_of_another_parent_and_changes_nothing() {
    let (a, b, child) = (named("a"), named("b"), named("c"));
    a.add(&child).unwrap();
    let cookie = a.children_cookie();
    assert_eq!(
        b.remove(&child),
        Err(ObjectError::NotAChild {
            child: "c".into(),
            parent: "b".into()
        })
    );
    assert!(child.has_as_parent(&a));
    assert_eq!((a.n_children(), a.children_cookie()), (1, cookie));
    assert_eq!(a.remove(&child), Ok(()));
    assert!(child.parent().is_none());
    assert_ne!(a.children_cookie(), cookie, "a removal changes the cookie");
    assert_eq!(a.n_children(), 0);
}

#[test]
fn unparent_says_whether_there_was_a_parent() {
    let (bin, child) = (named("bin"), named("c"));
    bin.add(&child).unwrap();
    assert_eq!(child.unparent(), Ok(true));
    assert_eq!(bin.n_children(), 0);
    assert_eq!(child.unparent(), Ok(false));
}

#[test]
fn a_duplicate_name_among_siblings_is_refused_only_there() {
    let (bin, a, a2) = (named("bin"), named("a"), named("a"));
    bin.add(&a).unwrap();
    assert_eq!(
        bin.add(&a2),
        Err(ObjectError::DuplicateName {
            name: "a".into(),
            parent: "bin".into()
        })
    );
    assert!(a2.parent().is_none());
    named("other").add(&a2).unwrap();
    let b = named("b");
    bin.add(&b).unwrap();
    assert_eq!(bin.n_children(), 2);
}

#[test]
fn a_dropped_parent_leaves_its_children_parentless() {
    let (bin, child) = (named("bin"), named("c"));
    bin.add(&child).unwrap();
    drop(bin);
    assert!(child.parent().is_none());
    assert_eq!(child.unparent(), Ok(false));
    child.set_name("free").unwrap();
}

#[test]
fn the_children_cookie_changes_with_each_add() {
    let bin = named("bin");
    let before = bin.children_cookie();
    bin.add(named("a")).unwrap();
    let after = bin.children_cookie();
    assert_ne!(before, after);
    bin.add(named("b")).unwrap();
    assert_ne!(after, bin.children_cookie());
}

/// Types whose default names no other test takes, so their numbers start at 0.
struct NumberingProbe;
struct OtherProbe;

#[test]
fn default_names_count_from_zero_per_type_and_keep_their_own_prefix() {
    std::thread::spawn(|| {
        let names: Vec<String> = (0..3)
            .map(|_| Object::new(NumberingProbe).sink().name())
            .collect();
        assert_eq!(
            names,
            ["numberingprobe0", "numberingprobe1", "numberingprobe2"]
        );
        // A second type on the same thread has a counter and a prefix of its own.
        assert_eq!(Object::new(OtherProbe).sink().name(), "otherprobe0");
        assert_eq!(Object::new(NumberingProbe).sink().name(), "numberingprobe3");
    })
    .join()
    .unwrap();
}
