//! What the object model allocates, counted: each allocation of a create + add +
//! remove cycle has a named owner, and none is made by the hierarchy's locking.

mod common;

use common::{allocations_in, CountingAlloc};
use mtsafe::Object;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Create + add + remove of a leaf under a top-level bin allocates twice: the new
/// object (one allocation: header, floating word, locks, an empty children list and
/// a default name kept as type and number) and the bin's children list version that
/// holds it (one chunk); the remove publishes the empty version, which allocates
/// nothing. Walking to the tree's root and taking the tree locks allocate nothing.
#[test]
fn create_add_remove_allocates_the_object_and_one_list_version() {
    let bin = Object::with_name("bin", ()).sink();
    // The first default name of a type registers its counter (once per process and
    // thread); measure from the second.
    drop(Object::new(()).sink());
    let cycle = || {
        let child = Object::new(()).sink();
        bin.add(&child).unwrap();
        bin.remove(&child).unwrap();
    };
    assert_eq!(allocations_in(cycle), 2);
    // A deeper tree: the walk to the root takes handles (kept until after the
    // locks), which allocates their list once per change.
    let pipeline = Object::with_name("pipeline", ()).sink();
    pipeline.add(&bin).unwrap();
    let nested = allocations_in(cycle);
    assert!(nested <= 4, "{nested}");
}
