//! BufferPool under std threads: a buffer comes back to its pool when its last handle
//! goes, on whatever thread, exactly once; the last holder writes in place; a buffer
//! is handed out again only when nobody holds it or one of its blocks; the cycle
//! allocates nothing; blocking acquires wait for a return or a flush
//! (GstBufferPool's contract, checked by counting).

mod common;

use common::scaled;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Barrier};
use std::thread;
use std::time::Duration;

use mtsafe::buffer::{AcquireError, BufferPool, Memory, PoolConfig, PooledBuffer};
use mtsafe::CowShared;

#[global_allocator]
static ALLOC: common::CountingAlloc = common::CountingAlloc;

/// Runs `f` and returns how many allocations and frees it made on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    let (allocations, frees) = common::allocations_and_frees_in(f);
    allocations + frees
}

/// The addresses of a pool's buffers and blocks (each acquired once, then returned).
fn identities(pool: &BufferPool<f32>) -> (HashSet<usize>, HashSet<usize>) {
    let held: Vec<_> = (0..pool.allocated())
        .map(|_| pool.try_acquire().unwrap())
        .collect();
    let buffers = held
        .iter()
        .map(|b| PooledBuffer::as_ptr(b) as usize)
        .collect();
    let blocks = held
        .iter()
        .flat_map(|b| b.memories().iter().map(|m| CowShared::as_ptr(m) as usize))
        .collect();
    (buffers, blocks)
}

#[test]
fn the_last_release_returns_a_buffer_once_and_a_held_one_is_never_handed_out() {
    let pool = BufferPool::<f32>::new(3, 2, 8);
    let mut held: Vec<_> = (0..3).map(|_| pool.try_acquire().unwrap()).collect();
    assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
    assert_eq!(pool.available(), 0);

    // Two consumers of the middle one: it comes back when the second lets go.
    let first = held.remove(1);
    let second = first.clone();
    let address = PooledBuffer::as_ptr(&first);
    drop(first);
    assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
    assert_eq!(pool.stats().returned, 0);
    drop(second);
    assert_eq!((pool.available(), pool.stats().returned), (1, 1));
    let again = pool.try_acquire().unwrap();
    assert_eq!(PooledBuffer::as_ptr(&again), address);
    assert!(
        PooledBuffer::is_writable(&again),
        "the pool holds no handle"
    );
    assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);

    let stats = pool.stats();
    assert_eq!(
        (
            stats.acquired,
            stats.returned,
            stats.allocated,
            stats.exhausted
        ),
        (4, 1, 3, 3)
    );
    drop((held, again));
    assert_eq!((pool.available(), pool.stats().returned), (3, 4));
}

#[test]
fn the_last_holder_writes_in_place_and_a_shared_writer_copies_off_the_pool() {
    let pool = BufferPool::<f32>::new(1, 2, 4);
    let mut period = pool.try_acquire().unwrap();
    PooledBuffer::memory_mut(&mut period, 0).fill(0.5);
    PooledBuffer::memory_mut(&mut period, 1).fill(0.25);
    let mut gain = period.clone();
    let meter = period;

    // Reading allocates nothing.
    let mut sum = 0.0;
    let reads = allocations_in(|| {
        sum = meter.memories().iter().flat_map(|m| m.iter()).sum::<f32>();
    });
    assert_eq!((reads, sum), (0, 3.0));

    // The meter still holds it: the gain stage's write copies the block list and the
    // left block, off the pool, and releases its handle to the pool's buffer.
    assert!(!PooledBuffer::is_writable(&gain));
    PooledBuffer::memory_mut(&mut gain, 0)
        .iter_mut()
        .for_each(|s| *s *= 2.0);
    assert!(!PooledBuffer::is_pooled(&gain));
    assert!(!PooledBuffer::ptr_eq(&gain, &meter));
    assert!(CowShared::ptr_eq(gain.memory(1), meter.memory(1)));
    assert_eq!((meter.memory(0)[0], gain.memory(0)[0]), (0.5, 1.0));
    assert_eq!(PooledBuffer::ref_count(&meter), 1);
    drop(gain);

    // The meter is the last holder now: it writes in place, no copy, no allocation.
    let mut meter = meter;
    let address = PooledBuffer::as_ptr(&meter);
    let writes = allocations_in(|| {
        PooledBuffer::memory_mut(&mut meter, 0).fill(0.75);
        PooledBuffer::set_offset(&mut meter, 7);
    });
    assert_eq!(writes, 0);
    assert_eq!(PooledBuffer::as_ptr(&meter), address);
    assert!(PooledBuffer::is_pooled(&meter));
    drop(meter);
    let again = pool.try_acquire().unwrap();
    assert_eq!(PooledBuffer::as_ptr(&again), address);
    assert_eq!(again.memory(0)[0], 0.75);
    assert_eq!(again.offset, 0, "the offset is reset on return");
}

