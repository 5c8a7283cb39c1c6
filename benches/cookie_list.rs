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
//! - `pass_1000`: one full pass over 1000 items (criterion reports items/s), and
//!   `floor_vec_clone_drop`, no list at all: a `Vec<Arc<T>>` walk that clones and
//!   drops each item, the floor for anything that hands out new references;
//! - `write_1000`: `push` and `remove_where` on a 1000-item list;
//! - `contended_{pass,by_value,unpaced}_{1000,10000}`: passes over 1000 or 10 000
//!   items while another thread changes the list: `pass`, about 100 000 changes a
//!   second (paced), adding an item and removing the head; `by_value`, paced, adding
//!   an item and removing it by value (a predicate scan); `unpaced`, adding and
//!   removing the head as fast as the writer can. Criterion times one pass
//!   (completed, or abandoned after 1000 resyncs), and a summary line gives passes/s,
//!   resyncs per pass, the most resyncs one pass needed, passes abandoned after 1000
//!   resyncs, the changes/s achieved and the longest one change took the writer (its
//!   wait for starving passes included). The same figures go to `contended.json`
//!   beside criterion's estimates of each entry, where `scripts/bench-table.py` reads
//!   them. The output starts with the CPU model.
//!
//! Run: `cargo bench --bench cookie_list -- --warm-up-time 1 --measurement-time 3`;
//! one group: append its name (a criterion filter), e.g. `contended_unpaced_10000`.

use std::hint::black_box;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use core::ops::ControlFlow;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use mtsafe::{CookieList, Resync, ResyncIterator};

mod support;
use support::{
    contended_run_in, cpu_model, report, resync_pass, Contended, Scenario, Stats, MAX_RESYNCS,
};

const N: u64 = 1000;

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

    fn remove_where(&self, pred: impl FnMut(&Item) -> bool) -> Option<Item> {
        let mut g = self.inner.lock();
        let pos = g.1.iter().position(pred)?;
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

/// What a `CookieList` holds in the benchmarks: the `Arc` items of every peer, or bare
/// `u64`s, whose clone costs nothing, to show the list's own cost.
trait Payload: Clone + Send + Sync {
    fn make(id: u64) -> Self;
    fn id(&self) -> u64;
}

impl Payload for Item {
    fn make(id: u64) -> Self {
        item(id)
    }

    fn id(&self) -> u64 {
        self.id
    }
}

impl Payload for u64 {
    fn make(id: u64) -> Self {
        id
    }

    fn id(&self) -> u64 {
        *self
    }
}

/// The id the writer adds at change `n` (even) and removes by value at `n + 1`: above
/// every id of a list of up to 10 000 items.
fn added(n: u64) -> u64 {
    1 << 40 | n
}

impl<P: Payload> Contended for CookieList<P> {
    fn pass(&self) -> (usize, bool) {
        resync_pass(self.iter())
    }

    fn change(&self, n: u64) {
        if n % 2 == 0 {
            self.push(P::make(added(n)));
        } else {
            self.remove_where(|_| true);
        }
    }

    fn change_by_value(&self, n: u64) {
        if n % 2 == 0 {
            self.push(P::make(added(n)));
        } else {
            let id = added(n - 1);
            self.remove_where(|x| x.id() == id);
        }
    }
}

/// A `CookieList` walked with `foreach` and the resync loop.
struct ForeachPasses(CookieList<Item>);

impl Contended for ForeachPasses {
    fn pass(&self) -> (usize, bool) {
        let mut it = self.0.iter();
        let mut resyncs = 0;
        while it.foreach(|x| drop(black_box(x))).is_err() {
            resyncs += 1;
            if resyncs > MAX_RESYNCS {
                return (resyncs, false);
            }
            it.resync();
        }
        (resyncs, true)
    }

    fn change(&self, n: u64) {
        self.0.change(n);
    }

    fn change_by_value(&self, n: u64) {
        self.0.change_by_value(n);
    }
}

impl Contended for LockedList {
    fn pass(&self) -> (usize, bool) {
        resync_pass(self.iter())
    }

    fn change(&self, n: u64) {
        if n % 2 == 0 {
            self.push(item(added(n)));
        } else {
            self.remove_where(|_| true);
        }
    }

    fn change_by_value(&self, n: u64) {
        if n % 2 == 0 {
            self.push(item(added(n)));
        } else {
            let id = added(n - 1);
            self.remove_where(|x| x.id == id);
        }
    }
}

/// A `Vec` change for the peers that hold one: add, remove the head, or remove the
/// item added at `n - 1` by value.
fn change_vec(v: &mut Vec<Item>, n: u64, by_value: bool) {
    if n % 2 == 0 {
        v.push(item(added(n)));
    } else if by_value {
        let id = added(n - 1);
        if let Some(p) = v.iter().position(|x| x.id == id) {
            v.remove(p);
        }
    } else {
        v.remove(0);
    }
}

/// A `CookieList` read through `&list` (one consistent snapshot per pass, no
/// `Resync`), for callers that do not need the `GstIterator` contract.
struct SnapshotPasses(CookieList<Item>);

impl Contended for SnapshotPasses {
    fn pass(&self) -> (usize, bool) {
        for x in &self.0 {
            drop(black_box(x));
        }
        (0, true)
    }

    fn change(&self, n: u64) {
        self.0.change(n);
    }

    fn change_by_value(&self, n: u64) {
        self.0.change_by_value(n);
    }
}

/// Lock, clone the `Vec`, unlock, walk the copy.
struct LockCloneVec(parking_lot::Mutex<Vec<Item>>);

impl Contended for LockCloneVec {
    fn pass(&self) -> (usize, bool) {
        let copy = self.0.lock().clone();
        for x in copy {
            drop(black_box(x));
        }
        (0, true)
    }

    fn change(&self, n: u64) {
        change_vec(&mut self.0.lock(), n, false);
    }

    fn change_by_value(&self, n: u64) {
        change_vec(&mut self.0.lock(), n, true);
    }
}

struct ArcSwapVec(arc_swap::ArcSwap<Vec<Item>>);

impl Contended for ArcSwapVec {
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
            change_vec(&mut v, n, false);
            v
        });
    }

    fn change_by_value(&self, n: u64) {
        self.0.rcu(|v| {
            let mut v = Vec::clone(v);
            change_vec(&mut v, n, true);
            v
        });
    }
}

