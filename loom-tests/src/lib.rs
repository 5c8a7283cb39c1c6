//! Holder crate for mtsafe's loom models; the models live in `tests/loom_<concept>.rs`.
//!
//! Run them with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p mtsafe-loom-tests --release`
//! (use a target directory of its own, so the loom build does not evict the normal one).
//!
//! The payload below is shared by the models: loom's `UnsafeCell` makes loom itself
//! report a write that is not ordered after another holder's read, and `Track` makes a
//! model fail when a value leaks or is dropped twice.
#![cfg(loom)]
#![warn(missing_docs)]

use loom::alloc::Track;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;

/// A value whose every read and write loom checks for races, and whose drops are
/// counted.
#[derive(Debug)]
pub struct Payload {
    cell: UnsafeCell<u32>,
    drops: Arc<AtomicUsize>,
    _track: Track<()>,
}

impl Payload {
    /// A payload holding `value`, counting its drops (and its clones' drops) in `drops`.
    pub fn new(value: u32, drops: &Arc<AtomicUsize>) -> Self {
        Self {
            cell: UnsafeCell::new(value),
            drops: Arc::clone(drops),
            _track: Track::new(()),
        }
    }

    /// Reads the value; loom checks the read against every write.
    pub fn read(&self) -> u32 {
        // SAFETY: loom's cell checks this access; the models only write through a
        // handle that mtsafe said is writable.
        self.cell.with(|p| unsafe { *p })
    }

    /// Writes in place through a shared reference; loom reports it if any read of
    /// another holder is not ordered before it.
    pub fn write(&self, value: u32) {
        // SAFETY: as for `read`: loom checks the access.
        self.cell.with_mut(|p| unsafe { *p = value })
    }
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        Self::new(self.read(), &self.drops)
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        // A destructor writes, as real ones do: loom reports a drop that is not
        // ordered after every other holder's reads.
        self.write(u32::MAX);
        // Relaxed: read after the model's threads are joined.
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// A fresh drop counter.
pub fn drop_counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// Object data for the object-model models: immutable once made (so `Sync`), with a
/// drop counter and a `Track`, so a model fails when an object leaks or is destroyed
/// twice.
#[derive(Debug)]
pub struct Tracked {
    drops: Arc<AtomicUsize>,
    _track: Track<()>,
}

impl Tracked {
    /// One object's data, counting its drop in `drops`.
    pub fn new(drops: &Arc<AtomicUsize>) -> Self {
        Self {
            drops: Arc::clone(drops),
            _track: Track::new(()),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // Relaxed: read after the model's threads are joined.
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// The drops counted so far (read after the model's threads are joined).
pub fn drops(counter: &Arc<AtomicUsize>) -> usize {
    // Relaxed: the joins already ordered every drop before this read.
    counter.load(Ordering::Relaxed)
}