#[test]
fn a_returned_buffer_is_as_free_as_a_new_one_kept_or_moved_blocks_are_replaced() {
    let pool = BufferPool::<f32>::new(1, 3, 4);
    let (kept, moved) = {
        let mut period = pool.try_acquire().unwrap();
        PooledBuffer::memory_mut(&mut period, 0).fill(1.0);
        PooledBuffer::memory_mut(&mut period, 1).fill(2.0);
        PooledBuffer::memory_mut(&mut period, 2).fill(3.0);
        let kept = CowShared::clone(period.memory(0)); // a consumer keeps a block
        let moved = PooledBuffer::remove_memory(&mut period, 2); // one moved out
        assert!(PooledBuffer::is_pooled(&period), "alone: removed in place");
        (kept, moved)
    };
    let mut again = pool.try_acquire().unwrap();
    assert_eq!(again.n_memory(), 3);
    for m in again.memories() {
        assert!(!CowShared::ptr_eq(m, &kept) && !CowShared::ptr_eq(m, &moved));
        assert!(Memory::is_writable(m) && m.link().is_linked());
        assert_eq!(m.len(), 4);
    }
    assert_eq!(pool.stats().replaced, 2);
    // What the consumers hold is theirs: the pool never writes it again.
    for b in 0..3 {
        PooledBuffer::memory_mut(&mut again, b).fill(9.0);
    }
    assert!(kept.iter().all(|&s| s == 1.0));
    assert!(moved.iter().all(|&s| s == 3.0));
}

#[test]
fn acquire_fill_share_release_allocates_nothing_after_the_pool_is_made() {
    let pool = BufferPool::<f32>::new(4, 2, 256);
    let mut meter: Vec<PooledBuffer<f32>> = Vec::with_capacity(4);
    let allocations = allocations_in(|| {
        for round in 0..scaled(10_000, 50) {
            // A consumer that keeps the last two periods for a while.
            if meter.len() == 2 {
                meter.remove(0); // the last handle: the buffer goes back
            }
            let mut period = pool.try_acquire().expect("two of four buffers are free");
            for ch in 0..2 {
                for (i, s) in PooledBuffer::memory_mut(&mut period, ch)
                    .iter_mut()
                    .enumerate()
                {
                    *s = (round + i + ch) as f32;
                }
            }
            meter.push(period.clone()); // one increment, no allocation
            drop(period);
        }
    });
    assert_eq!(allocations, 0);
    let stats = pool.stats();
    assert_eq!(
        (stats.exhausted, stats.allocated, stats.replaced),
        (0, 4, 0)
    );
}

#[test]
fn growth_up_to_max_allocates_only_where_allowed() {
    // Grows in acquire: 1 up front, up to 3.
    let pool = BufferPool::<u8>::with_config(
        PoolConfig::new(1, 4)
            .buffers(1, 3)
            .allocate_in_acquire(true),
    );
    assert_eq!(pool.allocated(), 1);
    let held: Vec<_> = (0..3).map(|_| pool.try_acquire().unwrap()).collect();
    assert_eq!(pool.allocated(), 3);
    assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
    drop(held);
    assert_eq!(pool.available(), 3);

    // Does not: acquires never allocate; `grow` does, up to max.
    let pool = BufferPool::<u8>::with_config(PoolConfig::new(1, 4).buffers(1, 3));
    let one = pool.try_acquire().unwrap();
    let allocations = allocations_in(|| {
        assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
    });
    assert_eq!(allocations, 0);
    assert_eq!(pool.grow(5), 2);
    assert_eq!(pool.allocated(), 3);
    let two = pool.try_acquire().unwrap();
    drop((one, two));
    assert_eq!(pool.stats().allocated, 3);
}

