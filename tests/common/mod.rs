//! Payloads that count what happens to them, and a two-thread race, shared by the
//! integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

/// Runs `a` and `b` on two threads that a barrier releases together, so that they
/// race, and returns both results.
pub fn at_once<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    let barrier = Barrier::new(2);
    thread::scope(|s| {
        let a = s.spawn(|| {
            barrier.wait();
            a()
        });
        let b = s.spawn(|| {
            barrier.wait();
            b()
        });
        (a.join().unwrap(), b.join().unwrap())
    })
}

/// Counts clones and drops of the values made by one [`Counter`].
#[derive(Debug, Default)]
pub struct Counter {
    clones: AtomicUsize,
    drops: AtomicUsize,
}

impl Counter {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn clones(&self) -> usize {
        self.clones.load(Ordering::SeqCst)
    }

    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }

    pub fn value(self: &Arc<Self>, value: u64) -> Counted {
        Counted {
            value,
            counter: Arc::clone(self),
        }
    }
}

/// A value whose clones and drops are counted by its [`Counter`].
#[derive(Debug)]
pub struct Counted {
    pub value: u64,
    counter: Arc<Counter>,
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.counter.clones.fetch_add(1, Ordering::SeqCst);
        Self {
            value: self.value,
            counter: Arc::clone(&self.counter),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.counter.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Scales a loop count down under Miri, which runs code about 10^4 times slower.
pub const fn scaled(normal: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        normal
    }
}
