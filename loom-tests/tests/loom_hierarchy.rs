//! loom models of the object hierarchy: racing adds, add/remove racing an
//! iteration of the children, a parent dying under a child's `parent()`, and the
//! lock order (loom fails a model whose threads can deadlock).
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p mtsafe-loom-tests --release --test loom_hierarchy`.
#![cfg(loom)]

use loom::thread;
use mtsafe::{Object, ObjectError, Resync, ResyncIterator};
use mtsafe_loom_tests::{drop_counter, drops, Tracked};

/// One child added to two parents at once: exactly one add wins, the other gets an
/// error, and the child is in exactly the winner's children.
#[test]
fn one_child_two_parents_one_winner() {
    loom::model(|| {
        let counter = drop_counter();
        let p1 = Object::with_name("p1", Tracked::new(&counter)).sink();
        let p2 = Object::with_name("p2", Tracked::new(&counter)).sink();
        let child = Object::with_name("c", Tracked::new(&counter)).sink();
        let (p1c, childc) = (p1.clone(), child.clone());
        let t = thread::spawn(move || p1c.add(&childc));
        let second = p2.add(&child);
        let first = t.join().unwrap();
        assert!(first.is_ok() != second.is_ok(), "{first:?} {second:?}");
        let refused = if first.is_ok() { &second } else { &first };
        assert!(matches!(refused, Err(ObjectError::HasParent { .. })));
        let winner = if first.is_ok() { &p1 } else { &p2 };
        assert!(child.has_as_parent(winner));
        assert_eq!(p1.n_children() + p2.n_children(), 1);
        assert_eq!(Object::ref_count(&child), 2);
        drop((p1, p2, child));
        assert_eq!(drops(&counter), 3);
    });
}

/// `a.add(b)` racing `b.add(a)`: no interleaving deadlocks (loom would report it),
/// one wins, the other is refused as a cycle.
#[test]
fn opposite_adds_neither_deadlock_nor_cycle() {
    loom::model(|| {
        let counter = drop_counter();
        let a = Object::with_name("a", Tracked::new(&counter)).sink();
        let b = Object::with_name("b", Tracked::new(&counter)).sink();
        let (ac, bc) = (a.clone(), b.clone());
        let t = thread::spawn(move || ac.add(&bc));
        let second = b.add(&a);
        let first = t.join().unwrap();
        assert!(first.is_ok() != second.is_ok(), "{first:?} {second:?}");
        assert!([&first, &second]
            .iter()
            .any(|r| matches!(r, Err(ObjectError::WouldCycle { .. }))));
        drop((a, b));
        assert_eq!(drops(&counter), 2, "no cycle, so nothing leaked");
    });
}

/// A writer adds one child and removes another while a reader walks the children
/// with the resync iterator: each yielded child is one that was in the list, a
/// completed pass has no duplicates, and every object is destroyed exactly once.
#[test]
fn add_and_remove_racing_an_iteration() {
    loom::model(|| {
        let counter = drop_counter();
        let bin = Object::with_name("bin", Tracked::new(&counter)).sink();
        bin.add(Object::with_name("a", Tracked::new(&counter)))
            .unwrap();
        let writer_bin = bin.clone();
        let t = thread::spawn(move || {
            writer_bin
                .add(Object::with_name("b", Tracked::new(&counter)))
                .unwrap();
            let a = writer_bin.child_by_name("a").unwrap();
            writer_bin.remove(&a).unwrap();
            (counter, a)
        });
        let mut it = bin.children();
        let mut seen = Vec::new();
        let mut resyncs = 0;
        loop {
            match it.next() {
                Ok(Some(child)) => {
                    let name = child.name();
                    assert!(name == "a" || name == "b", "{name}");
                    assert!(!seen.contains(&name), "a child twice in one pass");
                    seen.push(name);
                }
                Ok(None) => break,
                Err(Resync) => {
                    resyncs += 1;
                    assert!(resyncs <= 2, "two changes, at most two resyncs");
                    it.resync();
                    seen.clear();
                }
            }
        }
        assert!(!seen.is_empty(), "every version has a child");
        drop(it);
        let (counter, a) = t.join().unwrap();
        let names: Vec<_> = bin.children_snapshot().iter().map(|c| c.name()).collect();
        assert_eq!(names, ["b"]);
        assert!(a.parent().is_none(), "remove unparents");
        assert_eq!(drops(&counter), 0);
        drop(a);
        assert_eq!(drops(&counter), 1, "the removed child, held by nobody else");
        drop(bin);
        assert_eq!(drops(&counter), 3);
    });
}

/// A child reads its parent while the parent's last handle is dropped on another
/// thread: `parent()` gives a live new reference or `None`, never a dangling one,
/// and the parent's death clears the child's link.
#[test]
fn parent_dying_under_a_parent_read() {
    loom::model(|| {
        let counter = drop_counter();
        let parent = Object::with_name("p", Tracked::new(&counter)).sink();
        let child = Object::with_name("c", Tracked::new(&counter)).sink();
        parent.add(&child).unwrap();
        let t = thread::spawn(move || drop(parent));
        if let Some(p) = child.parent() {
            assert_eq!(p.name(), "p");
        }
        t.join().unwrap();
        assert!(child.parent().is_none());
        assert_eq!(drops(&counter), 1);
        drop(child);
        assert_eq!(drops(&counter), 2);
    });
}

/// Lock order: an add (hierarchy, then parent, then child) racing reads and a
/// rename attempt on the child (child lock only) and a read of the parent's
/// ancestry: loom finds no deadlock, and a rename succeeds only before the add.
#[test]
fn add_racing_child_reads_and_rename() {
    loom::model(|| {
        let counter = drop_counter();
        let parent = Object::with_name("p", Tracked::new(&counter)).sink();
        let child = Object::with_name("c", Tracked::new(&counter)).sink();
        let (pc, cc) = (parent.clone(), child.clone());
        let t = thread::spawn(move || pc.add(&cc).unwrap());
        let renamed = child.set_name("renamed");
        let _ = child.has_as_ancestor(&parent);
        t.join().unwrap();
        match renamed {
            Ok(()) => assert_eq!(child.name(), "renamed"),
            Err(e) => {
                assert!(matches!(e, ObjectError::RenameParented { .. }));
                assert_eq!(child.name(), "c");
            }
        }
        assert!(child.has_as_parent(&parent));
        drop((parent, child));
        assert_eq!(drops(&counter), 2);
    });
}

/// Object data whose drop changes the hierarchy (an element that takes its own
/// helpers out of a bin when it goes), which takes the hierarchy lock.
struct ChangesHierarchyOnDrop {
    on_drop: Option<(
        Object<ChangesHierarchyOnDrop>,
        Object<ChangesHierarchyOnDrop>,
    )>,
}

impl Drop for ChangesHierarchyOnDrop {
    fn drop(&mut self) {
        if let Some((bin, helper)) = self.on_drop.take() {
            bin.add(&helper).unwrap();
        }
    }
}

fn plain(name: &str) -> Object<ChangesHierarchyOnDrop> {
    Object::with_name(name, ChangesHierarchyOnDrop { on_drop: None }).sink()
}

/// A refused add (the child has a parent) takes a handle to that parent to name it
/// in the error. When the parent's last other handle goes meanwhile, that handle is
/// the last, and the parent is destroyed by the refused add: after the hierarchy
/// lock is released, so a drop that changes the hierarchy neither deadlocks (loom
/// reports a thread blocked on a lock it holds) nor is lost.
#[test]
fn an_object_destroyed_by_a_refused_add_is_destroyed_after_the_locks() {
    loom::model(|| {
        let (bin, helper) = (plain("bin"), plain("helper"));
        let data = ChangesHierarchyOnDrop {
            on_drop: Some((bin.clone(), helper.clone())),
        };
        let parent = Object::with_name("p", data).sink();
        let child = plain("c");
        parent.add(&child).unwrap();
        let other = plain("other");
        let t = thread::spawn(move || drop(parent));
        let refused = other.add(&child);
        t.join().unwrap();
        // Refused while the parent lived; once it is gone the child is free.
        assert!(matches!(
            refused,
            Err(ObjectError::HasParent { .. }) | Ok(())
        ));
        assert!(
            helper.has_as_parent(&bin),
            "the parent's drop ran to the end"
        );
    });
}

/// A rename racing the drop of the parent's last handle: the rename's look at the
/// parent may take what becomes the parent's last reference; the parent is then
/// destroyed after the child's lock is released (its drop locks the child), so no
/// interleaving panics on a re-lock, and the parent is destroyed exactly once.
#[test]
fn a_rename_racing_the_parents_last_drop() {
    loom::model(|| {
        let counter = drop_counter();
        let parent = Object::with_name("p", Tracked::new(&counter)).sink();
        let child = Object::with_name("c", Tracked::new(&counter)).sink();
        parent.add(&child).unwrap();
        let t = thread::spawn(move || drop(parent));
        let renamed = child.set_name("renamed");
        t.join().unwrap();
        match renamed {
            Ok(()) => assert_eq!(child.name(), "renamed"),
            Err(e) => assert!(matches!(e, ObjectError::RenameParented { .. })),
        }
        assert!(child.parent().is_none());
        assert_eq!(drops(&counter), 1);
    });
}

/// The parent handle an object guard gives out, dropped under the guard while the
/// parent's other handle goes on another thread: the guard's own reference keeps
/// the parent alive until it unlocks, so the parent is never destroyed under its
/// child's lock.
#[test]
fn a_parent_from_the_guard_dropped_under_the_guard() {
    loom::model(|| {
        let counter = drop_counter();
        let parent = Object::with_name("p", Tracked::new(&counter)).sink();
        let child = Object::with_name("c", Tracked::new(&counter)).sink();
        parent.add(&child).unwrap();
        let t = thread::spawn(move || drop(parent));
        let guard = child.lock();
        drop(guard.parent());
        drop(guard);
        t.join().unwrap();
        assert!(child.parent().is_none());
        assert_eq!(drops(&counter), 1);
    });
}

/// Two threads unparent one child: one gets `Ok(true)`, the other `Ok(false)`,
/// never `NotAChild`, and the child ends with no parent and one reference.
#[test]
fn two_unparents_have_one_winner() {
    loom::model(|| {
        let counter = drop_counter();
        let parent = Object::with_name("p", Tracked::new(&counter)).sink();
        let child = Object::with_name("c", Tracked::new(&counter)).sink();
        parent.add(&child).unwrap();
        let other = child.clone();
        let t = thread::spawn(move || other.unparent());
        let mine = child.unparent();
        let theirs = t.join().unwrap();
        let mut results = [mine, theirs];
        results.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(results, [Ok(false), Ok(true)]);
        assert_eq!(parent.n_children(), 0);
        assert_eq!(Object::ref_count(&child), 1);
        drop((parent, child));
        assert_eq!(drops(&counter), 2);
    });
}

/// Merging trees: two threads each add one tree's root under the other tree's leaf.
/// The two adds take the same two tree locks (in one order), so they serialize and
/// the second finds the cycle: one succeeds, the other is refused with
/// `WouldCycle`, never a deadlock (loom reports one) and never a cycle (everything
/// is destroyed at the end).
#[test]
fn two_trees_each_added_under_the_others_leaf() {
    loom::model(|| {
        let counter = drop_counter();
        let x = Object::with_name("x", Tracked::new(&counter)).sink();
        let xl = Object::with_name("xl", Tracked::new(&counter)).sink();
        let y = Object::with_name("y", Tracked::new(&counter)).sink();
        let yl = Object::with_name("yl", Tracked::new(&counter)).sink();
        x.add(&xl).unwrap();
        y.add(&yl).unwrap();
        let (ylc, xc) = (yl.clone(), x.clone());
        let t = thread::spawn(move || ylc.add(&xc));
        let mine = xl.add(&y);
        let theirs = t.join().unwrap();
        assert!(mine.is_ok() != theirs.is_ok(), "{mine:?} {theirs:?}");
        assert!([&mine, &theirs]
            .iter()
            .any(|r| matches!(r, Err(ObjectError::WouldCycle { .. }))));
        let top = if mine.is_ok() { &x } else { &y };
        for o in [&x, &xl, &y, &yl] {
            assert!(Object::ptr_eq(&o.toplevel(), top));
        }
        drop((x, xl, y, yl));
        assert_eq!(drops(&counter), 4, "no cycle, so nothing leaked");
    });
}

/// One thread unparents a child while another merges the child's tree under
/// another tree and then removes the child. The unparent works under the lock of
/// the tree the child is in *now* (it checks its root again under the lock), so it
/// and the remove serialize: exactly one takes the child out, and the unparent
/// never reports `NotAChild`.
#[test]
fn unparent_racing_a_merge_then_a_remove() {
    loom::model(|| {
        let counter = drop_counter();
        let x = Object::with_name("x", Tracked::new(&counter)).sink();
        let c = Object::with_name("c", Tracked::new(&counter)).sink();
        let y = Object::with_name("y", Tracked::new(&counter)).sink();
        x.add(&c).unwrap();
        let cc = c.clone();
        let unparent = thread::spawn(move || cc.unparent());
        y.add(&x).unwrap();
        let removed = x.remove(&c);
        let unparented = unparent.join().unwrap();
        match (&removed, &unparented) {
            (Ok(()), Ok(false)) | (Err(ObjectError::NotAChild { .. }), Ok(true)) => {}
            other => panic!("exactly one takes the child out: {other:?}"),
        }
        assert!(c.parent().is_none());
        assert!(x.has_as_parent(&y));
        drop((x, c, y));
        assert_eq!(drops(&counter), 3);
    });
}
