//! loom models of BufferPool: a buffer comes back to its pool on its last release,
//! exactly once, whichever thread lets go last; it is handed out again only when no
//! handle to it or to one of its blocks is held (a refill that races a consumer's
//! read is reported by loom's cell, a refill while a consumer holds it by the
//! `holding` flags); flushing wakes and refuses acquires while returns go on; the pool
//! may be dropped while buffers are out (every allocation is tracked: a leak or a
//! double free fails the model).
//!
//! The producer polls with `try_acquire` (yielding to loom between tries) rather than
//! trying once: loom then runs every schedule in which the buffer comes back and is
//! refilled, not only those where the refill happens to find it back.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use mtsafe::buffer::{AcquireError, BufferPool, PooledBuffer};
use mtsafe::CowShared;
use mtsafe_loom_tests::{drop_counter, Payload};

/// A sample whose reads and writes loom checks; a pool makes its blocks from
/// `Default`.
#[derive(Clone, Debug)]
struct Sample(Payload);

impl Default for Sample {
    fn default() -> Self {
        Self(Payload::new(0, &drop_counter()))
    }
}

/// A flag a consumer clears just before it drops its handle. Clearing is `Relaxed`:
/// the handle's `Release` drop publishes it, and a pool that hands the buffer out
/// again did so after an `Acquire` that must see it cleared.
fn holding() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(true))
}

