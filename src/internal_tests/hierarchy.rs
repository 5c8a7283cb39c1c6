//! The hierarchy's changes (`add`, `remove`, `unparent`, and `set_name` beside them)
//! at every depth, each test run inside [`finishes`]: a change that retries forever or takes
//! one lock twice fails the unit test binary instead of hanging it.
//!
//! And `add`'s races, made deterministic: `add` looks at the two trees with no lock
//! (the parent's root, a cycle, the child's parent), then takes the two tree locks
//! and checks again under them. A hook that `add` runs between the two (unit tests
//! only: [`before_tree_locks`]) makes the competing change exactly there, from
//! another thread, so the check under the locks is what must refuse it: another add
//! of the same child, the opposite add, a merge of the parent's tree into another.
//! The hook also sees the order in which each add takes the two tree locks, which
//! must be one order for any two objects (else two opposite adds can deadlock).

use core::cell::RefCell;
use std::rc::Rc;

use super::finishes;
use crate::{Object, ObjectError};

/// A hook of [`before_tree_locks`]: given the names of the two objects whose tree
/// locks `add` takes, the first one first.
type Hook = Box<dyn FnMut(&str, &str)>;

thread_local! {
    /// This thread's hook, if a test set one ([`with_hook`]).
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// Run by `add` (unit test builds only) in each round, with no lock held, after its
/// looks at the two trees and before it takes their tree locks, `first` then
/// `second`: calls this thread's hook, if one is set, with the two objects' names.
pub(crate) fn before_tree_locks<T>(first: &Object<T>, second: &Object<T>) {
    // Taken out while it runs, and put back after.
    let Some(mut hook) = HOOK.with(|hook| hook.borrow_mut().take()) else {
        return;
    };
    hook(&first.name(), &second.name());
    HOOK.with(|slot| {
        slot.borrow_mut().get_or_insert(hook);
    });
}

/// Runs `f` with `hook` as this thread's hook, then removes it.
fn with_hook<R>(hook: impl FnMut(&str, &str) + 'static, f: impl FnOnce() -> R) -> R {
    HOOK.with(|slot| *slot.borrow_mut() = Some(Box::new(hook)));
    let result = f();
    HOOK.with(|slot| slot.borrow_mut().take());
    result
}

/// A hook that makes `change` in the first round only, on another thread, and
/// waits for it there (no lock is held at that point).
fn meanwhile(change: impl FnOnce() + Send + 'static) -> impl FnMut(&str, &str) {
    let mut change = Some(change);
    move |_, _| {
        if let Some(change) = change.take() {
            join(std::thread::spawn(change));
        }
    }
}

/// Every round's two tree locks, in the order taken: (first, second).
type Rounds = Rc<RefCell<Vec<(String, String)>>>;

/// A hook that writes each round's two tree locks into `rounds`.
fn record(rounds: &Rounds) -> impl FnMut(&str, &str) {
    let rounds = rounds.clone();
    move |first, second| rounds.borrow_mut().push((first.into(), second.into()))
}

fn join<R>(thread: std::thread::JoinHandle<R>) -> R {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn named(name: &str) -> Object<()> {
    Object::with_name(name, ()).sink()
}

fn cycle(child: &str, parent: &str) -> Result<(), ObjectError> {
    Err(ObjectError::WouldCycle {
        child: child.into(),
        parent: parent.into(),
    })
}

fn has_parent(child: &str, parent: &str) -> Result<(), ObjectError> {
    Err(ObjectError::HasParent {
        child: child.into(),
        parent: parent.into(),
    })
}

fn not_a_child(child: &str, parent: &str) -> Result<(), ObjectError> {
    Err(ObjectError::NotAChild {
        child: child.into(),
        parent: parent.into(),
    })
}

#[test]
fn adds_removes_and_unparents_below_the_root() {
    finishes("adds and removes below the root", || {
        let (top, mid, leaf) = (named("top"), named("mid"), named("leaf"));
        top.add(&mid).unwrap();
        // The parent is not the root: its tree is locked at `top`.
        mid.add(&leaf).unwrap();
        assert!(leaf.has_as_parent(&mid) && mid.has_as_parent(&top));
        assert!(leaf.has_as_ancestor(&top));
        assert!(Object::ptr_eq(&leaf.toplevel(), &top));
        assert_eq!((top.n_children(), mid.n_children()), (1, 1));

        mid.remove(&leaf).unwrap();
        assert!(leaf.parent().is_none());
        assert_eq!(mid.n_children(), 0);
        assert_eq!(mid.remove(&leaf), not_a_child("leaf", "mid"));

        mid.add(&leaf).unwrap();
        assert_eq!(leaf.unparent(), Ok(true));
        assert_eq!(leaf.unparent(), Ok(false));
        assert!(leaf.parent().is_none());
        assert_eq!(mid.n_children(), 0);
        assert_eq!(mid.unparent(), Ok(true));
        assert_eq!(top.n_children(), 0);
        assert!(mid.parent().is_none());
    });
}

#[test]
fn cycles_are_refused_at_every_depth_with_nothing_changed() {
    finishes("cycles refused", || {
        let (top, mid, leaf) = (named("top"), named("mid"), named("leaf"));
        top.add(&mid).unwrap();
        mid.add(&leaf).unwrap();
        // The root (no parent: without the cycle found, `add` would lock its tree
        // as the child's and as the parent's root), then an ancestor below it.
        assert_eq!(leaf.add(&top), cycle("top", "leaf"));
        assert_eq!(mid.add(&top), cycle("top", "mid"));
        assert_eq!(leaf.add(&mid), cycle("mid", "leaf"));
        assert_eq!(
            leaf.add(&leaf),
            Err(ObjectError::SelfParent {
                name: "leaf".into()
            })
        );
        assert!(top.parent().is_none());
        assert!(leaf.has_as_parent(&mid) && mid.has_as_parent(&top));
        assert_eq!(
            (top.n_children(), mid.n_children(), leaf.n_children()),
            (1, 1, 0)
        );
    });
}

#[test]
fn a_child_of_another_parent_is_neither_added_nor_removed_here() {
    finishes("a child of another parent", || {
        let (top, first, second, child) = (
            named("top"),
            named("first"),
            named("second"),
            named("child"),
        );
        top.add(&first).unwrap();
        top.add(&second).unwrap();
        first.add(&child).unwrap();
        // Both parents below one root, then the second one a root of its own.
        for had_parent in [true, false] {
            assert_eq!(second.add(&child), has_parent("child", "first"));
            assert_eq!(second.remove(&child), not_a_child("child", "second"));
            assert!(child.has_as_parent(&first));
            assert_eq!((first.n_children(), second.n_children()), (1, 0));
            assert_eq!(second.unparent(), Ok(had_parent));
        }
        // Re-parented: removed from the first, then added to the second.
        first.remove(&child).unwrap();
        second.add(&child).unwrap();
        assert!(child.has_as_parent(&second));
        assert_eq!(first.remove(&child), not_a_child("child", "first"));
        assert_eq!((first.n_children(), second.n_children()), (0, 1));
    });
}

#[test]
fn two_trees_merged_then_split() {
    finishes("two trees merged then split", || {
        let (root_a, leaf_a) = (named("root_a"), named("leaf_a"));
        let (root_b, leaf_b) = (named("root_b"), named("leaf_b"));
        root_a.add(&leaf_a).unwrap();
        root_b.add(&leaf_b).unwrap();

        leaf_a.add(&root_b).unwrap();
        assert!(Object::ptr_eq(&leaf_b.toplevel(), &root_a));
        assert!(leaf_b.has_as_ancestor(&root_a));
        assert_eq!(leaf_b.add(&root_a), cycle("root_a", "leaf_b"));
        // Changes below the merge: the tree's root is `root_a` now.
        root_b.remove(&leaf_b).unwrap();
        assert!(leaf_b.parent().is_none());
        root_b.add(&leaf_b).unwrap();

        // Split again: the opposite merge is no cycle any more.
        assert_eq!(root_b.unparent(), Ok(true));
        assert!(Object::ptr_eq(&leaf_b.toplevel(), &root_b));
        assert_eq!(leaf_a.n_children(), 0);
        leaf_b.add(&root_a).unwrap();
        assert!(Object::ptr_eq(&leaf_a.toplevel(), &root_b));
    });
}

#[test]
fn a_parented_child_keeps_its_name_and_names_stay_unique_among_siblings() {
    finishes("renames and duplicate names", || {
        let (parent, first, second) = (named("parent"), named("first"), named("second"));
        parent.add(&first).unwrap();
        let renamed = Err(ObjectError::RenameParented {
            name: "first".into(),
        });
        assert_eq!(first.set_name("other"), renamed);
        second.set_name("first").unwrap();
        assert_eq!(
            parent.add(&second),
            Err(ObjectError::DuplicateName {
                name: "first".into(),
                parent: "parent".into()
            })
        );
        assert!(second.parent().is_none());
        assert_eq!(first.unparent(), Ok(true));
        first.set_name("other").unwrap();
        parent.add(&second).unwrap();
        parent.add(&first).unwrap();
        assert_eq!(parent.n_children(), 2);
        assert!(Object::ptr_eq(
            &parent.child_by_name("other").unwrap(),
            &first
        ));
    });
}

// The races: each competing change made by the hook, between `add`'s looks and its
// tree locks.

#[test]
fn a_child_added_to_another_parent_meanwhile_is_refused() {
    finishes("one child, two parents", || {
        let (first, second, child) = (named("first"), named("second"), named("child"));
        let other = (second.clone(), child.clone());
        // `first.add` saw a child with no parent; under the locks it has one.
        let added = with_hook(meanwhile(move || other.0.add(&other.1).unwrap()), || {
            first.add(&child)
        });
        assert_eq!(added, has_parent("child", "second"));
        assert!(child.has_as_parent(&second));
        assert_eq!((first.n_children(), second.n_children()), (0, 1));
    });
}

#[test]
fn opposite_adds_lock_in_one_order_and_the_second_is_refused_as_a_cycle() {
    finishes("opposite adds", || {
        let (a, b) = (named("a"), named("b"));
        let (rounds, other_rounds): (Rounds, Rounds) = Default::default();
        let opposite = {
            let (a, b) = (a.clone(), b.clone());
            let other_rounds = other_rounds.clone();
            let mut done = false;
            // `b.add(a)` on another thread, its rounds recorded there.
            move |_: &str, _: &str| {
                if !core::mem::replace(&mut done, true) {
                    let (a, b) = (a.clone(), b.clone());
                    let (added, seen) = join(std::thread::spawn(move || {
                        let rounds = Rounds::default();
                        let added = with_hook(record(&rounds), || b.add(&a));
                        (added, rounds.take())
                    }));
                    assert_eq!(added, Ok(()));
                    *other_rounds.borrow_mut() = seen;
                }
            }
        };
        let mut recorder = record(&rounds);
        let mut hook = opposite;
        let added = with_hook(
            move |first: &str, second: &str| {
                recorder(first, second);
                hook(first, second);
            },
            || a.add(&b),
        );
        // `a.add(b)` saw two roots; under the locks `a` is `b`'s child.
        assert_eq!(added, cycle("b", "a"));
        assert!(a.has_as_parent(&b) && b.parent().is_none());
        assert_eq!((a.n_children(), b.n_children()), (0, 1));
        // One round each (the retry finds the cycle before any lock), and the same
        // tree lock first in both: in opposite orders, two opposite adds that both
        // take their first lock wait for each other forever.
        let (rounds, other_rounds) = (rounds.take(), other_rounds.take());
        assert_eq!(rounds.len(), 1);
        assert_eq!(other_rounds, rounds);
    });
}

#[test]
fn a_root_added_under_the_other_trees_leaf_meanwhile_is_refused_as_a_cycle() {
    finishes("two trees, each under the other's leaf", || {
        let (root_a, leaf_a) = (named("root_a"), named("leaf_a"));
        let (root_b, leaf_b) = (named("root_b"), named("leaf_b"));
        root_a.add(&leaf_a).unwrap();
        root_b.add(&leaf_b).unwrap();
        let other = (leaf_b.clone(), root_a.clone());
        // `leaf_a.add(root_b)` saw `root_a` as its tree's root; under the locks the
        // tree is in `root_b`'s.
        let added = with_hook(meanwhile(move || other.0.add(&other.1).unwrap()), || {
            leaf_a.add(&root_b)
        });
        assert_eq!(added, cycle("root_b", "leaf_a"));
        assert!(root_a.has_as_parent(&leaf_b) && root_b.parent().is_none());
        assert_eq!(leaf_a.n_children(), 0);
        assert!(Object::ptr_eq(&leaf_a.toplevel(), &root_b));
    });
}

#[test]
fn an_add_whose_parent_tree_was_merged_meanwhile_locks_the_new_root() {
    finishes("the parent's tree merged meanwhile", || {
        let (top, parent, child) = (named("top"), named("parent"), named("child"));
        let rounds = Rounds::default();
        let mut recorder = record(&rounds);
        let other = (top.clone(), parent.clone());
        let mut merge = meanwhile(move || other.0.add(&other.1).unwrap());
        let added = with_hook(
            move |first: &str, second: &str| {
                recorder(first, second);
                merge(first, second);
            },
            || parent.add(&child),
        );
        assert_eq!(added, Ok(()));
        assert!(child.has_as_parent(&parent) && parent.has_as_parent(&top));
        // The first round locked `parent`'s tree, which it no longer tops: a second
        // round locked `top`'s, which guards `parent`'s links now.
        let locked: Vec<[String; 2]> = rounds
            .take()
            .into_iter()
            .map(|(first, second)| {
                let mut pair = [first, second];
                pair.sort();
                pair
            })
            .collect();
        assert_eq!(
            locked,
            [
                ["child".to_string(), "parent".to_string()],
                ["child".to_string(), "top".to_string()]
            ]
        );
    });
}
