//! loom models of BufferPool: a buffer is handed out for reuse only after every
//! consumer on another thread let go of it, so a refill never races a consumer's read
//! (loom's cell reports the race) and is never made while a consumer holds it (the
//! `holding` flags report that).
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use mtsafe::buffer::{Buffer, BufferPool};
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

/// A flag a consumer clears just before it drops its last handle. Clearing is
/// `Relaxed`: the handle's `Release` drop publishes it, and a pool that decided
/// "free" with an `Acquire` load of that count must see it cleared.
fn holding() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(true))
}

#[test]
fn a_buffer_is_reused_only_after_its_consumer_released_it() {
    loom::model(|| {
        let mut pool = BufferPool::<Sample>::new(1, 1, 1);
        let mut filling = pool.acquire().unwrap();
        filling.memory_mut(0)[0].0.write(1);
        let shared = filling.share();

        let held = holding();
        let consumer = {
            let held = Arc::clone(&held);
            thread::spawn(move || {
                assert_eq!(shared.memory(0)[0].0.read(), 1);
                held.store(false, Ordering::Relaxed);
                drop(shared);
            })
        };

        // The producer tries to refill while the consumer may still be reading.
        if let Some(mut again) = pool.acquire() {
            assert!(
                !held.load(Ordering::Relaxed),
                "handed out while the consumer holds it"
            );
            again.memory_mut(0)[0].0.write(2); // loom checks it against the read
        }
        consumer.join().unwrap();
        assert!(pool.acquire().is_some());
    });
}

#[test]
fn a_reader_and_a_copying_writer_both_release_before_a_refill() {
    loom::model(|| {
        // One buffer of two blocks: a stereo period.
        let mut pool = BufferPool::<Sample>::new(1, 2, 1);
        let mut filling = pool.acquire().unwrap();
        filling.memory_mut(0)[0].0.write(1);
        filling.memory_mut(1)[0].0.write(1);
        let to_meter = filling.share();
        let to_gain = to_meter.clone();

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
                // The pool holds the buffer too: this copies the block list and the
                // left block (reading it), and shares the right block.
                Buffer::memory_mut(&mut mine, 0)[0].0.write(5);
                assert_eq!(mine.memory(1)[0].0.read(), 1);
                held.store(false, Ordering::Relaxed);
                drop(mine);
            })
        };

        if let Some(mut again) = pool.acquire() {
            assert!(!meter_holds.load(Ordering::Relaxed), "meter still holds it");
            assert!(
                !gain_holds.load(Ordering::Relaxed),
                "gain still holds a block"
            );
            again.memory_mut(0)[0].0.write(2);
            again.memory_mut(1)[0].0.write(2);
        }
        meter.join().unwrap();
        gain.join().unwrap();
        // Both gone: the buffer is free, and the pool's blocks were only ever
        // written by the pool (the gain stage wrote its own copy).
        let refilled = pool.stats().reused == 1;
        let last = pool.acquire().expect("every consumer released it").share();
        let want = if refilled { 2 } else { 1 };
        assert!(last.memories().iter().all(|m| m[0].0.read() == want));
        assert_eq!(CowShared::ref_count(&last), 2); // the pool's handle and this one
    });
}
