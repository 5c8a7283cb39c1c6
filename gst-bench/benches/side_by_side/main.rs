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
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, Criterion};

mod iterate;
mod miniobject;
mod object;

/// A group of this bench.
type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Makes copies measure the copy, not where the allocator happened to put it.
///
/// On the project's machines (AMD EPYC) glibc's `memcpy` takes its `rep movsb` path for
/// blocks of a few KiB and up, and that path is about 15 times slower when the
/// destination lands at an unlucky distance from the source modulo 4 KiB. GStreamer
/// copies with `memcpy` too, so the bench re-runs itself once with glibc told not to
/// use `rep movsb` (`GLIBC_TUNABLES`, read only at process start), as `benches/cow.rs`
/// of the root crate does.
fn steady_memcpy() {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
    {
        use std::os::unix::process::CommandExt;
        const TUNABLE: &str = "glibc.cpu.x86_rep_movsb_threshold=2147483647";
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if tunables.contains("x86_rep_movsb_threshold") {
            return;
        }
        let joined = if tunables.is_empty() {
            TUNABLE.to_string()
        } else {
            format!("{tunables}:{TUNABLE}")
        };
        let exe = std::env::current_exe().expect("bench executable path");
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("GLIBC_TUNABLES", joined)
            .exec();
        eprintln!("could not re-run with {TUNABLE} ({err}); copies may measure heap layout");
    }
}

/// The cargo target directory this bench was built into
/// (`<target>/release/deps/side_by_side-<hash>`).
fn target_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(dir.into());
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.to_path_buf())
}

/// Where criterion keeps its results: the contended statistics go beside them.
fn criterion_home() -> Option<PathBuf> {
    match std::env::var_os("CRITERION_HOME") {
        Some(dir) => Some(dir.into()),
        None => Some(target_dir()?.join("criterion")),
    }
}

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

/// Runs `op` as the group's unreported first entry; see the module docs.
fn warm_up(g: &mut Group<'_>, mut op: impl FnMut()) {
    g.bench_function("0_warm_up", |b| b.iter(&mut op));
}

/// Times `iters` calls of `op` on this thread while another thread calls `other` in a
/// loop: the two-thread (contended) variant of a benchmark.
fn timed_against<F, G>(iters: u64, mut op: F, other: G) -> Duration
where
    F: FnMut(),
    G: Fn() + Sync,
{
    let stop = AtomicBool::new(false);
    let started = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            started.store(true, Ordering::Release);
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..64 {
                    other();
                }
            }
        });
        while !started.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        let start = Instant::now();
        for _ in 0..iters {
            op();
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        elapsed
    })
}

/// Whether criterion is measuring (`cargo bench`), not just running each benchmark once
/// (`cargo test --benches`, `--test`), when nothing must be written.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
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
);

fn main() {
    steady_memcpy();
    init_gstreamer();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
