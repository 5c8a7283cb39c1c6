//! The object hierarchy: GStreamer's parentage cases, add/remove, names, iteration.

mod common;

use common::{at_once, scaled, Counted, Counter};
use mtsafe::{Object, ObjectError, Resync, ResyncIterator};
use std::collections::HashSet;
use std::thread;

/// Every object of one hierarchy has one data type; these carry an optional
/// counted payload so that a test can watch one of them die.
type Elem = Option<Counted>;

fn named(name: &str) -> Object<Elem> {
    Object::with_name(name, None).sink()
}

#[test]
fn set_parent_to_itself_is_refused() {
    let obj = named("a");
    let err = obj.add(&obj).unwrap_err();
    assert_eq!(err, ObjectError::SelfParent { name: "a".into() });
    assert!(obj.parent().is_none());
    assert_eq!(obj.n_children(), 0);
    assert_eq!(
        Object::ref_count(&obj),
        1,
        "the refused add took no reference"
    );
}

#[test]
fn a_second_parent_is_refused_and_nothing_changes() {
    let (p1, p2, child) = (named("p1"), named("p2"), named("c"));
    p1.add(&child).unwrap();
    let cookie = p2.children_cookie();
    let err = p2.add(&child).unwrap_err();
    assert_eq!(
        err,
        ObjectError::HasParent {
            child: "c".into(),
            parent: "p1".into()
        }
    );
    assert!(child.has_as_parent(&p1));
    assert_eq!(p2.n_children(), 0);
    assert_eq!(p2.children_cookie(), cookie, "a refused add is no change");
    assert_eq!(Object::ref_count(&child), 2, "ours + p1's");
}

#[test]
fn unparenting_a_child_whose_only_reference_was_the_parents_destroys_it() {
    let counter = Counter::new();
    let parent = named("bin");
    let child = Object::with_name("src", Some(counter.value(1)));
    let weak = child.downgrade();
    parent.add(child).unwrap(); // the floating reference is now the parent's
    assert_eq!(counter.drops(), 0);
    // A temporary handle names the child; it is gone at the end of the statement.
    assert!(weak.upgrade().unwrap().unparent().unwrap());
    assert_eq!(counter.drops(), 1);
    assert!(weak.upgrade().is_none());
    assert_eq!(parent.n_children(), 0);
}

#[test]
fn a_failed_add_consumes_a_floating_child_and_leaks_nothing() {
    let counter = Counter::new();
    let (bin, other) = (named("bin"), named("other"));
    bin.add(Object::with_name("dup", Some(counter.value(1))))
        .unwrap();
    // Duplicate name: refused, and the floating child is destroyed.
    let err = bin
        .add(Object::with_name("dup", Some(counter.value(2))))
        .unwrap_err();
    assert!(matches!(err, ObjectError::DuplicateName { .. }), "{err}");
    assert_eq!(
        counter.drops(),
        1,
        "the refused floating child is destroyed"
    );
    // Already parented, handed over by value: refused, the handle is released.
    let held = bin.child_by_name("dup").unwrap();
    assert!(other.add(held).is_err());
    assert_eq!(bin.n_children(), 1);
    drop(bin);
    assert_eq!(counter.drops(), 2);
    drop(other);
}

#[test]
fn a_default_name_and_the_same_name_given_are_duplicates() {
    let bin = named("bin");
    let child = Object::new(None);
    let text = child.name();
    assert!(text.starts_with("option"), "{text}");
    assert!(child.has_name(&text));
    assert!(!child.has_name(&format!("{text}0")));
    bin.add(child).unwrap();
    let cookie = bin.children_cookie();

    // The given name spells the default one: refused, nothing changed.
    let twin = named(&text);
    let err = bin.add(&twin).unwrap_err();
    assert_eq!(
        err,
        ObjectError::DuplicateName {
            name: text.clone(),
            parent: "bin".into()
        }
    );
    assert!(
        twin.parent().is_none(),
        "a refused child keeps no parent link"
    );
    assert_eq!(bin.children_cookie(), cookie, "a refused add is no change");
    assert_eq!(
        Object::ref_count(&twin),
        1,
        "the refused add kept no reference"
    );
    assert!(bin.child_by_name(&text).is_some_and(|c| c.has_name(&text)));

    // And the other way round: a default-named child where the text is taken.
    let bin = named("bin2");
    let next = Object::new(None);
    let taken = next.name();
    bin.add(named(&taken)).unwrap();
    assert!(matches!(
        bin.add(next),
        Err(ObjectError::DuplicateName { .. })
    ));
    assert_eq!(bin.n_children(), 1);
}

