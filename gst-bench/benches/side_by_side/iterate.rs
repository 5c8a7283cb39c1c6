//! A bin's children walked with `gst_bin_iterate_elements` against a `CookieList` walked
//! with its resync iterator.
//!
//! Every pass hands each child out as a new reference, dropped by the consumer, and on
//! `Resync` restarts from the head (GStreamer's loop). The GStreamer children are
//! `identity` elements in a `GstBin`; mtsafe's are `Arc`s in a `CookieList`. Entries:
//!
//! - `mtsafe_CookieList_iter`: `CookieList::iter` and `ResyncIterator::next`;
//! - `gstreamer_bin_iterate_elements`: the loop as C code writes it, through the C API
//!   (`gst_iterator_next` into one `GValue`, `g_value_reset` after each item);
//! - `gstreamer_rs_Iterator`: the same through the `gstreamer` crate's `gst::Iterator`,
//!   which takes one more reference per item to give out an owned `Element`.
//!
//! Groups: `gst_iterate_16` and `gst_iterate_1000` (one full pass; criterion also
//! reports children/s), and `gst_iterate_1000_contended`: passes while another thread
//! changes the list about 100 000 times a second (paced: add one child, remove the
//! oldest, alternately; `gst_bin_add` / `gst_bin_remove` for GStreamer). A pass that
//! needs more than 1000 resyncs is abandoned and counted; criterion times one pass,
//! completed or abandoned, and `contended.json` beside each entry's estimates records
//! completed passes/s, resyncs per pass, the most one pass needed, abandoned passes and
//! the writes/s the writer achieved.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Mutex};

use criterion::{Criterion, SamplingMode, Throughput};
use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use mtsafe::CookieList;

use crate::support::{contended_run, report, resync_pass, warm_up, Contended, Stats, MAX_RESYNCS};
/// Children added by the writer come from, and removed ones go back to, a pool.
const POOL: usize = 8;

/// mtsafe's child: what a `CookieList` of children holds.
#[derive(Debug)]
struct Child {
    #[allow(dead_code)] // only handed out
    id: usize,
}

/// What the benchmarks need of a list of children: a pass with GStreamer's resync
/// loop, and a change that adds a child from the pool (even `n`) or removes the
/// oldest (odd `n`).
use Contended as Children;

/// The writer's bookkeeping: the children in the list, oldest first, and the pool.
type Bookkeeping<T> = Mutex<(VecDeque<T>, Vec<T>)>;

/// A `CookieList` and the writer's bookkeeping (touched by the writer only).
struct MtsafeChildren {
    list: CookieList<Arc<Child>>,
    writer: Bookkeeping<Arc<Child>>,
}

impl MtsafeChildren {
    fn new(n: usize) -> Self {
        let children: VecDeque<_> = (0..n).map(|id| Arc::new(Child { id })).collect();
        let pool = (n..n + POOL).map(|id| Arc::new(Child { id })).collect();
        Self {
            list: children.iter().cloned().collect(),
            writer: Mutex::new((children, pool)),
        }
    }
}

impl Children for MtsafeChildren {
    fn pass(&self) -> (usize, bool) {
        resync_pass(self.list.iter())
    }

    fn change(&self, n: u64) {
        let mut w = self.writer.lock().unwrap();
        let (in_list, pool) = &mut *w;
        if n % 2 == 0 {
            let child = pool.pop().expect("pool");
            self.list.push(child.clone());
            in_list.push_back(child);
        } else {
            let oldest = in_list.pop_front().expect("a child");
            self.list.remove_where(|c| Arc::ptr_eq(c, &oldest));
            pool.push(oldest);
        }
    }
}

/// A `GstBin` of `identity` elements and the writer's bookkeeping.
struct GstChildren {
    bin: gst::Bin,
    /// Walk with the C API (`true`) or with `gst::Iterator`.
    c_api: bool,
    writer: Bookkeeping<gst::Element>,
}

fn identity() -> gst::Element {
    gst::ElementFactory::make("identity")
        .build()
        .expect("identity element")
}

impl GstChildren {
    fn new(n: usize, c_api: bool) -> Self {
        let bin = gst::Bin::new();
        let children: VecDeque<_> = (0..n).map(|_| identity()).collect();
        for child in &children {
            bin.add(child).expect("gst_bin_add");
        }
        let pool = (0..POOL).map(|_| identity()).collect();
        Self {
            bin,
            c_api,
            writer: Mutex::new((children, pool)),
        }
    }