struct RwLockVec(RwLock<Vec<Item>>);

impl Contended for RwLockVec {
    fn pass(&self) -> (usize, bool) {
        let v = self.0.read().unwrap();
        for x in v.iter() {
            drop(black_box(Arc::clone(x)));
        }
        (0, true)
    }

    fn change(&self, n: u64) {
        change_vec(&mut self.0.write().unwrap(), n, false);
    }

    fn change_by_value(&self, n: u64) {
        change_vec(&mut self.0.write().unwrap(), n, true);
    }
}

// ---------------------------------------------------------------------------------
// A full pass over 1000 items, uncontended.
// ---------------------------------------------------------------------------------

fn pass(c: &mut Criterion) {
    println!("CPU: {}", cpu_model());
    let mut g = c.benchmark_group("pass_1000");
    g.throughput(Throughput::Elements(N));

    let list: CookieList<Item> = items(N).collect();
    g.bench_function("cookie_list_iter", |b| b.iter(|| list.pass()));
    g.bench_function("cookie_list_fold", |b| {
        b.iter(|| {
            list.iter().fold((), |(), x| {
                drop(black_box(x));
                ControlFlow::Continue(())
            })
        })
    });
    g.bench_function("cookie_list_foreach", |b| {
        b.iter(|| list.iter().foreach(|x| drop(black_box(x))))
    });
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
    // No list at all: what handing out 1000 new references and dropping them costs
    // on this machine, the floor under every entry above that hands out `Arc`s.
    let bare: Vec<Item> = items(N).collect();
    g.bench_function("floor_vec_clone_drop", |b| {
        b.iter(|| {
            for x in black_box(&bare) {
                drop(black_box(Arc::clone(x)));
            }
        })
    });
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

/// The contended scenarios, by group name: the writer, and the list's length.
const SCENARIOS: [(&str, Scenario, u64); 6] = [
    ("contended_pass_1000", Scenario::PACED_HEAD, 1000),
    ("contended_by_value_1000", PACED_BY_VALUE, 1000),
    ("contended_unpaced_1000", UNPACED_HEAD, 1000),
    ("contended_pass_10000", Scenario::PACED_HEAD, 10_000),
    ("contended_by_value_10000", PACED_BY_VALUE, 10_000),
    ("contended_unpaced_10000", UNPACED_HEAD, 10_000),
];
const PACED_BY_VALUE: Scenario = Scenario {
    by_value: true,
    paced: true,
};
const UNPACED_HEAD: Scenario = Scenario {
    by_value: false,
    paced: false,
};

fn contended(c: &mut Criterion) {
    for (group, scenario, n) in SCENARIOS {
        let entries: Vec<(&str, Box<dyn Contended>)> = vec![
            (
                "cookie_list_iter",
                Box::new(items(n).collect::<CookieList<Item>>()),
            ),
            (
                "cookie_list_foreach",
                Box::new(ForeachPasses(items(n).collect())),
            ),
            (
                "cookie_list_into_iter",
                Box::new(SnapshotPasses(items(n).collect())),
            ),
            (
                "cookie_list_iter_u64",
                Box::new((0..n).collect::<CookieList<u64>>()),
            ),
            ("locked_cookie_iter", Box::new(LockedList::new(n))),
            (
                "lock_clone_vec",
                Box::new(LockCloneVec(parking_lot::Mutex::new(items(n).collect()))),
            ),
            (
                "arc_swap_vec",
                Box::new(ArcSwapVec(arc_swap::ArcSwap::from_pointee(
                    items(n).collect(),
                ))),
            ),
            (
                "rwlock_read",
                Box::new(RwLockVec(RwLock::new(items(n).collect()))),
            ),
        ];
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(n));
        // A starved pass takes milliseconds: a few flat samples are plenty.
        g.sampling_mode(SamplingMode::Flat);
        g.sample_size(10);
        let mut all = Vec::new();
        for (name, list) in &entries {
            let stats = Mutex::new(Stats::default());
            let mut ran = false;
            g.bench_function(*name, |b| {
                ran = true;
                b.iter_custom(|iters| contended_run_in(&**list, iters, &stats, scenario))
            });
            if ran {
                all.push((*name, stats.into_inner().unwrap()));
            }
        }
        g.finish();
        for (name, st) in all {
            report(group, name, &st);
        }
    }
}

criterion_group!(benches, pass, write, contended);
criterion_main!(benches);
