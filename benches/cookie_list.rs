//! `CookieList` against its peers, all measured in the same run:
//!
//! | peer                   | what it is                                                                 |
//! |------------------------|----------------------------------------------------------------------------|
//! | `locked_cookie_iter`   | `parking_lot::Mutex<Vec<Arc<T>>>` + cookie, an iterator that locks per item (the naive `GstIterator` shape) |
//! | `lock_clone_vec`       | lock the `parking_lot::Mutex<Vec<Arc<T>>>`, clone the `Vec`, unlock, walk the copy |
//! | `arc_swap_vec`         | `arc_swap::ArcSwap<Vec<Arc<T>>>`: load, walk; writes clone the whole `Vec` |
//! | `rwlock_read`          | `std::sync::RwLock<Vec<Arc<T>>>`: hold the read lock for the pass          |
//!
//! Every pass hands each item out as a new reference (an `Arc` clone, dropped by the
//! consumer), as `GstIterator` does. Groups:
//! - `pass_1000`: one full pass over 1000 items (criterion reports items/s);
//! - `write_1000`: `push` and `remove_where` on a 1000-item list;
//! - `contended_pass_1000`: passes over 1000 items while another thread changes the
//!   list about 100 000 times a second (paced); criterion times one pass (completed,
//!   or abandoned after 1000 resyncs), and a summary line gives passes/s, resyncs per
//!   pass, the most resyncs one pass needed, passes abandoned after 1000 resyncs, and
//!   the writes/s achieved. The same figures go to `contended.json` beside criterion's
//!   estimates of each entry, where `scripts/bench-table.py` reads them.
//!
//! Run: `cargo bench --bench cookie_list -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mtsafe::{CookieList, Resync, ResyncIterator};

const N: u64 = 1000;
/// The writer's pace in the contended scenario: 100 000 changes a second.
const WRITE_PERIOD: Duration = Duration::from_micros(10);
/// A pass that needs more resyncs than this is abandoned (and counted).
const MAX_RESYNCS: usize = 1000;

#[derive(Debug)]
struct Element {
    id: u64,
}

type Item = Arc<Element>;

fn item(id: u64) -> Item {
    Arc::new(Element { id })
}

fn items(n: u64) -> impl Iterator<Item = Item> {
    (0..n).map(item)
}

// ---------------------------------------------------------------------------------
// The peers.
// ---------------------------------------------------------------------------------

/// A `Vec` and a cookie under one `parking_lot::Mutex`, with an iterator that takes
/// the lock for every step: the shape of GStreamer's list iterator.
struct LockedList {
    inner: parking_lot::Mutex<(u64, Vec<Item>)>,
}

struct LockedIter<'a> {
    list: &'a LockedList,
    cookie: u64,
    pos: usize,
}

impl LockedList {
    fn new(n: u64) -> Self {
        Self {
            inner: parking_lot::Mutex::new((0, items(n).collect())),
        }
    }

    fn iter(&self) -> LockedIter<'_> {
        LockedIter {
            list: self,
            cookie: self.inner.lock().0,
            pos: 0,
        }
    }

    fn push(&self, x: Item) {
        let mut g = self.inner.lock();
        g.0 += 1;
        g.1.push(x);
    }

    fn remove_where(&self, mut pred: impl FnMut(&Item) -> bool) -> Option<Item> {
        let mut g = self.inner.lock();
        let pos = g.1.iter().position(&mut pred)?;
        g.0 += 1;
        Some(g.1.remove(pos))
    }
}

impl ResyncIterator for LockedIter<'_> {
    type Item = Item;

    fn next(&mut self) -> Result<Option<Item>, Resync> {
        let g = self.list.inner.lock();
        if g.0 != self.cookie {
            return Err(Resync);
        }
        let x = g.1.get(self.pos).cloned();
        self.pos += x.is_some() as usize;
        Ok(x)
    }

    fn resync(&mut self) {
        self.cookie = self.list.inner.lock().0;
        self.pos = 0;
    }
}