    /// One pass through the C API, as C code writes the loop.
    fn c_pass(&self) -> (usize, bool) {
        use gst::ffi;
        use gstreamer::glib::gobject_ffi;
        let mut resyncs = 0;
        let completed;
        // SAFETY:
        // - `self.bin` is a live `GstBin`, so `as_ptr` is a valid `GstBin*` for the call;
        // - an all-zero `GValue` is `G_VALUE_INIT`, which `gst_iterator_next` initialises
        //   to the iterator's type on first use;
        // - `item` holds an object only between an `OK` and the `g_value_reset` after it,
        //   and is unset before it goes out of scope; the iterator is freed exactly once,
        //   after its last use.
        unsafe {
            let it = ffi::gst_bin_iterate_elements(self.bin.as_ptr());
            let mut item: gobject_ffi::GValue = std::mem::zeroed();
            loop {
                match ffi::gst_iterator_next(it, &mut item) {
                    ffi::GST_ITERATOR_OK => {
                        black_box(gobject_ffi::g_value_get_object(&item));
                        gobject_ffi::g_value_reset(&mut item);
                    }
                    ffi::GST_ITERATOR_DONE => {
                        completed = true;
                        break;
                    }
                    ffi::GST_ITERATOR_RESYNC => {
                        resyncs += 1;
                        if resyncs > MAX_RESYNCS {
                            completed = false;
                            break;
                        }
                        ffi::gst_iterator_resync(it);
                    }
                    other => panic!("gst_iterator_next: {other}"),
                }
            }
            if item.g_type != glib::gobject_ffi::G_TYPE_INVALID {
                gobject_ffi::g_value_unset(&mut item);
            }
            ffi::gst_iterator_free(it);
        }
        (resyncs, completed)
    }

    /// One pass through the `gstreamer` crate's `gst::Iterator`.
    fn rs_pass(&self) -> (usize, bool) {
        let mut it = self.bin.iterate_elements();
        let mut resyncs = 0;
        loop {
            match it.next() {
                Ok(Some(child)) => drop(black_box(child)),
                Ok(None) => return (resyncs, true),
                Err(gst::IteratorError::Resync) => {
                    resyncs += 1;
                    if resyncs > MAX_RESYNCS {
                        return (resyncs, false);
                    }
                    it.resync();
                }
                Err(gst::IteratorError::Error) => panic!("gst_iterator_next: error"),
            }
        }
    }
}

impl Children for GstChildren {
    fn pass(&self) -> (usize, bool) {
        if self.c_api {
            self.c_pass()
        } else {
            self.rs_pass()
        }
    }

    fn change(&self, n: u64) {
        let mut w = self.writer.lock().unwrap();
        let (in_bin, pool) = &mut *w;
        if n % 2 == 0 {
            let child = pool.pop().expect("pool");
            self.bin.add(&child).expect("gst_bin_add");
            in_bin.push_back(child);
        } else {
            let oldest = in_bin.pop_front().expect("a child");
            self.bin.remove(&oldest).expect("gst_bin_remove");
            pool.push(oldest);
        }
    }
}

/// The three entries of a group over `n` children.
fn entries(n: usize) -> [(&'static str, Box<dyn Children>); 3] {
    [
        ("mtsafe_CookieList_iter", Box::new(MtsafeChildren::new(n))),
        (
            "gstreamer_bin_iterate_elements",
            Box::new(GstChildren::new(n, true)),
        ),
        (
            "gstreamer_rs_Iterator",
            Box::new(GstChildren::new(n, false)),
        ),
    ]
}

pub(crate) fn iterate_groups(c: &mut Criterion) {
    for n in [16, 1000] {
        let mut g = c.benchmark_group(format!("gst_iterate_{n}"));
        g.throughput(Throughput::Elements(n as u64));
        let spare = MtsafeChildren::new(n);
        warm_up(&mut g, || {
            black_box(spare.pass());
        });
        for (name, children) in entries(n) {
            g.bench_function(name, |b| b.iter(|| children.pass()));
        }
        g.finish();
    }
    contended(c);
}

// ---------------------------------------------------------------------------------
// Passes while a writer changes the list ~100 000 times a second.
// ---------------------------------------------------------------------------------

fn contended(c: &mut Criterion) {
    const GROUP: &str = "gst_iterate_1000_contended";
    let mut g = c.benchmark_group(GROUP);
    g.throughput(Throughput::Elements(1000));
    // A starved pass takes milliseconds: a few flat samples are plenty.
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    let spare = MtsafeChildren::new(1000);
    warm_up(&mut g, || {
        black_box(spare.pass());
    });
    let mut all = Vec::new();
    for (name, children) in entries(1000) {
        let stats = Mutex::new(Stats::default());
        g.bench_function(name, |b| {
            b.iter_custom(|iters| contended_run(&*children, iters, &stats))
        });
        all.push((name, stats.into_inner().unwrap()));
    }
    g.finish();
    for (name, st) in all {
        report(GROUP, name, &st);
    }
}
