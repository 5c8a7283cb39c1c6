//! mtsafe side by side with GStreamer 1.22 (through the `gstreamer` crate) and the Rust
//! peers, every group measured in one criterion run on the same machine.
//!
//! Groups (all names start with `gst_`, so they never collide with the groups of the
//! root crate's benches in a shared `target/criterion`):
//!
//! | group | one iteration | module |
//! |---|---|---|
//! | `gst_ref_unref` | take a new reference and drop it | `miniobject` |
//! | `gst_ref_unref_2_threads` | the same, while a second thread does it to the same object | `miniobject` |
//! | `gst_make_writable_unique_buffer`, `..._caps` | get write access through the only handle: no copy | `miniobject` |
//! | `gst_make_writable_shared_buffer`, `..._caps` | clone a handle, make it writable (one copy), drop it | `miniobject` |
//! | `gst_iterate_16`, `gst_iterate_1000` | one full pass over the children, each handed out as a new reference | `iterate` |
//! | `gst_iterate_1000_contended` | one pass while a writer changes the list ~100 000 times/s | `iterate` |
//! | `gst_object_lock`, `gst_object_lock_2_threads` | lock and unlock an object | `object` |
//! | `gst_get_name` | copy an object's name out | `object` |
//! | `gst_get_property` | read a property | `object` |
//! | `gst_make_add_remove` | create a child, add it to a parent, remove it (destroying it) | `object` |
//! | `gst_pool_cycle` | acquire a pooled 2 KiB buffer, fill it, share it, release it (back to the pool) | `pool` |
//!
//! In every group mtsafe's entries start with `mtsafe_`, GStreamer's with `gstreamer_`.
//! The groups of the `object` module wait for mtsafe's object model (`ObjectLock`,
//! property snapshots, `Floating`): each has an `*_mtsafe` function where its mtsafe
//! entry goes.
//!
//! Each group starts with an unreported `0_warm_up` entry: on the project's machine the
//! first entry of a group measured 5–10% slow, whatever it was.
//!
//! The contended iteration group also writes `contended.json` beside criterion's
//! estimates of each entry (passes/s, resyncs per pass, abandoned passes, writes/s),
//! which `scripts/bench-table.py` reads.
//!
//! Run: `gst-bench/setup.sh [criterion args]`, or
//! `cargo bench -p mtsafe-gst-bench -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, Criterion};

mod iterate;
mod miniobject;
mod object;
mod pool;
// The root crate's bench support: the steady-memcpy re-run, the warm-up entry, the
// contended-pass harness, where criterion keeps its results.
#[path = "../../../benches/support/mod.rs"]
mod support;

use support::{steady_memcpy, target_dir, timed_against, warm_up};

/// A group of this bench.
type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Starts GStreamer with a registry of its own (never the user's `$HOME` cache) and
/// nothing that needs a display or a session bus.
fn init_gstreamer() {
    if std::env::var_os("GST_REGISTRY").is_none() {
        let registry = target_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("gst-bench-registry.bin");
        // Still single-threaded: nothing else reads the environment yet.
        std::env::set_var("GST_REGISTRY", registry);
    }
    gstreamer::init().expect("gst_init failed");
    for factory in ["identity", "fakesink"] {
        assert!(
            gstreamer::ElementFactory::find(factory).is_some(),
            "GStreamer's coreelements plugin (`{factory}`) is missing: \
             install libgstreamer1.0-0 (gst-bench/setup.sh does)"
        );
    }
}

/// Takes a new reference and drops it: a black box around both.
fn ref_unref<T: Clone>(x: &T) {
    drop(black_box(black_box(x).clone()));
}

criterion_group!(
    benches,
    miniobject::ref_unref_groups,
    miniobject::make_writable_groups,
    iterate::iterate_groups,
    object::object_groups,
    pool::pool_groups,
);

fn main() {
    steady_memcpy();
    init_gstreamer();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