/// One pass with GStreamer's resync loop, giving up after `MAX_RESYNCS`:
/// `(resyncs, completed)`.
fn resync_pass<I: ResyncIterator>(mut it: I) -> (usize, bool) {
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

/// What the contended scenario needs of a list.
trait Contender: Sync {
    /// One pass: `(resyncs, completed)`.
    fn pass(&self) -> (usize, bool);
    /// One change; alternating appends and removals of the head keep ~1000 items.
    fn change(&self, n: u64);
}

/// What a `CookieList` holds in the benchmarks: the `Arc` items of every peer, or bare
/// `u64`s, whose clone costs nothing, to show the list's own cost.
trait Payload: Clone + Send + Sync {
    fn make(id: u64) -> Self;
}

impl Payload for Item {
    fn make(id: u64) -> Self {
        item(id)
    }
}

impl Payload for u64 {
    fn make(id: u64) -> Self {
        id
    }
}

impl<P: Payload> Contender for CookieList<P> {
    fn pass(&self) -> (usize, bool) {
        resync_pass(self.iter())
    }

    fn change(&self, n: u64) {
        if n % 2 == 0 {
            self.push(P::make(N + n));
        } else {
            self.remove_where(|_| true);
        }
    }
}

impl Contender for LockedList {
    fn pass(&self) -> (usize, bool) {
        resync_pass(self.iter())
    }

    fn change(&self, n: u64) {
        if n % 2 == 0 {
            self.push(item(N + n));
        } else {
            self.remove_where(|_| true);
        }
    }
}

/// A `CookieList` read through `&list` (one consistent snapshot per pass, no
/// `Resync`), for callers that do not need the `GstIterator` contract.
struct SnapshotPasses(CookieList<Item>);

impl Contender for SnapshotPasses {
    fn pass(&self) -> (usize, bool) {
        for x in &self.0 {
            drop(black_box(x));
        }
        (0, true)
    }

    fn change(&self, n: u64) {
        self.0.change(n);
    }
}

/// Lock, clone the `Vec`, unlock, walk the copy.
struct LockCloneVec(parking_lot::Mutex<Vec<Item>>);

impl Contender for LockCloneVec {
    fn pass(&self) -> (usize, bool) {
        let copy = self.0.lock().clone();
        for x in copy {
            drop(black_box(x));
        }
        (0, true)
    }

    fn change(&self, n: u64) {
        let mut g = self.0.lock();
        if n % 2 == 0 {
            g.push(item(N + n));
        } else {
            g.remove(0);
        }
    }
}

struct ArcSwapVec(arc_swap::ArcSwap<Vec<Item>>);

impl Contender for ArcSwapVec {
    fn pass(&self) -> (usize, bool) {
        let v = self.0.load();
        for x in v.iter() {
            drop(black_box(Arc::clone(x)));
        }
        (0, true)
    }

    fn change(&self, n: u64) {
        self.0.rcu(|v| {
            let mut v = Vec::clone(v);
            if n % 2 == 0 {
                v.push(item(N + n));
            } else {
                v.remove(0);
            }
            v
        });
    }
}

struct RwLockVec(RwLock<Vec<Item>>);

impl Contender for RwLockVec {
    fn pass(&self) -> (usize, bool) {
        let v = self.0.read().unwrap();
        for x in v.iter() {
            drop(black_box(Arc::clone(x)));
        }
        (0, true)
    }

    fn change(&self, n: u64) {
        let mut g = self.0.write().unwrap();
        if n % 2 == 0 {
            g.push(item(N + n));
        } else {
            g.remove(0);
        }
    }
}

// ---------------------------------------------------------------------------------
// A full pass over 1000 items, uncontended.
// ---------------------------------------------------------------------------------

fn pass(c: &mut Criterion) {
    let mut g = c.benchmark_group("pass_1000");
    g.throughput(Throughput::Elements(N));

    let list: CookieList<Item> = items(N).collect();
    g.bench_function("cookie_list_iter", |b| b.iter(|| list.pass()));
    g.bench_function("cookie_list_into_iter", |b| {
        b.iter(|| {
            for x in &list {
                drop(black_box(x));
            }
        })
    });
    g.bench_function("cookie_list_snapshot_by_ref", |b| {
        b.iter(|| {
            for x in list.snapshot().iter() {
                black_box(x);
            }
        })
    });
    let numbers: CookieList<u64> = (0..N).collect();
    g.bench_function("cookie_list_iter_u64", |b| {
        b.iter(|| {
            let mut it = numbers.iter();
            while let Ok(Some(x)) = it.next() {
                black_box(x);
            }
        })
    });

    let locked = LockedList::new(N);
    g.bench_function("locked_cookie_iter", |b| b.iter(|| locked.pass()));
    let clone_vec = LockCloneVec(parking_lot::Mutex::new(items(N).collect()));
    g.bench_function("lock_clone_vec", |b| b.iter(|| clone_vec.pass()));
    let swap = ArcSwapVec(arc_swap::ArcSwap::from_pointee(items(N).collect()));
    g.bench_function("arc_swap_vec", |b| b.iter(|| swap.pass()));
    let rw = RwLockVec(RwLock::new(items(N).collect()));
    g.bench_function("rwlock_read", |b| b.iter(|| rw.pass()));
    g.finish();
}

// ---------------------------------------------------------------------------------
// push and remove_where on a 1000-item list.
// ---------------------------------------------------------------------------------

/// Times `op(list, i)` for `iters` calls, on fresh 1000-item lists made by `make`
/// (untimed), at most `per_list` calls per list.
fn timed_on_fresh<L>(
    iters: u64,
    per_list: u64,
    make: &impl Fn() -> L,
    op: &impl Fn(&L, u64),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let list = make();
        let k = per_list.min(iters - done);
        let start = Instant::now();
        for i in 0..k {
            op(&list, i);
        }
        total += start.elapsed();
        drop(list);
        done += k;
    }
    total
}

