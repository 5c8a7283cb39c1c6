//! Mini objects: `GstBuffer` and `GstCaps` against `CowShared` (mtsafe's `Buffer` for
//! buffers, a caps-like value for caps).
//!
//! - `gst_ref_unref`: `gst_mini_object_ref` + `unref` on a `GstBuffer` against a
//!   `CowShared` clone + drop, with std's `Arc` as the floor.
//! - `gst_ref_unref_2_threads`: the same while a second thread refs and unrefs the same
//!   object in a loop (the count's cache line bounces between the cores). Its warm-up
//!   entry runs the same two-thread harness: with a one-thread warm-up, whichever
//!   entry came first paid for starting the second thread's core cold, which made
//!   `CowShared` (the first entry) read 1.5x `Arc` with the same instructions; with
//!   the two-thread warm-up it reads 0.92x (2026-11-30, AMD EPYC).
//! - `gst_make_writable_unique_*`: `make_mut` (`gst_mini_object_make_writable`) on the
//!   only handle against `CowShared::get_writable`: a writability check, no copy.
//! - `gst_make_writable_shared_*`: one copy-on-write cycle: clone a handle to an object
//!   held elsewhere, make it writable (copy), drop the copy. For buffers both sides copy
//!   the buffer and share its 4 KiB memory block (`gst_buffer_copy`, mtsafe's
//!   two-level `Buffer`); for caps both copy one structure with a media type and four
//!   fields (two strings, two integers).

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use gstreamer as gst;
use mtsafe::buffer::{Buffer, Memory};
use mtsafe::CowShared;

use crate::support::warm_up_custom;
use crate::{ref_unref, timed_against, warm_up};

/// The size of the one memory block of the buffers.
const BLOCK: usize = 4 << 10;

fn gst_buffer() -> gst::Buffer {
    gst::Buffer::with_size(BLOCK).expect("a 4 KiB GstBuffer")
}

fn mtsafe_buffer() -> CowShared<Buffer<u8>> {
    Buffer::from_memories([Memory::from_vec(vec![0u8; BLOCK])])
}

/// `audio/x-raw, format=S16LE, layout=interleaved, rate=48000, channels=2`.
fn gst_caps() -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("layout", "interleaved")
        .field("rate", 48000i32)
        .field("channels", 2i32)
        .build()
}

/// The same caps as a plain Rust value: names interned (`&'static str`, as GStreamer
/// interns them as quarks), string values owned (copied, as `GValue` strings are).
#[derive(Clone, Debug)]
struct Structure {
    #[allow(dead_code)] // only copied, never read
    name: &'static str,
    #[allow(dead_code)]
    fields: Vec<(&'static str, Field)>,
}

#[derive(Clone, Debug)]
enum Field {
    Str(#[allow(dead_code)] String),
    Int(#[allow(dead_code)] i32),
}

fn mtsafe_caps() -> CowShared<Vec<Structure>> {
    CowShared::new(vec![Structure {
        name: "audio/x-raw",
        fields: vec![
            ("format", Field::Str("S16LE".into())),
            ("layout", Field::Str("interleaved".into())),
            ("rate", Field::Int(48000)),
            ("channels", Field::Int(2)),
        ],
    }])
}

pub(crate) fn ref_unref_groups(c: &mut Criterion) {
    let mut g = c.benchmark_group("gst_ref_unref");
    let spare = Arc::new(0u64);
    warm_up(&mut g, || ref_unref(&spare));
    let cow = mtsafe_buffer();
    g.bench_function("mtsafe_CowShared", |b| b.iter(|| ref_unref(&cow)));
    let buffer = gst_buffer();
    g.bench_function("gstreamer_Buffer", |b| b.iter(|| ref_unref(&buffer)));
    let arc = Arc::new(0u64);
    g.bench_function("std_Arc", |b| b.iter(|| ref_unref(&arc)));
    g.finish();

    let mut g = c.benchmark_group("gst_ref_unref_2_threads");
    warm_up_custom(&mut g, |n| {
        timed_against(n, || ref_unref(&spare), || ref_unref(&spare))
    });
    g.bench_function("mtsafe_CowShared", |b| {
        b.iter_custom(|n| timed_against(n, || ref_unref(&cow), || ref_unref(&cow)))
    });
    g.bench_function("gstreamer_Buffer", |b| {
        b.iter_custom(|n| timed_against(n, || ref_unref(&buffer), || ref_unref(&buffer)))
    });
    g.bench_function("std_Arc", |b| {
        b.iter_custom(|n| timed_against(n, || ref_unref(&arc), || ref_unref(&arc)))
    });
    g.finish();
}

pub(crate) fn make_writable_groups(c: &mut Criterion) {
    // Unique: the handle is the only one, nothing is copied.
    let mut g = c.benchmark_group("gst_make_writable_unique_buffer");
    let mut spare = mtsafe_buffer();
    warm_up(&mut g, || {
        black_box(CowShared::get_writable(black_box(&mut spare)));
    });
    let mut cow = mtsafe_buffer();
    g.bench_function("mtsafe_Buffer", |b| {
        b.iter(|| {
            black_box(CowShared::get_writable(black_box(&mut cow)));
        })
    });
    let mut buffer = gst_buffer();
    g.bench_function("gstreamer_Buffer", |b| {
        b.iter(|| {
            black_box(black_box(&mut buffer).make_mut());
        })
    });
    g.finish();

    let mut g = c.benchmark_group("gst_make_writable_unique_caps");
    let mut spare = mtsafe_caps();
    warm_up(&mut g, || {
        black_box(CowShared::get_writable(black_box(&mut spare)));
    });
    let mut cow = mtsafe_caps();
    g.bench_function("mtsafe_CowShared", |b| {
        b.iter(|| {
            black_box(CowShared::get_writable(black_box(&mut cow)));
        })
    });
    let mut caps = gst_caps();
    g.bench_function("gstreamer_Caps", |b| {
        b.iter(|| {
            black_box(black_box(&mut caps).make_mut());
        })
    });
    g.finish();

    // Shared: clone a handle to an object held elsewhere, make it writable, drop it.
    let mut g = c.benchmark_group("gst_make_writable_shared_buffer");
    let spare = mtsafe_buffer();
    warm_up(&mut g, || ref_unref(&spare));
    let cow = mtsafe_buffer();
    g.bench_function("mtsafe_Buffer", |b| {
        b.iter(|| {
            let mut h = black_box(&cow).clone();
            black_box(CowShared::get_writable(&mut h));
            h
        })
    });
    let buffer = gst_buffer();
    g.bench_function("gstreamer_Buffer", |b| {
        b.iter(|| {
            let mut h = black_box(&buffer).clone();
            black_box(h.make_mut());
            h
        })
    });
    g.finish();

    let mut g = c.benchmark_group("gst_make_writable_shared_caps");
    let spare = mtsafe_caps();
    warm_up(&mut g, || ref_unref(&spare));
    let cow = mtsafe_caps();
    g.bench_function("mtsafe_CowShared", |b| {
        b.iter(|| {
            let mut h = black_box(&cow).clone();
            black_box(CowShared::get_writable(&mut h));
            h
        })
    });
    let caps = gst_caps();
    g.bench_function("gstreamer_Caps", |b| {
        b.iter(|| {
            let mut h = black_box(&caps).clone();
            black_box(h.make_mut());
            h
        })
    });
    g.finish();
}
