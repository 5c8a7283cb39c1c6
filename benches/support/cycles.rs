//! The create + add + remove cycles that `benches/object.rs` times and
//! `examples/locked_cycles.rs` runs for `scripts/locked-counts.py`: mtsafe's, the
//! peer's (no rules) and the rules' floor, in one place so that both measure the same
//! code. Included with `#[path]` by both.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::AcqRel};
use std::sync::{Arc, Weak};

use mtsafe::{Object, ObjectLock};

/// The objects' data: an element with a state lock of its own.
pub struct Element {
    _state: ObjectLock<u32>,
}

pub fn element() -> Element {
    Element {
        _state: ObjectLock::new(0),
    }
}

/// One create + add + remove cycle on `bin` (the child is destroyed by the remove).
#[inline(never)]
pub fn cycle(bin: &Object<Element>) {
    let child = Object::new(element()).sink();
    bin.add(&child).unwrap();
    bin.remove(&child).unwrap();
}

/// The peers' cycle: `Arc::new` + push + find and remove under a mutex.
#[inline(never)]
pub fn peer_cycle(children: &parking_lot::Mutex<Vec<Arc<Element>>>) {
    let child = Arc::new(element());
    children.lock().push(Arc::clone(&child));
    let mut list = children.lock();
    let at = list.iter().position(|c| Arc::ptr_eq(c, &child)).unwrap();
    drop(list.remove(at));
}

/// A node of the rules' floor: what mtsafe's rules make a create + add + remove
/// touch, built from the cheapest parts (`parking_lot` mutexes, `Arc`, one atomic
/// flag) and nothing else.
#[derive(Default)]
pub struct Node {
    /// The lock of the tree this node is the root of (per-tree synchronization).
    tree: parking_lot::Mutex<()>,
    /// The parent link, under the node's own lock (`gst_object_set_parent`).
    parent: parking_lot::Mutex<Option<Weak<Node>>>,
    /// The children, under their own lock.
    children: parking_lot::Mutex<Vec<Arc<Node>>>,
    /// The floating flag, cleared by the add that adopts the node.
    floating: AtomicBool,
}

/// The least a create + add + remove under mtsafe's rules can do, whatever the
/// implementation: `add` holds the parent's tree lock and the child's (two trees
/// merge: cycle checks against a racing add), sets the child's parent link under the
/// child's lock (one weak count), adopts the floating reference (one atomic), and
/// pushes a reference under the list's lock; `remove` holds the tree lock, clears the
/// link under the child's lock and takes the reference out under the list's lock.
/// No root walk, no cycle walk, no name check, no cookie, no version: a lower bound.
#[inline(never)]
pub fn rules_floor_cycle(parent: &Arc<Node>) {
    let child = Arc::new(Node {
        floating: true.into(),
        ..Node::default()
    });
    {
        let _parent_tree = parent.tree.lock();
        let _child_tree = child.tree.lock();
        *child.parent.lock() = Some(Arc::downgrade(parent));
        // AcqRel: as an adoption that must see the floating reference's history.
        child.floating.swap(false, AcqRel);
        parent.children.lock().push(Arc::clone(&child));
    }
    let removed = {
        let _tree = parent.tree.lock();
        let link = child.parent.lock().take();
        let mut list = parent.children.lock();
        let at = list.iter().position(|c| Arc::ptr_eq(c, &child)).unwrap();
        (list.remove(at), link)
    };
    drop(removed);
    drop(black_box(child));
}
