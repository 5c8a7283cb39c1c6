//! BufferPool's cycle against a hand-made free list on `crossbeam_queue::ArrayQueue`
//! and against no pool at all, measured in the same run (GStreamer's `GstBufferPool`
//! is measured beside them by `gst-bench`).
//!
//! One iteration of `pool_cycle/*` is one period's life: acquire a buffer of two
//! blocks of 256 `f32` (a stereo period), fill both blocks, share it (a second handle
//! for a consumer), release both handles (the last release puts it back):
//! - `mtsafe_BufferPool`: `try_acquire`, `PooledBuffer::memory_mut`, `clone`, two
//!   drops; the second drop returns the buffer to the pool.
//! - `crossbeam_ArrayQueue`: the floor of a free list: pop an `Arc` of two boxed
//!   blocks from an `ArrayQueue`, fill it through `Arc::get_mut`, clone the `Arc`,
//!   drop the clone, push the `Arc` back. The caller knows it holds the last handle
//!   here; nothing returns a buffer on its own.
//! - `no_pool_Buffer`: a new `Buffer` each time (`Buffer::from_memories`), filled,
//!   cloned and dropped: the allocations a pool saves.
//!
//! Before the measurements, each peer's cycle is run 1 000 times under a counting
//! allocator and the allocations and frees per cycle are printed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, Criterion};
use crossbeam_queue::ArrayQueue;
use mtsafe::buffer::{Buffer, BufferPool, Memory, PooledBuffer};

mod support;
use support::warm_up;

/// Counts allocations and frees while `COUNTING` is set (one relaxed load otherwise).
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

fn note() {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to the system allocator unchanged; the bookkeeping only
// touches static atomics, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const BLOCKS: usize = 2;
const LEN: usize = 256;
const BUFFERS: usize = 4;

fn fill(block: &mut [f32], v: f32) {
    block.fill(v);
}

fn mtsafe_cycle(pool: &BufferPool<f32>) {
    let mut period = pool.try_acquire().expect("a free buffer");
    for b in 0..BLOCKS {
        fill(PooledBuffer::memory_mut(&mut period, b), 0.5);
    }
    let consumer = black_box(period.clone());
    drop(consumer);
    drop(black_box(period)); // the last handle: back to the pool
}

type Blocks = Arc<[Box<[f32]>; BLOCKS]>;

fn queue_cycle(queue: &ArrayQueue<Blocks>) {
    let mut period = queue.pop().expect("a free buffer");
    let blocks = Arc::get_mut(&mut period).expect("held alone");
    for block in blocks.iter_mut() {
        fill(block, 0.5);
    }
    let consumer = black_box(Arc::clone(&period));
    drop(consumer);
    queue.push(black_box(period)).expect("room for it");
}

fn no_pool_cycle() {
    let mut period = Buffer::from_memories((0..BLOCKS).map(|_| Memory::zeroed(LEN)));
    for b in 0..BLOCKS {
        fill(Buffer::memory_mut(&mut period, b), 0.5);
    }
    let consumer = black_box(period.clone());
    drop(consumer);
    drop(black_box(period));
}

/// Allocations and frees per cycle of `cycle`, over 1 000 cycles.
fn allocations_per_cycle(mut cycle: impl FnMut()) -> f64 {
    cycle(); // first use out of the count
    ALLOCS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    for _ in 0..1000 {
        cycle();
    }
    COUNTING.store(false, Ordering::Relaxed);
    ALLOCS.load(Ordering::Relaxed) as f64 / 1000.0
}

fn pool_cycle(c: &mut Criterion) {
    let pool = BufferPool::<f32>::new(BUFFERS, BLOCKS, LEN);
    let queue = ArrayQueue::new(BUFFERS);
    for _ in 0..BUFFERS {
        let blocks: Blocks = Arc::new([(); BLOCKS].map(|()| vec![0.0f32; LEN].into_boxed_slice()));
        queue.push(blocks).expect("room");
    }
    println!(
        "allocations + frees per cycle: mtsafe_BufferPool {:.2}, crossbeam_ArrayQueue {:.2}, no_pool_Buffer {:.2}",
        allocations_per_cycle(|| mtsafe_cycle(&pool)),
        allocations_per_cycle(|| queue_cycle(&queue)),
        allocations_per_cycle(no_pool_cycle),
    );

    let mut g = c.benchmark_group("pool_cycle");
    let spare = BufferPool::<f32>::new(BUFFERS, BLOCKS, LEN);
    warm_up(&mut g, || mtsafe_cycle(&spare));
    g.bench_function("mtsafe_BufferPool", |b| b.iter(|| mtsafe_cycle(&pool)));
    g.bench_function("crossbeam_ArrayQueue", |b| b.iter(|| queue_cycle(&queue)));
    g.bench_function("no_pool_Buffer", |b| b.iter(no_pool_cycle));
    g.finish();
}

criterion_group!(benches, pool_cycle);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
