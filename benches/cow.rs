//! CowShared against `std::sync::Arc` and `triomphe::Arc`, measured in the same run.
//!
//! One iteration of each benchmark:
//! - `clone_drop/*`: clone a handle and drop the clone (the count goes up and back).
//! - `get_writable_unique/*`: get `&mut` to a value whose handle is the only one
//!   (`CowShared::get_writable`, `Arc::make_mut`): no copy is ever made.
//! - `get_writable_shared_<size>/*`: one copy-on-write cycle: clone a handle to a
//!   value held elsewhere, get `&mut` through it (allocate, copy the payload, release
//!   the original), drop the copy. The whole cycle is timed, the same for every peer,
//!   so the allocator runs in a steady state: timing the copy alone with
//!   `iter_batched` freed a whole batch of copies at once between samples, and the
//!   ratios then swung by ±15% with nothing but the order of the entries changed.
//!
//! Each group starts with `0_warm_up`, left out of the README tables: on this machine
//! whichever benchmark runs first in a group measured 5–10% slow, whatever it was
//! (std's `Arc` went from 4.2 to 4.6 ns per clone+drop when moved first), so without
//! it the order of the entries, not the code, decided the ratios.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, Criterion};
use mtsafe::CowShared;

mod support;
use support::{steady_memcpy, warm_up};

fn clone_drop(c: &mut Criterion) {
    let mut g = c.benchmark_group("clone_drop");
    let spare = Arc::new(0u64);
    warm_up(&mut g, || drop(black_box(&spare).clone()));
    let cow = CowShared::new(0u64);
    g.bench_function("mtsafe_CowShared", |b| {
        b.iter(|| drop(black_box(&cow).clone()))
    });
    let arc = Arc::new(0u64);
    g.bench_function("std_Arc", |b| b.iter(|| drop(black_box(&arc).clone())));
    let tri = triomphe::Arc::new(0u64);
    g.bench_function("triomphe_Arc", |b| b.iter(|| drop(black_box(&tri).clone())));
    g.finish();
}

fn get_writable_unique(c: &mut Criterion) {
    let mut g = c.benchmark_group("get_writable_unique");
    let mut spare = Arc::new(0u64);
    warm_up(&mut g, || *Arc::make_mut(black_box(&mut spare)) += 1);
    let mut cow = CowShared::new(0u64);
    g.bench_function("mtsafe_CowShared", |b| {
        b.iter(|| *CowShared::get_writable(black_box(&mut cow)) += 1)
    });
    let mut arc = Arc::new(0u64);
    g.bench_function("std_Arc", |b| {
        b.iter(|| *Arc::make_mut(black_box(&mut arc)) += 1)
    });
    let mut tri = triomphe::Arc::new(0u64);
    g.bench_function("triomphe_Arc", |b| {
        b.iter(|| *triomphe::Arc::make_mut(black_box(&mut tri)) += 1)
    });
    g.finish();
}

fn shared<T: Clone>(c: &mut Criterion, name: &str, value: T) {
    let mut g = c.benchmark_group(format!("get_writable_shared_{name}"));
    let spare = value.clone();
    warm_up(&mut g, || drop(black_box(&spare).clone()));
    let cow = CowShared::new(value.clone());
    g.bench_function("mtsafe_CowShared", |b| {
        b.iter(|| {
            let mut h = black_box(&cow).clone();
            black_box(CowShared::get_writable(&mut h));
            h
        })
    });
    let arc = Arc::new(value.clone());
    g.bench_function("std_Arc", |b| {
        b.iter(|| {
            let mut h = black_box(&arc).clone();
            black_box(Arc::make_mut(&mut h));
            h
        })
    });
    let tri = triomphe::Arc::new(value);
    g.bench_function("triomphe_Arc", |b| {
        b.iter(|| {
            let mut h = black_box(&tri).clone();
            black_box(triomphe::Arc::make_mut(&mut h));
            h
        })
    });
    g.finish();
}

fn get_writable_shared(c: &mut Criterion) {
    shared(c, "64B", [7u8; 64]);
    shared(c, "4KiB", vec![7u8; 4 << 10]);
    shared(c, "64KiB", vec![7u8; 64 << 10]);
}

criterion_group!(
    benches,
    clone_drop,
    get_writable_unique,
    get_writable_shared
);

fn main() {
    steady_memcpy();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