#[test]
fn a_blocked_acquire_wakes_for_a_return_and_fails_at_once_when_flushing() {
    let pool = BufferPool::<u8>::new(1, 1, 1);
    let held = pool.try_acquire().unwrap();
    let waiting = Barrier::new(2);
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            waiting.wait();
            pool.acquire().map(|b| PooledBuffer::as_ptr(&b) as usize)
        });
        waiting.wait();
        while pool.stats().waits == 0 {
            thread::yield_now(); // until the waiter is in the waiting path
        }
        let address = PooledBuffer::as_ptr(&held) as usize;
        drop(held); // returned on this thread: wakes the waiter
        assert_eq!(waiter.join().unwrap(), Ok(address));
    });

    // Flushing: a waiter wakes with the error, later acquires get it at once.
    let held = pool.try_acquire().unwrap();
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            waiting.wait();
            pool.acquire().map(drop)
        });
        waiting.wait();
        while pool.stats().waits == 1 {
            thread::yield_now();
        }
        pool.set_flushing(true);
        assert_eq!(waiter.join().unwrap(), Err(AcquireError::Flushing));
    });
    drop(held);
    assert_eq!(pool.available(), 1, "buffers come back while flushing");
    assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Flushing);
    assert_eq!(pool.acquire().unwrap_err(), AcquireError::Flushing);
    pool.set_flushing(false);
    let held = pool.acquire().unwrap();
    assert_eq!(
        pool.acquire_timeout(Duration::from_millis(1)).unwrap_err(),
        AcquireError::Timeout
    );
    drop(held);
    assert!(pool.acquire_timeout(Duration::from_secs(3600)).is_ok());
    assert_eq!(pool.stats().waits, 3);
}

/// A sample that counts its drops (in one counter per test that uses it).
#[derive(Clone, Default)]
struct Counted;

static COUNTED_DROPS: AtomicUsize = AtomicUsize::new(0);