/// Ids removed by the `remove_where` benchmarks: spread over the list.
fn victim(i: u64) -> u64 {
    i * 10 % N
}

fn write(c: &mut Criterion) {
    let mut g = c.benchmark_group("write_1000");
    const PER_LIST: u64 = 100;

    macro_rules! both {
        ($name:literal, $make:expr, $push:expr, $remove:expr) => {
            g.bench_function(concat!("push/", $name), |b| {
                b.iter_custom(|iters| timed_on_fresh(iters, PER_LIST, &$make, &$push))
            });
            g.bench_function(concat!("remove_where/", $name), |b| {
                b.iter_custom(|iters| timed_on_fresh(iters, PER_LIST, &$make, &$remove))
            });
        };
    }

    both!(
        "cookie_list",
        || items(N).collect::<CookieList<Item>>(),
        |l: &CookieList<Item>, i| l.push(item(N + i)),
        |l: &CookieList<Item>, i| {
            black_box(l.remove_where(|x| x.id == victim(i)));
        }
    );
    both!(
        "mutex_vec",
        || LockedList::new(N),
        |l: &LockedList, i| l.push(item(N + i)),
        |l: &LockedList, i| {
            black_box(l.remove_where(|x| x.id == victim(i)));
        }
    );
    both!(
        "arc_swap_vec",
        || arc_swap::ArcSwap::from_pointee(items(N).collect::<Vec<_>>()),
        |l: &arc_swap::ArcSwap<Vec<Item>>, i| {
            l.rcu(|v| {
                let mut v = Vec::clone(v);
                v.push(item(N + i));
                v
            });
        },
        |l: &arc_swap::ArcSwap<Vec<Item>>, i| {
            let mut removed = None;
            l.rcu(|v| {
                let mut v = Vec::clone(v);
                if let Some(p) = v.iter().position(|x| x.id == victim(i)) {
                    removed = Some(v.remove(p));
                }
                v
            });
            black_box(removed);
        }
    );
    both!(
        "rwlock_vec",
        || RwLock::new(items(N).collect::<Vec<_>>()),
        |l: &RwLock<Vec<Item>>, i| l.write().unwrap().push(item(N + i)),
        |l: &RwLock<Vec<Item>>, i| {
            let mut g = l.write().unwrap();
            let p = g.iter().position(|x| x.id == victim(i));
            black_box(p.map(|p| g.remove(p)));
        }
    );
    g.finish();
}

// ---------------------------------------------------------------------------------
// Passes while a writer changes the list ~100 000 times a second.
// ---------------------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    passes: u64,
    abandoned: u64,
    resyncs: u64,
    max_resyncs: usize,
    reader_time: Duration,
    writes: u64,
    writer_time: Duration,
}

