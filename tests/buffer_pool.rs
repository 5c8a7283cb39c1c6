//! BufferPool under std threads: a buffer is handed out again only once every
//! consumer released it, filling never copies or allocates, and the same buffers
//! cycle for the life of the pool (GstBufferPool's contract, checked by counting).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use mtsafe::buffer::{Buffer, BufferPool, Memory};
use mtsafe::CowShared;

/// Counts the allocations made on threads that asked for it.
struct CountingAlloc;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the bookkeeping only
// touches const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count();
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count() {
    // `try_with`: the thread-locals may be gone while a thread exits.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Runs `f` and returns how many allocations and frees it made on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    ALLOCS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCS.with(|n| n.get())
}

/// Scales a loop count down under Miri.
const fn scaled(normal: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        normal
    }
}

/// The addresses of a pool's buffers and blocks, as handed out once each.
fn identities(pool: &mut BufferPool<f32>) -> (HashSet<usize>, HashSet<usize>) {
    let held: Vec<_> = (0..pool.capacity())
        .map(|_| pool.acquire().unwrap().share())
        .collect();
    let buffers = held.iter().map(|b| CowShared::as_ptr(b) as usize).collect();
    let blocks = held
        .iter()
        .flat_map(|b| b.memories().iter().map(|m| CowShared::as_ptr(m) as usize))
        .collect();
    (buffers, blocks)
}

#[test]
fn a_held_buffer_is_never_handed_out_and_a_released_one_is() {
    let mut pool = BufferPool::<f32>::new(3, 2, 8);
    let held: Vec<_> = (0..3).map(|_| pool.acquire().unwrap().share()).collect();
    assert!(pool.acquire().is_none());
    assert!(pool.acquire().is_none());
    assert_eq!(pool.available(), 0);

    // Any one of them, released, is the one handed out next.
    let mut held = held;
    let released = held.remove(1);
    let address = CowShared::as_ptr(&released);
    drop(released);
    assert_eq!(pool.available(), 1);
    let again = pool.acquire().unwrap().share();
    assert_eq!(CowShared::as_ptr(&again), address);
    assert!(pool.acquire().is_none());

    let stats = pool.stats();
    assert_eq!((stats.acquired, stats.reused, stats.exhausted), (4, 1, 3));
}

#[test]
fn every_holder_counts_clones_of_the_buffer_and_of_its_blocks() {
    let mut pool = BufferPool::<f32>::new(1, 2, 8);
    let shared = pool.acquire().unwrap().share();
    let second = shared.clone(); // a second consumer
    let block = CowShared::clone(shared.memory(0)); // a consumer keeps one block
    drop(shared);
    assert!(pool.acquire().is_none(), "a second consumer still holds it");
    drop(second);
    assert!(pool.acquire().is_none(), "a consumer still holds a block");
    drop(block);
    assert!(pool.acquire().is_some());
}

#[test]
fn filling_writes_in_place_and_the_same_buffers_cycle() {
    let mut pool = BufferPool::<f32>::new(4, 2, 16);
    let (buffers, blocks) = identities(&mut pool);
    for round in 0..scaled(1000, 20) {
        let mut filling = pool.acquire().unwrap();
        for ch in 0..filling.n_memory() {
            filling.memory_mut(ch).fill(round as f32);
        }
        filling.set_offset(round as u64);
        let shared = filling.share();
        assert!(buffers.contains(&(CowShared::as_ptr(&shared) as usize)));
        for m in shared.memories() {
            assert!(blocks.contains(&(CowShared::as_ptr(m) as usize)));
            assert!(m.iter().all(|&s| s == round as f32));
        }
        assert_eq!(shared.offset, round as u64);
    }
    assert_eq!(pool.stats().reused, pool.stats().acquired - 4);
}