impl Drop for Counted {
    fn drop(&mut self) {
        COUNTED_DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn the_pool_dropped_while_buffers_are_out_frees_them_at_their_last_release() {
    let pool = BufferPool::<Counted>::new(3, 2, 5);
    let out = pool.try_acquire().unwrap();
    let other = out.clone();
    drop(pool); // frees the two free buffers: 2 x 2 blocks x 5 samples
    assert_eq!(COUNTED_DROPS.load(Ordering::Relaxed), 20);
    thread::scope(|s| {
        s.spawn(move || drop(other));
    });
    assert_eq!(
        COUNTED_DROPS.load(Ordering::Relaxed),
        20,
        "one handle still out"
    );
    drop(out); // the last one: freed, with the pool's state
    assert_eq!(COUNTED_DROPS.load(Ordering::Relaxed), 30);
}

#[test]
fn many_consumers_on_other_threads_never_see_a_buffer_rewritten() {
    // A producer fills each period with its sequence number and sends one handle to
    // each of several readers; each reader then offers its handle to a writer, which
    // applies a gain: in place when it holds the period alone, else on its own copy.
    // Every buffer handed out must be one of the pool's own, never one still held: a
    // refill under a reader shows up as a non-uniform period. (A block may be
    // replaced: a writer's copy shares the block it has not written yet, and the
    // pool's buffer may come back meanwhile.)
    const READERS: usize = 4;
    let periods = scaled(20_000, 30);
    let pool = BufferPool::<f32>::new(6, 2, 64);
    let (buffers, _) = identities(&pool);
    let (to_writer, writer_rx) = mpsc::sync_channel::<PooledBuffer<f32>>(4);
    let in_place = AtomicUsize::new(0);
    let copies = AtomicUsize::new(0);
    let writes = AtomicUsize::new(0);

    thread::scope(|s| {
        let mut readers = Vec::new();
        for _ in 0..READERS {
            // Queues longer than the pool: only the pool's rule keeps the producer
            // off buffers still held.
            let (tx, rx) = mpsc::sync_channel::<PooledBuffer<f32>>(16);
            readers.push(tx);
            let to_writer = to_writer.clone();
            s.spawn(move || {
                let mut expected = 0u64;
                for buf in rx {
                    let seq = buf.memory(0)[0];
                    for m in buf.memories() {
                        assert!(m.iter().all(|&x| x == seq), "rewritten under a reader");
                    }
                    assert!(seq as u64 >= expected, "out of order");
                    expected = seq as u64;
                    // Every reader offers it; the writer takes what it is given.
                    let _ = to_writer.try_send(buf);
                }
            });
        }
        drop(to_writer);
        s.spawn(|| {
            for mut buf in writer_rx {
                let seq = buf.memory(0)[0];
                writes.fetch_add(1, Ordering::Relaxed);
                if PooledBuffer::is_writable(&buf) {
                    in_place.fetch_add(1, Ordering::Relaxed);
                }
                let before = PooledBuffer::as_ptr(&buf);
                for ch in 0..buf.n_memory() {
                    for x in PooledBuffer::memory_mut(&mut buf, ch) {
                        *x = *x * 0.5 + 1.0;
                    }
                }
                if PooledBuffer::as_ptr(&buf) != before {
                    copies.fetch_add(1, Ordering::Relaxed);
                }
                assert!(buf.memories().iter().all(|m| m[0] == seq * 0.5 + 1.0));
            }
        });

        for seq in 0..periods {
            let mut period = pool.acquire().unwrap();
            assert!(buffers.contains(&(PooledBuffer::as_ptr(&period) as usize)));
            assert!(period.memories().iter().all(Memory::is_writable));
            for ch in 0..period.n_memory() {
                PooledBuffer::memory_mut(&mut period, ch).fill(seq as f32);
            }
            assert!(PooledBuffer::is_pooled(&period), "filled in place");
            for tx in &readers {
                tx.send(period.clone()).unwrap();
            }
        }
        drop(readers);
    });
    let stats = pool.stats();
    assert_eq!(stats.acquired as usize, periods + 6);
    assert_eq!(
        stats.returned, stats.acquired,
        "every buffer came back once"
    );
    assert_eq!(stats.allocated, 6);
    assert_eq!(pool.available(), 6);
    // A writer that held the period alone wrote in place; otherwise it copied.
    let (in_place, copies) = (in_place.into_inner(), copies.into_inner());
    let writes = writes.into_inner();
    assert!(writes > 0 && writes <= READERS * periods);
    assert!(in_place + copies <= writes);
    assert!(stats.replaced as usize <= 2 * copies);
}

#[test]
fn last_releases_racing_on_two_threads_return_the_buffer_once() {
    for _ in 0..scaled(2_000, 20) {
        let pool = BufferPool::<u8>::new(1, 1, 1);
        let a = pool.try_acquire().unwrap();
        let b = a.clone();
        common::at_once(move || drop(a), move || drop(b));
        let stats = pool.stats();
        assert_eq!((stats.returned, pool.available()), (1, 1));
        let again = pool.try_acquire().unwrap();
        assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
        drop(again);
    }
}

#[test]
fn blocks_are_linked_to_their_buffer_and_writable_only_for_a_lone_holder() {
    let pool = BufferPool::<i16>::new(2, 3, 5);
    let period = pool.try_acquire().unwrap();
    assert_eq!(period.n_memory(), 3);
    assert!((0..3).all(|i| period.memory(i).as_slice() == [0; 5]));
    for m in period.memories() {
        assert!(
            Memory::is_writable(m),
            "one holder: its blocks are writable"
        );
    }
    let other = period.clone();
    for m in period.memories() {
        assert!(!Memory::is_writable(m), "two holders share the buffer");
    }
    drop(other);
    assert!(period.memories().iter().all(Memory::is_writable));
}

#[test]
fn a_timed_acquire_waits_for_a_return_within_its_timeout() {
    // The waiter must wait, not give up at once: a buffer that comes back before the
    // deadline is handed to it (a waiter that gave up would get `Timeout`).
    let pool = BufferPool::<u8>::new(1, 1, 1);
    let held = pool.try_acquire().unwrap();
    let address = PooledBuffer::as_ptr(&held) as usize;
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            pool.acquire_timeout(Duration::from_secs(3600))
                .map(|b| PooledBuffer::as_ptr(&b) as usize)
        });
        while pool.stats().waits == 0 {
            thread::yield_now(); // until the waiter is in the waiting path
        }
        drop(held);
        assert_eq!(waiter.join().unwrap(), Ok(address));
    });
    let stats = pool.stats();
    assert_eq!((stats.waits, stats.exhausted, stats.returned), (1, 0, 2));
}
