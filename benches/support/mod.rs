//! What mtsafe's benchmarks share: the steady-`memcpy` re-run, the unreported warm-up
//! entry, where criterion keeps its results, and the contended-pass harness (a paced
//! writer changing a list while passes run, with the statistics written beside
//! criterion's estimates for `scripts/bench-table.py`).
//!
//! Included with `mod support;` by the root crate's benches and with a `#[path]` by
//! `gst-bench`'s, so both measure with the same code. Each bench uses part of it.
#![allow(dead_code)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;
use mtsafe::{Resync, ResyncIterator};

/// Makes copies measure the copy, not where the allocator happened to put it.
///
/// On this project's machines (AMD EPYC) glibc's `memcpy` takes its `rep movsb` path
/// for blocks of a few KiB and up, and that path is about 15 times slower when the
/// destination lands at an unlucky distance from the source modulo 4 KiB. Which
/// implementation hit that depended only on heap layout: the same 64 KiB copy cycle
/// measured 1.4 µs or 22 µs. So a bench that copies re-runs itself once with glibc
/// told not to use `rep movsb` (`GLIBC_TUNABLES`, read only at process start), and
/// every peer (GStreamer included) copies with the same vector loop.
pub fn steady_memcpy() {
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

/// Runs `op` as the group's unreported first entry: on this machine whichever entry
/// runs first in a group measured 5–10% slow, whatever it was.
pub fn warm_up(g: &mut BenchmarkGroup<'_, WallTime>, mut op: impl FnMut()) {
    g.bench_function("0_warm_up", |b| b.iter(&mut op));
}

/// [`warm_up`] for a group whose entries time themselves (`iter_custom`): the warm-up
/// runs the same kind of measurement, so that the first real entry is not the one
/// that starts the second thread's core, or the harness, cold.
pub fn warm_up_custom(
    g: &mut BenchmarkGroup<'_, WallTime>,
    mut timed: impl FnMut(u64) -> Duration,
) {
    g.bench_function("0_warm_up", |b| b.iter_custom(&mut timed));
}

/// The cargo target directory the bench was built into (`CARGO_TARGET_DIR`, else
/// found from this executable's path, `<target>/release/deps/<bench>-<hash>`).
pub fn target_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(dir.into());
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.to_path_buf())
}

/// Where criterion keeps its results (`CRITERION_HOME`, else `<target>/criterion`).
pub fn criterion_home() -> Option<PathBuf> {
    match std::env::var_os("CRITERION_HOME") {
        Some(dir) => Some(dir.into()),
        None => Some(target_dir()?.join("criterion")),
    }
}

/// Whether criterion is measuring (`cargo bench`), not just running each benchmark once
/// (`cargo test --benches`, `--test`), when nothing must be written.
pub fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

// ---------------------------------------------------------------------------------
// Passes while a writer changes the list ~100 000 times a second.
// ---------------------------------------------------------------------------------

/// The writer's pace in the contended scenario: 100 000 changes a second.
pub const WRITE_PERIOD: Duration = Duration::from_micros(10);
/// A pass that needs more resyncs than this is abandoned (and counted).
pub const MAX_RESYNCS: usize = 1000;

/// A list under test in the contended scenario.
pub trait Contended: Sync {
    /// One pass with the resync loop: `(resyncs, completed)`; abandoned after
    /// [`MAX_RESYNCS`] resyncs.
    fn pass(&self) -> (usize, bool);
    /// One change: even `n` add an item, odd `n` remove one (the head, for the lists
    /// that have one), so that an even number of changes leaves the list as it was.
    fn change(&self, n: u64);
    /// One change, the other way to remove: even `n` add an item, odd `n` remove the
    /// item added at `n - 1`, found by value (a predicate scan). By default, `change`.
    fn change_by_value(&self, n: u64) {
        self.change(n)
    }
}

/// What the writer of a contended run does.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Removes by value ([`Contended::change_by_value`]) instead of the head.
    pub by_value: bool,
    /// One change every [`WRITE_PERIOD`], or as fast as it can.
    pub paced: bool,
}

impl Scenario {
    /// The writer of [`contended_run`]: paced, removing the head.
    pub const PACED_HEAD: Self = Self {
        by_value: false,
        paced: true,
    };
}

/// The CPU model of this machine (`model name` in `/proc/cpuinfo`), for the header of
/// a benchmark's output: the figures belong to it.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// One pass with GStreamer's resync loop, giving up after [`MAX_RESYNCS`]:
/// `(resyncs, completed)`. Inlined, so that each entry's loop is compiled where its
/// iterator is made, as a user's `while let` over `list.iter()` is: out of line, the
/// iterator would be passed by address and every step would reload its fields from
/// memory (docs/limitations.md).
#[inline]
pub fn resync_pass<I: ResyncIterator>(mut it: I) -> (usize, bool) {
    let mut resyncs = 0;
    loop {
        match it.next() {
            Ok(Some(x)) => drop(black_box(x)),
            Ok(None) => return (resyncs, true),
            Err(Resync) => {
                resyncs += 1;
                if resyncs > MAX_RESYNCS {
                    return (resyncs, false);
                }
                it.resync();
            }
        }
    }
}

/// What the passes of one entry measured, over all of criterion's samples.
#[derive(Default)]
pub struct Stats {
    passes: u64,
    abandoned: u64,
    resyncs: u64,
    max_resyncs: usize,
    reader_time: Duration,
    writes: u64,
    writer_time: Duration,
    /// The longest one change took the writer (its wait for readers included).
    longest_change: Duration,
}