#[test]
fn filling_and_sharing_allocate_nothing_after_new() {
    let mut pool = BufferPool::<f32>::new(4, 2, 256);
    let mut meter: Vec<CowShared<Buffer<f32>>> = Vec::with_capacity(4);
    let allocations = allocations_in(|| {
        for round in 0..scaled(10_000, 50) {
            // A consumer that keeps the last two periods for a while.
            if meter.len() == 2 {
                meter.remove(0);
            }
            let mut filling = pool.acquire().expect("two of four buffers are free");
            for ch in 0..2 {
                for (i, s) in filling.memory_mut(ch).iter_mut().enumerate() {
                    *s = (round + i + ch) as f32;
                }
            }
            let shared = filling.share();
            meter.push(shared.clone()); // one increment each, no allocation
            drop(shared);
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(pool.stats().exhausted, 0);
}

#[test]
fn a_reader_never_copies_and_a_writer_copies_off_the_pool() {
    let mut pool = BufferPool::<f32>::new(1, 2, 4);
    let mut filling = pool.acquire().unwrap();
    filling.memory_mut(0).fill(0.5);
    filling.memory_mut(1).fill(0.25);
    let reader = filling.share();
    let mut writer = reader.clone();

    // Reading allocates nothing.
    let mut sum = 0.0;
    let reads = allocations_in(|| {
        sum = reader.memories().iter().flat_map(|m| m.iter()).sum::<f32>();
    });
    assert_eq!((reads, sum), (0, 3.0));

    // Writing one block copies the block list and that block only, and lets go of the
    // pool's buffer at once: the shared right block keeps the buffer held while the
    // copy lives.
    for s in Buffer::memory_mut(&mut writer, 0) {
        *s *= 2.0;
    }
    assert!(!CowShared::ptr_eq(&writer, &reader));
    assert!(!CowShared::ptr_eq(writer.memory(0), reader.memory(0)));
    assert!(CowShared::ptr_eq(writer.memory(1), reader.memory(1)));
    assert_eq!((reader.memory(0)[0], writer.memory(0)[0]), (0.5, 1.0));
    drop(reader);
    assert!(pool.acquire().is_none(), "the writer's copy shares a block");
    drop(writer);
    let again = pool.acquire().expect("every holder gone");
    assert_eq!(again.memory(0)[0], 0.5); // the pool's buffer was never written
}

#[test]
fn consumers_on_other_threads_never_see_a_buffer_rewritten() {
    // A producer fills each period with its sequence number, a reader checks each
    // period is still uniform and in order, a writer applies a gain to its own copy.
    // Every buffer handed out must be one of the pool's own: a buffer handed out while
    // still held would be copied by the fill, and show up as a stranger.
    let periods = scaled(20_000, 40);
    let mut pool = BufferPool::<f32>::new(4, 2, 64);
    let (buffers, blocks) = identities(&mut pool);
    // Queues longer than the pool: the producer can get ahead of a consumer by more
    // buffers than there are, so only the pool's rule keeps it off held ones.
    let (to_reader, reader_rx) = mpsc::sync_channel::<CowShared<Buffer<f32>>>(16);
    let (to_writer, writer_rx) = mpsc::sync_channel::<CowShared<Buffer<f32>>>(16);
    let copies = AtomicUsize::new(0);

    thread::scope(|s| {
        s.spawn(|| {
            let mut expected = 0u64;
            for buf in reader_rx {
                for m in buf.memories() {
                    assert!(m.iter().all(|&x| x == buf.offset as f32), "rewritten");
                }
                assert!(buf.offset >= expected, "out of order");
                expected = buf.offset;
            }
        });
        s.spawn(|| {
            for mut buf in writer_rx {
                let before = CowShared::as_ptr(&buf);
                let seq = buf.offset as f32;
                for ch in 0..buf.n_memory() {
                    for x in Buffer::memory_mut(&mut buf, ch) {
                        *x = *x * 0.5 + 1.0;
                    }
                }
                if CowShared::as_ptr(&buf) != before {
                    copies.fetch_add(1, Ordering::Relaxed);
                }
                assert!(buf.memories().iter().all(|m| m[0] == seq * 0.5 + 1.0));
            }
        });

        let mut sent = 0;
        let mut seq = 0u64;
        while sent < periods {
            let Some(mut filling) = pool.acquire() else {
                thread::yield_now(); // all held: the consumers are behind
                continue;
            };
            for ch in 0..filling.n_memory() {
                filling.memory_mut(ch).fill(seq as f32);
            }
            filling.set_offset(seq);
            let shared = filling.share();
            assert!(buffers.contains(&(CowShared::as_ptr(&shared) as usize)));
            assert!(shared
                .memories()
                .iter()
                .all(|m| blocks.contains(&(CowShared::as_ptr(m) as usize))));
            to_reader.send(shared.clone()).unwrap();
            to_writer.send(shared).unwrap();
            sent += 1;
            seq += 1;
        }
        drop((to_reader, to_writer));
    });
    // The pool holds every buffer it handed out: each write was a copy.
    assert_eq!(copies.load(Ordering::Relaxed), periods);
    assert_eq!(pool.available(), pool.capacity());
    assert_eq!(pool.stats().acquired as usize, periods + pool.capacity());
}

#[test]
fn a_pool_of_silence_and_its_blocks_are_linked_to_their_buffer() {
    let mut pool = BufferPool::<i16>::new(2, 3, 5);
    let filling = pool.acquire().unwrap();
    assert_eq!(filling.n_memory(), 3);
    assert!((0..3).all(|i| filling.memory(i) == [0; 5]));
    let shared = filling.share();
    for m in shared.memories() {
        assert!(m.link().is_linked_to(&shared));
        assert!(!Memory::is_writable(m), "the pool shares the buffer");
    }
}
