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

/// A global allocator that counts the allocations and the frees made on threads that
/// asked for it (install it with `#[global_allocator]` in the test file that counts).
pub struct CountingAlloc;

std::thread_local! {
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static FREES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the bookkeeping only
// touches const-initialised thread-locals without destructors, which never allocate.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count(&ALLOCS);
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        count(&FREES);
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        count(&ALLOCS);
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        count(&ALLOCS);
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

fn count(counter: &'static std::thread::LocalKey<std::cell::Cell<usize>>) {
    // `try_with`: the thread-locals may be gone while a thread exits.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = counter.try_with(|n| n.set(n.get() + 1));
        }
    });
}

/// Runs `f` and returns how many allocations (reallocations included) and how many
/// frees it made on this thread, with [`CountingAlloc`] installed.
pub fn allocations_and_frees_in(f: impl FnOnce()) -> (usize, usize) {
    ALLOCS.with(|n| n.set(0));
    FREES.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    (ALLOCS.with(|n| n.get()), FREES.with(|n| n.get()))
}

/// Runs `f` and returns how many allocations (reallocations included) it made on
/// this thread, with [`CountingAlloc`] installed.
pub fn allocations_in(f: impl FnOnce()) -> usize {
    allocations_and_frees_in(f).0
}