/// Runs `iters` passes over `list` while a paced writer changes it; returns the time
/// the passes took, and adds what happened to `stats`.
pub fn contended_run(list: &dyn Contended, iters: u64, stats: &Mutex<Stats>) -> Duration {
    contended_run_in(list, iters, stats, Scenario::PACED_HEAD)
}

/// [`contended_run`] with the writer of `scenario`.
pub fn contended_run_in(
    list: &dyn Contended,
    iters: u64,
    stats: &Mutex<Stats>,
    scenario: Scenario,
) -> Duration {
    let stop = AtomicBool::new(false);
    let writes = AtomicU64::new(0);
    let change = |n: u64| {
        let start = Instant::now();
        if scenario.by_value {
            list.change_by_value(n);
        } else {
            list.change(n);
        }
        start.elapsed()
    };
    thread::scope(|s| {
        let writer = s.spawn(|| {
            let start = Instant::now();
            let mut n = 0u64;
            let mut due = start;
            let mut longest = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                if scenario.paced {
                    while Instant::now() < due {
                        std::hint::spin_loop();
                    }
                }
                longest = longest.max(change(n));
                n += 1;
                due += WRITE_PERIOD;
                // Catch up after a short stall, but no long burst after a long one
                // (a descheduled writer).
                let now = Instant::now();
                if now > due + 10 * WRITE_PERIOD {
                    due = now;
                }
                if n == 1 {
                    writes.store(1, Ordering::Release);
                }
            }
            // Leave the list as it was: an even number of changes.
            if n % 2 == 1 {
                longest = longest.max(change(n));
                n += 1;
            }
            (n, start.elapsed(), longest)
        });
        // Start measuring once the writer runs.
        while writes.load(Ordering::Acquire) == 0 {
            std::hint::spin_loop();
        }
        let mut local = Stats::default();
        let start = Instant::now();
        for _ in 0..iters {
            let (resyncs, completed) = list.pass();
            local.resyncs += resyncs as u64;
            local.max_resyncs = local.max_resyncs.max(resyncs);
            if completed {
                local.passes += 1;
            } else {
                local.abandoned += 1;
            }
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let (n, writer_time, longest) = writer.join().unwrap();
        let mut st = stats.lock().unwrap();
        st.passes += local.passes;
        st.abandoned += local.abandoned;
        st.resyncs += local.resyncs;
        st.max_resyncs = st.max_resyncs.max(local.max_resyncs);
        st.reader_time += elapsed;
        st.writes += n;
        st.writer_time += writer_time;
        st.longest_change = st.longest_change.max(longest);
        elapsed
    })
}

/// Prints an entry's contended statistics and, when criterion measured, writes them
/// to `contended.json` beside its estimates.
pub fn report(group: &str, name: &str, st: &Stats) {
    let secs = st.reader_time.as_secs_f64();
    let attempted = st.passes + st.abandoned;
    if attempted == 0 || secs == 0.0 {
        return;
    }
    let passes_per_s = st.passes as f64 / secs;
    let resyncs_per_pass = st.resyncs as f64 / attempted as f64;
    let writes_per_s = st.writes as f64 / st.writer_time.as_secs_f64();
    let longest_us = st.longest_change.as_secs_f64() * 1e6;
    println!(
        "{group}/{name}: completed passes/s {passes_per_s:.0}, resyncs/pass {resyncs_per_pass:.3}, \
         max resyncs in one pass {}, passes abandoned after {MAX_RESYNCS} resyncs {} of {attempted}, \
         writes/s {writes_per_s:.0}, longest change {longest_us:.1} µs",
        st.max_resyncs, st.abandoned,
    );
    if !measuring() {
        return;
    }
    let json = format!(
        "{{\"passes_per_s\": {passes_per_s:.1}, \"resyncs_per_pass\": {resyncs_per_pass:.4}, \
         \"max_resyncs\": {}, \"abandoned\": {}, \"attempted\": {attempted}, \
         \"max_resyncs_allowed\": {MAX_RESYNCS}, \"writes_per_s\": {writes_per_s:.1}, \
         \"write_period_ns\": {}, \"longest_change_ns\": {}, \"cpu\": {:?}}}\n",
        st.max_resyncs,
        st.abandoned,
        WRITE_PERIOD.as_nanos(),
        st.longest_change.as_nanos(),
        cpu_model(),
    );
    if let Some(home) = criterion_home() {
        let dir = home.join(group).join(name);
        if let Err(e) = write_json(&dir, &json) {
            eprintln!("could not write {}/contended.json: {e}", dir.display());
        }
    }
}

fn write_json(dir: &Path, json: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("contended.json"), json)
}

/// Times `iters` calls of `op` on this thread while another thread calls `other` in a
/// loop: the two-thread (contended) variant of a benchmark.
pub fn timed_against<F, G>(iters: u64, mut op: F, other: G) -> Duration
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

/// Runs `iters` calls of `a` on one thread and `iters` calls of `b` on another,
/// released together, and returns the wall time until both are done: equal to one
/// thread's time for `iters` calls when the two never wait for each other (on a
/// machine with two free cores), twice that when they fully serialize.
pub fn both_at_once<A, B>(iters: u64, a: A, b: B) -> Duration
where
    A: Fn() + Sync,
    B: Fn() + Sync,
{
    let ready = std::sync::Barrier::new(3);
    let run = |op: &(dyn Fn() + Sync)| {
        ready.wait();
        for _ in 0..iters {
            op();
        }
    };
    thread::scope(|s| {
        let ta = s.spawn(|| run(&a));
        let tb = s.spawn(|| run(&b));
        ready.wait();
        let start = Instant::now();
        ta.join().unwrap();
        tb.join().unwrap();
        start.elapsed()
    })
}
