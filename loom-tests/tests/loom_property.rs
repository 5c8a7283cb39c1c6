//! loom models of `Property`: racing `update`s lose nothing, and an `update`
//! closure runs with no lock held (it may read the same property), as arc-swap's
//! `rcu` does; under loom the sync shim's stand-in must keep both.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p mtsafe-loom-tests --release --test loom_property`.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use mtsafe::Property;

/// Two threads update one property at once, one of them reading the property again
/// inside its closure: no interleaving deadlocks (loom reports a thread blocked on a
/// lock it holds) and no update is lost.
#[test]
fn racing_updates_one_reentrant_lose_nothing() {
    loom::model(|| {
        let prop = Arc::new(Property::new(1u32));
        let other = Arc::clone(&prop);
        let t = thread::spawn(move || {
            other.update(|n| n + 10);
        });
        prop.update(|n| {
            // Re-entrant: the property, read from inside its own update.
            let seen = *prop.load();
            assert!(seen == 1 || seen == 11, "{seen}");
            n + 100
        });
        t.join().unwrap();
        assert_eq!(*prop.load(), 111);
    });
}