#[test]
fn adding_an_ancestor_is_refused() {
    let (top, mid, leaf) = (named("top"), named("mid"), named("leaf"));
    top.add(&mid).unwrap();
    mid.add(&leaf).unwrap();
    assert!(matches!(
        leaf.add(&top),
        Err(ObjectError::WouldCycle { .. })
    ));
    assert!(matches!(
        leaf.add(&mid),
        Err(ObjectError::WouldCycle { .. })
    ));
    assert!(leaf.parent().is_some_and(|p| Object::ptr_eq(&p, &mid)));
}

#[test]
fn ancestors_and_toplevel() {
    let (top, mid, leaf, stranger) = (named("top"), named("mid"), named("leaf"), named("x"));
    top.add(&mid).unwrap();
    mid.add(&leaf).unwrap();
    assert!(leaf.has_as_ancestor(&leaf), "an object is its own ancestor");
    assert!(!leaf.has_as_parent(&leaf), "but not its own parent");
    assert!(leaf.has_as_ancestor(&mid) && leaf.has_as_ancestor(&top));
    assert!(!leaf.has_as_ancestor(&stranger));
    assert!(!top.has_as_ancestor(&leaf));
    assert!(Object::ptr_eq(&leaf.toplevel(), &top));
    assert!(Object::ptr_eq(&top.toplevel(), &top));
}

#[test]
fn the_parent_link_is_weak_and_a_dying_parent_unparents_its_children() {
    let counter = Counter::new();
    let child = named("c");
    {
        let parent = Object::with_name("p", Some(counter.value(1))).sink();
        parent.add(&child).unwrap();
        assert!(child.parent().is_some());
        assert_eq!(
            Object::ref_count(&parent),
            1,
            "the child holds no strong reference"
        );
    }
    assert_eq!(
        counter.drops(),
        1,
        "the parent went although its child lives"
    );
    assert!(child.parent().is_none());
    // Unparented by the parent's death: free to join another.
    named("q").add(&child).unwrap();
}

#[test]
fn remove_of_a_non_child_is_refused() {
    let (bin, child) = (named("bin"), named("c"));
    assert!(matches!(
        bin.remove(&child),
        Err(ObjectError::NotAChild { .. })
    ));
    assert_eq!(child.unparent(), Ok(false));
}

#[test]
fn renaming_a_parented_object_is_refused() {
    let (bin, child) = (named("bin"), named("c"));
    child.set_name("renamed").unwrap();
    bin.add(&child).unwrap();
    assert_eq!(
        child.set_name("again"),
        Err(ObjectError::RenameParented {
            name: "renamed".into()
        })
    );
    assert_eq!(child.name(), "renamed");
    bin.remove(&child).unwrap();
    child.set_name("again").unwrap();
}

