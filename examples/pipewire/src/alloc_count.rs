//! Counts heap allocations made inside marked sections of code: the real-time
//! `process` callbacks (warm-up and steady state apart) and the level meter.
//!
//! `pw-pipeline` installs [`CountingAlloc`] as its global allocator. A thread marks
//! the section it is in with [`Section::enter`]; every `alloc`, `realloc` and
//! `dealloc` made on that thread meanwhile is counted for that section. Freeing counts
//! too: a real-time callback must not free either.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a thread is doing, for the allocation counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Section {
    /// Nothing counted.
    None = 0,
    /// A real-time callback in its first calls (thread-locals, first-use set-up).
    RtWarmup = 1,
    /// A real-time callback after warm-up: must not allocate.
    RtSteady = 2,
    /// The level meter processing a period: must not allocate (it only reads).
    Meter = 3,
}

const SECTIONS: usize = 4;

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates.
    static CURRENT: Cell<Section> = const { Cell::new(Section::None) };
}

/// Allocations counted per section. Relaxed: counters, read after the counted threads
/// stopped (or for a live display); nothing is published through them.
static COUNTS: [AtomicU64; SECTIONS] = [const { AtomicU64::new(0) }; SECTIONS];

/// The number of allocations and frees counted in `section` so far.
pub fn count(section: Section) -> u64 {
    COUNTS[section as usize].load(Ordering::Relaxed)
}

/// Marks this thread as being in a section until the returned guard drops.
pub struct Entered {
    previous: Section,
}

impl Section {
    /// Enters this section on the current thread.
    pub fn enter(self) -> Entered {
        let previous = CURRENT.with(|c| c.replace(self));
        Entered { previous }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

fn note() {
    // `try_with`: during thread exit the thread-local may already be gone.
    if let Ok(section) = CURRENT.try_with(Cell::get) {
        if section != Section::None {
            COUNTS[section as usize].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The system allocator, counting what marked sections allocate and free.
pub struct CountingAlloc;

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged; the bookkeeping touches only a const thread-local and static atomics,
// neither of which allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}