/// Runs `iters` passes on `list` while a paced writer changes it; returns the time.
fn contended_run<L: Contender>(list: &L, iters: u64, stats: &Mutex<Stats>) -> Duration {
    let stop = AtomicBool::new(false);
    let writes = AtomicU64::new(0);
    thread::scope(|s| {
        let writer = s.spawn(|| {
            let start = Instant::now();
            let mut n = 0u64;
            let mut due = start;
            while !stop.load(Ordering::Relaxed) {
                while Instant::now() < due {
                    std::hint::spin_loop();
                }
                list.change(n);
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
            (n, start.elapsed())
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
        let (n, writer_time) = writer.join().unwrap();
        let mut st = stats.lock().unwrap();
        st.passes += local.passes;
        st.abandoned += local.abandoned;
        st.resyncs += local.resyncs;
        st.max_resyncs = st.max_resyncs.max(local.max_resyncs);
        st.reader_time += elapsed;
        st.writes += n;
        st.writer_time += writer_time;
        elapsed
    })
}

fn contended_one<L: Contender>(c: &mut Criterion, name: &str, list: L) {
    let stats = Mutex::new(Stats::default());
    let mut g = c.benchmark_group(GROUP);
    g.throughput(Throughput::Elements(N));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| contended_run(&list, iters, &stats))
    });
    g.finish();
    report(name, &stats.into_inner().unwrap());
}

const GROUP: &str = "contended_pass_1000";

/// Prints an entry's contended statistics and, when criterion measured, writes them
/// to `contended.json` beside its estimates.
fn report(name: &str, st: &Stats) {
    let secs = st.reader_time.as_secs_f64();
    let attempted = st.passes + st.abandoned;
    if attempted == 0 || secs == 0.0 {
        return;
    }
    let passes_per_s = st.passes as f64 / secs;
    let resyncs_per_pass = st.resyncs as f64 / attempted as f64;
    let writes_per_s = st.writes as f64 / st.writer_time.as_secs_f64();
    println!(
        "{GROUP}/{name}: completed passes/s {passes_per_s:.0}, resyncs/pass {resyncs_per_pass:.3}, \
         max resyncs in one pass {}, passes abandoned after {MAX_RESYNCS} resyncs {} of {attempted}, \
         writes/s {writes_per_s:.0}",
        st.max_resyncs, st.abandoned,
    );
    if !measuring() {
        return;
    }
    let json = format!(
        "{{\"passes_per_s\": {passes_per_s:.1}, \"resyncs_per_pass\": {resyncs_per_pass:.4}, \
         \"max_resyncs\": {}, \"abandoned\": {}, \"attempted\": {attempted}, \
         \"max_resyncs_allowed\": {MAX_RESYNCS}, \"writes_per_s\": {writes_per_s:.1}, \
         \"write_period_ns\": {}}}\n",
        st.max_resyncs,
        st.abandoned,
        WRITE_PERIOD.as_nanos(),
    );
    if let Some(home) = criterion_home() {
        let dir = home.join(GROUP).join(name);
        if let Err(e) = write_file(&dir, &json) {
            eprintln!("could not write {}/contended.json: {e}", dir.display());
        }
    }
}

/// Whether criterion is measuring (`cargo bench`), not just running each benchmark once
/// (`cargo test --benches`, `--test`), when nothing must be written.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

/// Where criterion keeps its results (`CRITERION_HOME`, else `<target>/criterion`,
/// the target directory found from `CARGO_TARGET_DIR` or this executable's path,
/// `<target>/release/deps/cookie_list-<hash>`).
fn criterion_home() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CRITERION_HOME") {
        return Some(dir.into());
    }
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().ok()?;
            exe.parent()?.parent()?.parent()?.to_path_buf()
        }
    };
    Some(target.join("criterion"))
}

fn write_file(dir: &Path, json: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("contended.json"), json)
}

fn contended(c: &mut Criterion) {
    contended_one(
        c,
        "cookie_list_iter",
        items(N).collect::<CookieList<Item>>(),
    );
    contended_one(
        c,
        "cookie_list_into_iter",
        SnapshotPasses(items(N).collect()),
    );
    contended_one(
        c,
        "cookie_list_iter_u64",
        (0..N).collect::<CookieList<u64>>(),
    );
    contended_one(c, "locked_cookie_iter", LockedList::new(N));
    contended_one(
        c,
        "lock_clone_vec",
        LockCloneVec(parking_lot::Mutex::new(items(N).collect())),
    );
    contended_one(
        c,
        "arc_swap_vec",
        ArcSwapVec(arc_swap::ArcSwap::from_pointee(items(N).collect())),
    );
    contended_one(c, "rwlock_read", RwLockVec(RwLock::new(items(N).collect())));
}

criterion_group!(benches, pass, write, contended);
criterion_main!(benches);
