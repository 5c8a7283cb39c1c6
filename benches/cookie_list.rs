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
//! - `contended_pass_1000`: passes over 1000 items while another thread changes the
//!   list about 100 000 times a second (paced); criterion times one pass (completed,
//!   or abandoned after 1000 resyncs), and a summary line gives passes/s, resyncs per
//!   pass, the most resyncs one pass needed, passes abandoned after 1000 resyncs, and
//!   the writes/s achieved. The same figures go to `contended.json` beside criterion's
//!   estimates of each entry, where `scripts/bench-table.py` reads them.
//!
//! Run: `cargo bench --bench cookie_list -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mtsafe::{CookieList, Resync, ResyncIterator};

mod support;
use support::{contended_run, report, resync_pass, Contended, Stats};

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

impl<P: Payload> Contended for CookieList<P> {
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

impl Contended for LockedList {
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
        let mut g = self.0.lock();
        if n % 2 == 0 {
            g.push(item(N + n));
        } else {
            g.remove(0);
        }
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

impl Contended for RwLockVec {
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

fn contended_one<L: Contended>(c: &mut Criterion, name: &str, list: L) {
    let stats = Mutex::new(Stats::default());
    let mut g = c.benchmark_group(GROUP);
    g.throughput(Throughput::Elements(N));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| contended_run(&list, iters, &stats))
    });
    g.finish();
    report(GROUP, name, &stats.into_inner().unwrap());
}

const GROUP: &str = "contended_pass_1000";

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