#[test]
fn default_names_are_unique_per_type_across_threads() {
    struct Identity;
    let per_thread = scaled(200, 10);
    let names: Vec<String> = thread::scope(|s| {
        let joins: Vec<_> = (0..5)
            .map(|_| {
                s.spawn(move || {
                    (0..per_thread)
                        .map(|_| Object::new(Identity).name())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        joins.into_iter().flat_map(|j| j.join().unwrap()).collect()
    });
    assert_eq!(names.len(), 5 * per_thread);
    let unique: HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "no duplicate default names");
    assert!(
        names.iter().all(|n| n.starts_with("identity")),
        "{:?}",
        &names[..3]
    );
}

#[test]
fn add_and_remove_bump_the_children_cookie_and_iteration_resyncs() {
    let bin = named("bin");
    bin.add(named("a")).unwrap();
    let mut it = bin.children();
    assert_eq!(it.next().unwrap().unwrap().name(), "a");
    let before = bin.children_cookie();
    bin.add(named("b")).unwrap();
    assert!(bin.children_cookie() > before);
    assert!(matches!(it.next(), Err(Resync)));
    it.resync();
    let names: Vec<_> = std::iter::from_fn(|| it.next().unwrap())
        .map(|c| c.name())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

/// Concurrent adds of one child to two parents: exactly one wins, the other gets
/// an error, and the child ends in exactly the winner's list.
#[test]
fn one_child_added_to_two_parents_at_once_has_one_winner() {
    for _ in 0..scaled(500, 10) {
        let (p1, p2, child) = (named("p1"), named("p2"), named("c"));
        let (first, second) = at_once(|| p1.add(&child), || p2.add(&child));
        let results = [first, second];
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{results:?}");
        let winner = if results[0].is_ok() { &p1 } else { &p2 };
        assert!(child.has_as_parent(winner));
        assert_eq!(p1.n_children() + p2.n_children(), 1);
        assert_eq!(Object::ref_count(&child), 2);
    }
}

/// `a.add(b)` racing `b.add(a)`: GStreamer can deadlock here (opposite lock
/// orders); mtsafe lets one win and refuses the other as a cycle.
#[test]
fn opposite_adds_neither_deadlock_nor_make_a_cycle() {
    for _ in 0..scaled(500, 10) {
        let (a, b) = (named("a"), named("b"));
        let (first, second) = at_once(|| a.add(&b), || b.add(&a));
        let results = [first, second];
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(results
            .iter()
            .any(|r| matches!(r, Err(ObjectError::WouldCycle { .. }))));
        // Break the link so both can go (a cycle would leak; there is none).
        let _ = a.unparent();
        let _ = b.unparent();
    }
}

/// Adds and removes on one thread while another walks the children with the resync
/// iterator: every pass that completes saw a consistent set (no duplicates, only
/// names that were ever added), and the last pass sees the final set.
#[test]
fn iteration_racing_add_and_remove_stays_consistent() {
    let bin = named("bin");
    let rounds = scaled(2000, 30);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..rounds {
                let child = named(&format!("c{}", i % 8));
                if bin.add(&child).is_err() {
                    let existing = bin.child_by_name(&child.name()).unwrap();
                    bin.remove(&existing).unwrap();
                }
            }
        });
        s.spawn(|| {
            let mut passes = 0;
            while passes < scaled(200, 5) {
                let mut it = bin.children();
                let mut seen = HashSet::new();
                loop {
                    match it.next() {
                        Ok(Some(child)) => {
                            let name = child.name();
                            assert!(name.starts_with('c'));
                            assert!(seen.insert(name), "an item twice in one pass");
                            assert!(child.has_as_parent(&bin) || child.parent().is_none());
                        }
                        Ok(None) => break,
                        Err(Resync) => {
                            it.resync();
                            seen.clear();
                        }
                    }
                }
                passes += 1;
            }
        });
    });
    let names: HashSet<String> = bin.children_snapshot().iter().map(|c| c.name()).collect();
    assert_eq!(names.len(), bin.n_children());
}

/// A rename racing the drop of the parent's last handle: the rename's look at the
/// parent takes a reference; if that turns out to be the last one, the parent is
/// destroyed after the child's lock is released (the parent's destruction locks the
/// child), so no re-lock panic and no leak. One thread builds a bin with a child,
/// hands the bin's only handle to the other thread to drop, and renames the child
/// until the rename succeeds (the loom model `a_rename_racing_the_parents_last_drop`
/// checks every interleaving of the same race).
#[test]
fn a_rename_racing_the_parents_last_drop_neither_panics_nor_leaks() {
    let counter = Counter::new();
    let rounds = scaled(20_000, 20);
    let (to_dropper, parents) = std::sync::mpsc::channel::<Object<Elem>>();
    thread::scope(|s| {
        s.spawn(move || parents.into_iter().for_each(drop));
        for _ in 0..rounds {
            let parent = Object::with_name("bin", Some(counter.value(0))).sink();
            let child = named("c");
            parent.add(&child).unwrap();
            to_dropper.send(parent).unwrap();
            // Refused while the parent lives; succeeds once its drop unparented us.
            while let Err(e) = child.set_name("renamed") {
                assert_eq!(e, ObjectError::RenameParented { name: "c".into() });
            }
            assert!(child.parent().is_none());
        }
        drop(to_dropper);
    });
    assert_eq!(counter.drops(), rounds, "every parent destroyed once");
}