/// The next buffer the pool hands out, polling without blocking.
fn poll(pool: &BufferPool<Sample>) -> PooledBuffer<Sample> {
    loop {
        match pool.try_acquire() {
            Ok(buffer) => return buffer,
            Err(AcquireError::Exhausted) => thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn two_last_releases_racing_return_the_buffer_exactly_once() {
    loom::model(|| {
        let pool = BufferPool::<Sample>::new(1, 1, 1);
        let mut period = pool.try_acquire().unwrap();
        PooledBuffer::memory_mut(&mut period, 0)[0].0.write(1);
        let other = period.clone();

        let (a_holds, b_holds) = (holding(), holding());
        let consumer = |buffer: PooledBuffer<Sample>, held: Arc<AtomicBool>| {
            thread::spawn(move || {
                assert_eq!(buffer.memory(0)[0].0.read(), 1);
                held.store(false, Ordering::Relaxed);
                drop(buffer);
            })
        };
        let a = consumer(period, Arc::clone(&a_holds));
        let b = consumer(other, Arc::clone(&b_holds));

        // The producer refills as soon as the buffer is back.
        let mut again = poll(&pool);
        assert!(
            !a_holds.load(Ordering::Relaxed),
            "handed out while a holds it"
        );
        assert!(
            !b_holds.load(Ordering::Relaxed),
            "handed out while b holds it"
        );
        assert!(
            PooledBuffer::is_writable(&again),
            "the pool holds no handle"
        );
        PooledBuffer::memory_mut(&mut again, 0)[0].0.write(2); // loom checks the reads
        assert!(PooledBuffer::is_pooled(&again), "written in place");
        // Back exactly once: no second buffer to hand out.
        assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
        drop(again);
        let stats = pool.stats();
        assert_eq!((stats.acquired, stats.returned), (2, 2));
    });
}

#[test]
fn a_block_a_consumer_keeps_is_replaced_not_reused() {
    loom::model(|| {
        let pool = BufferPool::<Sample>::new(1, 1, 1);
        let mut period = pool.try_acquire().unwrap();
        PooledBuffer::memory_mut(&mut period, 0)[0].0.write(1);

        let consumer = thread::spawn(move || {
            // Keeps the block, lets the buffer go (it comes back now), reads on.
            let block = CowShared::clone(period.memory(0));
            drop(period);
            assert_eq!(block[0].0.read(), 1);
            drop(block);
        });

        // The consumer's block was replaced in this buffer; were it reused, loom
        // would report this write against the consumer's read.
        let mut again = poll(&pool);
        PooledBuffer::memory_mut(&mut again, 0)[0].0.write(2);
        assert!(PooledBuffer::is_pooled(&again), "written in place");
        consumer.join().unwrap();
        assert_eq!(pool.stats().replaced, 1);
    });
}

#[test]
fn a_reader_and_a_writer_the_last_writes_in_place_and_the_pool_refills_after_both() {
    loom::model(|| {
        // One buffer of two blocks: a stereo period.
        let pool = BufferPool::<Sample>::new(1, 2, 1);
        let mut period = pool.try_acquire().unwrap();
        PooledBuffer::memory_mut(&mut period, 0)[0].0.write(1);
        PooledBuffer::memory_mut(&mut period, 1)[0].0.write(1);
        let to_meter = period.clone();
        let to_gain = period;

        let meter_holds = holding();
        let meter = {
            let held = Arc::clone(&meter_holds);
            thread::spawn(move || {
                let sum: u32 = to_meter.memories().iter().map(|m| m[0].0.read()).sum();
                assert_eq!(sum, 2);
                held.store(false, Ordering::Relaxed);
                drop(to_meter);
            })
        };
        let gain_holds = holding();
        let gain = {
            let held = Arc::clone(&gain_holds);
            thread::spawn(move || {
                let mut mine = to_gain;
                let alone = PooledBuffer::is_writable(&mine);
                if !alone {
                    // About to copy off the pool (the flag tracks the pool's buffer):
                    // the copy shares only the right block, which the pool replaces
                    // when the buffer comes back; loom checks the read below against
                    // the pool's refill.
                    held.store(false, Ordering::Relaxed);
                }
                // In place when the meter is done (loom checks the write against the
                // meter's reads), else on the copy.
                PooledBuffer::memory_mut(&mut mine, 0)[0].0.write(5);
                if alone {
                    assert!(PooledBuffer::is_pooled(&mine), "alone: written in place");
                }
                assert_eq!(mine.memory(1)[0].0.read(), 1);
                held.store(false, Ordering::Relaxed);
                drop(mine);
            })
        };

        let mut again = poll(&pool);
        assert!(!meter_holds.load(Ordering::Relaxed), "meter still holds it");
        assert!(
            !gain_holds.load(Ordering::Relaxed),
            "gain still holds the buffer"
        );
        assert!(
            PooledBuffer::is_writable(&again),
            "the pool holds no handle"
        );
        PooledBuffer::memory_mut(&mut again, 0)[0].0.write(2);
        PooledBuffer::memory_mut(&mut again, 1)[0].0.write(2);
        meter.join().unwrap();
        gain.join().unwrap();
        drop(again);
        let stats = pool.stats();
        assert_eq!((stats.acquired, stats.returned), (2, 2));
    });
}

#[test]
fn a_blocked_acquire_is_woken_by_the_return() {
    loom::model(|| {
        let pool = BufferPool::<Sample>::new(1, 1, 1);
        let mut period = pool.try_acquire().unwrap();
        PooledBuffer::memory_mut(&mut period, 0)[0].0.write(1);
        let consumer = thread::spawn(move || {
            assert_eq!(period.memory(0)[0].0.read(), 1);
            drop(period);
        });
        // Blocks until the consumer's drop returns the buffer: loom reports a
        // deadlock if that return does not wake it.
        let mut again = pool.acquire().unwrap();
        PooledBuffer::memory_mut(&mut again, 0)[0].0.write(2);
        consumer.join().unwrap();
    });
}

#[test]
fn set_flushing_racing_a_return_and_a_blocked_acquire() {
    loom::model(|| {
        let pool = Arc::new(BufferPool::<Sample>::new(1, 1, 1));
        let period = pool.try_acquire().unwrap();
        let consumer = thread::spawn(move || drop(period));
        let flusher = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.set_flushing(true))
        };
        // Either the returned buffer, or the flushing error: never a hang (loom
        // reports one), whichever comes first.
        match pool.acquire() {
            Ok(buffer) => drop(buffer),
            Err(e) => assert_eq!(e, AcquireError::Flushing),
        }
        consumer.join().unwrap();
        flusher.join().unwrap();
        // Flushing now: refused at once, blocking or not; the buffer came back anyway.
        assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Flushing);
        assert_eq!(pool.acquire().unwrap_err(), AcquireError::Flushing);
        pool.set_flushing(false);
        let again = pool.try_acquire().expect("returned while flushing");
        drop(again);
        assert_eq!(pool.stats().returned, pool.stats().acquired);
    });
}

#[test]
fn the_pool_dropped_while_buffers_are_out() {
    loom::model(|| {
        let drops = drop_counter();
        let pool = BufferPool::<Sample>::new(2, 1, 1);
        let mut period = pool.try_acquire().unwrap();
        PooledBuffer::memory_mut(&mut period, 0)[0] = Sample(Payload::new(7, &drops));
        let kept = period.clone();
        let consumer = thread::spawn(move || {
            assert_eq!(period.memory(0)[0].0.read(), 7);
            drop(period);
        });
        // The free buffer goes with the pool; the one out goes with its last handle,
        // on whichever thread; the pool's state with the last of them.
        drop(pool);
        drop(kept);
        consumer.join().unwrap();
        // Relaxed: the join ordered the drops.
        assert_eq!(drops.load(Ordering::Relaxed), 1, "freed exactly once");
    });
}
