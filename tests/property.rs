//! Property snapshots: readers never block or see a torn value; updates lose nothing.

mod common;

use common::scaled;
use mtsafe::{Property, Snapshot};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

#[test]
fn concurrent_updates_lose_nothing() {
    let counter = Property::new(0u64);
    let (threads, per_thread) = (4, scaled(5_000, 50));
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    counter.update(|n| n + 1);
                }
            });
        }
    });
    assert_eq!(*counter.load(), (threads * per_thread) as u64);
}

/// A value whose two halves a writer always sets together: a torn read would see
/// them differ.
#[derive(Clone, Debug)]
struct Pair {
    left: u64,
    right: [u64; 8],
}

#[test]
fn readers_never_see_a_torn_value() {
    let pair = Property::new(Pair {
        left: 0,
        right: [0; 8],
    });
    let done = AtomicBool::new(false);
    let writes = scaled(20_000, 100) as u64;
    thread::scope(|s| {
        s.spawn(|| {
            for i in 1..=writes {
                pair.set(Pair {
                    left: i,
                    right: [i; 8],
                });
            }
            done.store(true, Ordering::SeqCst);
        });
        for _ in 0..2 {
            s.spawn(|| {
                let mut last = 0;
                while !done.load(Ordering::SeqCst) {
                    let snap = pair.load();
                    assert!(snap.right.iter().all(|&r| r == snap.left), "{snap:?}");
                    assert!(snap.left >= last, "snapshots go forward for one reader");
                    last = snap.left;
                }
            });
        }
    });
    assert_eq!(pair.load().left, writes);
}

#[test]
fn a_held_snapshot_is_unchanged_by_later_writes() {
    let name = Property::new(String::from("identity0"));
    let old = name.get();
    let replaced = name.replace(String::from("renamed"));
    assert!(Snapshot::ptr_eq(&old, &replaced));
    name.update(|s| format!("{s}!"));
    assert_eq!(*old, "identity0");
    assert_eq!(*name.load(), "renamed!");
    assert_eq!(Snapshot::into_value(name.get()), "renamed!");
}

/// `update`'s closure runs with no lock held (arc-swap's `rcu` contract), so it may
/// read the same property; under Miri and loom the shim's stand-in keeps that
/// contract (it used to call the closure under its mutex, which deadlocked here).
#[test]
fn an_update_closure_may_load_the_same_property() {
    let volume = Property::new(2u64);
    let replaced = volume.update(|v| v + *volume.load());
    assert_eq!(*replaced, 2);
    assert_eq!(*volume.load(), 4);
}

/// A panicking `update` closure publishes nothing, keeps the old snapshot, and
/// leaves the property usable; no value is leaked or dropped twice.
#[test]
fn a_panicking_update_changes_nothing() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let counter = common::Counter::new();
    let prop = Property::new(counter.value(1));
    let before = prop.get();
    let result = catch_unwind(AssertUnwindSafe(|| {
        prop.update(|_| panic!("the closure fails"));
    }));
    assert!(result.is_err());
    assert!(Snapshot::ptr_eq(&before, &prop.get()), "nothing published");
    prop.update(|old| counter.value(old.value + 1));
    assert_eq!(prop.load().value, 2);
    drop((before, prop));
    assert_eq!(counter.drops(), 2, "both values dropped once");
    assert_eq!(counter.clones(), 0);
}