/// The parent handle an object guard hands out may be dropped under the guard even
/// when every other holder has let go: the guard keeps the parent alive until after
/// it unlocks, so the parent is never destroyed under its child's lock.
#[test]
fn a_parent_from_the_guard_dropped_under_the_guard_is_destroyed_after_the_unlock() {
    let counter = Counter::new();
    let parent = Object::with_name("bin", Some(counter.value(0))).sink();
    let child = named("c");
    parent.add(&child).unwrap();
    let guard = child.lock();
    let from_guard = guard.parent().unwrap();
    assert!(Object::ptr_eq(&from_guard, &guard.parent().unwrap()));
    drop(parent);
    drop(from_guard);
    assert_eq!(counter.drops(), 0, "the guard still holds the parent");
    drop(guard);
    assert_eq!(counter.drops(), 1, "destroyed once the lock was released");
    assert!(child.parent().is_none());
}

#[test]
fn removing_an_object_from_itself_is_refused() {
    let bin = named("bin");
    assert_eq!(
        bin.remove(&bin),
        Err(ObjectError::NotAChild {
            child: "bin".into(),
            parent: "bin".into()
        })
    );
    assert!(!bin.is_locked_by_current_thread());
    assert_eq!(Object::ref_count(&bin), 1);
}

/// GStreamer checks before it sinks: a refused add of a borrowed floating object
/// (self-parenting, a cycle, a duplicate name) leaves it floating with its count.
#[test]
fn a_refused_add_leaves_a_borrowed_floating_child_floating() {
    let b = Object::with_name("b", None::<Counted>);
    assert!(matches!(b.add(&*b), Err(ObjectError::SelfParent { .. })));
    assert!(Object::is_floating(&b));
    assert_eq!(Object::ref_count(&b), 1);

    let top = Object::with_name("top", None::<Counted>);
    let mid = named("mid");
    top.add(&mid).unwrap();
    assert!(matches!(
        mid.add(&*top),
        Err(ObjectError::WouldCycle { .. })
    ));
    assert!(Object::is_floating(&top));
    assert_eq!(Object::ref_count(&top), 1);

    let bin = named("bin");
    bin.add(named("x")).unwrap();
    let x = Object::with_name("x", None::<Counted>);
    assert!(matches!(
        bin.add(&*x),
        Err(ObjectError::DuplicateName { .. })
    ));
    assert!(Object::is_floating(&x));
    assert_eq!(Object::ref_count(&x), 1);
    // By value, a handle to a floating object is refused the same way.
    assert!(matches!(
        bin.add(Object::clone(&x)),
        Err(ObjectError::DuplicateName { .. })
    ));
    assert!(Object::is_floating(&x));
    assert_eq!(Object::ref_count(&x), 1);

    // And an add that succeeds adopts it, as `ref_sink` does.
    x.set_name("y").unwrap();
    bin.add(&*x).unwrap();
    assert!(!Object::is_floating(&x));
    assert_eq!(Object::ref_count(&x), 1, "the parent's, adopted");
    let x = x.sink();
    assert_eq!(Object::ref_count(&x), 2, "the parent's and ours");
}

/// `gst_object_unparent` is one critical section: of four threads unparenting one
/// child, one gets `Ok(true)`, the others `Ok(false)`, never `NotAChild`.
#[test]
fn concurrent_unparents_have_one_winner_and_no_error() {
    for _ in 0..scaled(300, 3) {
        let bin = named("bin");
        let child = named("c");
        bin.add(&child).unwrap();
        let barrier = std::sync::Barrier::new(4);
        let results: Vec<_> = thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        child.unparent()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            results.iter().filter(|r| **r == Ok(true)).count(),
            1,
            "{results:?}"
        );
        assert_eq!(
            results.iter().filter(|r| **r == Ok(false)).count(),
            3,
            "{results:?}"
        );
        assert_eq!(bin.n_children(), 0);
        assert_eq!(Object::ref_count(&child), 1);
    }
}
