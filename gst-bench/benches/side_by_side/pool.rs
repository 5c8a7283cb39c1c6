//! Buffer pools: mtsafe's `BufferPool` against GStreamer's `GstBufferPool` and a
//! hand-made free list on `crossbeam_queue::ArrayQueue`.
//!
//! `gst_pool_cycle`: one iteration is one period's life: acquire a 2 KiB buffer, fill
//! it, share it (a second handle for a consumer), release both handles; the last
//! release puts the buffer back in its pool.
//! - `mtsafe_BufferPool`: a buffer of two blocks of 256 `f32` (`try_acquire`,
//!   `PooledBuffer::memory_mut` on each block, `clone`, two drops).
//! - `gstreamer_BufferPool`: a default `GstBufferPool` of 2 KiB buffers (one memory
//!   each): `gst_buffer_pool_acquire_buffer`, `gst_buffer_map` for writing, a fill,
//!   `gst_buffer_ref`, two unrefs (the last returns it through the buffer's dispose).
//! - `crossbeam_ArrayQueue`: the floor of a free list: pop an `Arc` of two boxed blocks,
//!   fill through `Arc::get_mut`, clone and drop the `Arc`, push it back; the caller
//!   knows it holds the last handle, nothing returns on its own.
//!
//! Each pool holds 4 buffers; one is out at a time.

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use crossbeam_queue::ArrayQueue;
use gstreamer as gst;
use gstreamer::prelude::*;
use mtsafe::buffer::{BufferPool, PooledBuffer};

use crate::warm_up;

const BLOCKS: usize = 2;
const LEN: usize = 256;
const BYTES: usize = BLOCKS * LEN * 4;
const BUFFERS: usize = 4;

fn mtsafe_cycle(pool: &BufferPool<f32>) {
    let mut period = pool.try_acquire().expect("a free buffer");
    for b in 0..BLOCKS {
        PooledBuffer::memory_mut(&mut period, b).fill(0.5);
    }
    drop(black_box(period.clone()));
    drop(black_box(period)); // the last handle: back to the pool
}

fn gst_pool() -> gst::BufferPool {
    let pool = gst::BufferPool::new();
    let mut config = pool.config();
    config.set_params(None, BYTES as u32, BUFFERS as u32, BUFFERS as u32);
    pool.set_config(config).expect("a valid pool config");
    pool.set_active(true).expect("an active pool");
    pool
}

fn gst_cycle(pool: &gst::BufferPool) {
    let mut buffer = pool.acquire_buffer(None).expect("a free buffer");
    {
        let buffer = buffer.get_mut().expect("held alone");
        let mut map = buffer.map_writable().expect("mapped for writing");
        map.as_mut_slice().fill(0x3f);
    }
    drop(black_box(buffer.clone()));
    drop(black_box(buffer)); // the last unref: back to the pool
}

type Blocks = Arc<[Box<[f32]>; BLOCKS]>;

fn queue_cycle(queue: &ArrayQueue<Blocks>) {
    let mut period = queue.pop().expect("a free buffer");
    for block in Arc::get_mut(&mut period).expect("held alone").iter_mut() {
        block.fill(0.5);
    }
    drop(black_box(Arc::clone(&period)));
    queue.push(black_box(period)).expect("room for it");
}

pub fn pool_groups(c: &mut Criterion) {
    let mtsafe = BufferPool::<f32>::new(BUFFERS, BLOCKS, LEN);
    let gst = gst_pool();
    let queue = ArrayQueue::new(BUFFERS);
    for _ in 0..BUFFERS {
        let blocks: Blocks = Arc::new([(); BLOCKS].map(|()| vec![0.0f32; LEN].into_boxed_slice()));
        queue.push(blocks).expect("room");
    }
    let mut g = c.benchmark_group("gst_pool_cycle");
    let spare = BufferPool::<f32>::new(BUFFERS, BLOCKS, LEN);
    warm_up(&mut g, || mtsafe_cycle(&spare));
    g.bench_function("mtsafe_BufferPool", |b| b.iter(|| mtsafe_cycle(&mtsafe)));
    g.bench_function("gstreamer_BufferPool", |b| b.iter(|| gst_cycle(&gst)));
    g.bench_function("crossbeam_ArrayQueue", |b| b.iter(|| queue_cycle(&queue)));
    g.finish();
    gst.set_active(false).expect("an inactive pool");
}
