//! [`BufferPool`]: a fixed set of [`Buffer`]s, each reused once every consumer has let
//! go of it, as `GstBufferPool` recycles `GstBuffer`s; what a real-time callback fills
//! so that it never allocates.
//!
//! A submodule of `buffer` (the pool belongs with the buffers it recycles); its public
//! items are re-exported there: `mtsafe::buffer::{BufferPool, Filling, PoolStats}`.

use core::fmt;

use super::{Buffer, Memory};
use crate::CowShared;

/// A fixed set of [`Buffer`]s, each handed out again once every consumer released it
/// (`GstBufferPool`).
///
/// # The rule
///
/// The pool keeps one handle to each of its buffers. A buffer is *free* when that handle
/// is the only one ([`CowShared::is_writable`]) and each of its blocks is held by the
/// buffer alone: no consumer holds the buffer, a clone of it, or one of its blocks.
/// Only a free buffer is handed out, as a [`Filling`] that writes its blocks in place;
/// [`Filling::share`] then gives the consumers their handles. Nothing else is needed to
/// return a buffer: a consumer drops its handle (or writes it, which copies: the pool's
/// handle keeps the buffer shared) and the buffer is free again the moment the last
/// consumer's handle goes, on whatever thread.
///
/// What follows:
/// - **No allocation after [`BufferPool::new`]:** the pool never grows, and filling a
///   free buffer writes it in place, since no other handle can see the write. When
///   every buffer is still held, [`acquire`](BufferPool::acquire) returns `None` (and
///   counts it): the caller drops that period or waits, it is never handed a buffer
///   that a consumer is still reading.
/// - **No stale read:** whether a buffer is free is decided by `Acquire` loads of the
///   counts (in `is_writable`), which pair with the `Release` decrement of every
///   consumer's drop: everything a consumer did with the buffer happens before the
///   pool writes it again. The pool itself has no atomics and no `unsafe`; it relies on
///   `CowShared`'s rule only.
/// - **Writers copy, readers do not:** a consumer that writes ([`Buffer::memory_mut`])
///   always copies, since the pool holds the buffer too; the copy is made on the
///   consumer's thread, shares the blocks it does not write, and releases the
///   consumer's handle to the pool's buffer at once. A consumer that only reads never
///   copies and never allocates.
/// - The pool's buffers keep their identity: the pool never replaces one, so the
///   same allocations cycle for the life of the pool.
///
/// ```
/// use mtsafe::buffer::BufferPool;
/// use mtsafe::CowShared;
///
/// // Two buffers of two blocks (a stereo period each) of four samples.
/// let mut pool = BufferPool::<f32>::new(2, 2, 4);
/// let mut filling = pool.acquire().expect("all free");
/// filling.memory_mut(0).fill(0.5); // in place: nobody else holds it
/// let meter = filling.share();     // a handle for a consumer
///
/// let other = pool.acquire().expect("the second buffer").share();
/// assert!(pool.acquire().is_none()); // both held by consumers: none handed out
///
/// drop(meter); // the consumer lets go...
/// let again = pool.acquire().expect("...and the first buffer is free again");
/// assert_eq!(again.memory(0)[0], 0.5); // the same allocation, reused
/// drop(again);
/// assert_eq!(pool.stats().reused, 1);
/// assert_eq!(pool.stats().exhausted, 1);
/// # drop(other);
/// ```
///
/// `BufferPool` is `Send` (it can be built on one thread and moved into a real-time
/// callback) when the samples are, and is used through `&mut`: one thread fills,
/// any number of threads consume.
///
/// ```
/// fn assert_send<X: Send>() {}
/// assert_send::<mtsafe::buffer::BufferPool<f32>>();
/// ```
pub struct BufferPool<S> {
    buffers: Box<[CowShared<Buffer<S>>]>,
    /// Whether each buffer was handed out before (for [`PoolStats::reused`]).
    used: Box<[bool]>,
    /// Where the next search starts: the buffer after the last one handed out, so the
    /// buffers cycle in turn and a consumer has a whole round to let go.
    next: usize,
    stats: PoolStats,
}

/// What a [`BufferPool`] did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PoolStats {
    /// Buffers handed out by [`BufferPool::acquire`].
    pub acquired: u64,
    /// Of those, the ones that had been handed out before: reuses of a buffer that its
    /// consumers released.
    pub reused: u64,
    /// Calls to [`BufferPool::acquire`] that found every buffer still held.
    pub exhausted: u64,
}

impl<S: Default + Clone> BufferPool<S> {
    /// A pool of `buffers` buffers, each of `blocks` blocks of `block_len` default
    /// samples (silence, for numbers). All allocation happens here.
    ///
    /// # Panics
    /// When `buffers` is zero.
    pub fn new(buffers: usize, blocks: usize, block_len: usize) -> Self {
        assert!(buffers > 0, "a buffer pool needs at least one buffer");
        let buffers: Box<[_]> = (0..buffers)
            .map(|_| Buffer::from_memories((0..blocks).map(|_| Memory::zeroed(block_len))))
            .collect();
        Self {
            used: vec![false; buffers.len()].into_boxed_slice(),
            buffers,
            next: 0,
            stats: PoolStats::default(),
        }
    }
}

impl<S> BufferPool<S> {
    /// The number of buffers: fixed for the life of the pool.
    pub fn capacity(&self) -> usize {
        self.buffers.len()
    }

    /// How many buffers are free now. A snapshot: consumers release buffers at any
    /// time, so the answer may be low by the time it is read, never high.
    pub fn available(&self) -> usize {
        self.buffers.iter().filter(|b| Self::is_free(b)).count()
    }

    /// What the pool did so far.
    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Whether a pool's buffer may be handed out: its handle is the only one, and each
    /// of its blocks is held by the buffer alone. Both are `Acquire` loads
    /// ([`CowShared::is_writable`]), so every released holder's use of the buffer
    /// happens before the writes this answer allows.
    ///
    /// `true` stays true while the pool is borrowed mutably: the pool's handle is the
    /// only source of new handles to the buffer and its blocks.
    fn is_free(buffer: &CowShared<Buffer<S>>) -> bool {
        CowShared::is_writable(buffer) && buffer.memories().iter().all(CowShared::is_writable)
    }

    /// A free buffer to fill, or `None` when every buffer is still held by a
    /// consumer (counted in [`PoolStats::exhausted`]). Never allocates, never copies,
    /// never blocks; it looks at each buffer at most once.
    ///
    /// The buffer comes with the samples it held last (a new pool's are defaults):
    /// write every sample the consumers will read.
    pub fn acquire(&mut self) -> Option<Filling<'_, S>> {
        let n = self.buffers.len();
        let found = (0..n)
            .map(|i| (self.next + i) % n)
            .find(|&i| Self::is_free(&self.buffers[i]));
        let Some(index) = found else {
            self.stats.exhausted += 1;
            return None;
        };
        self.next = (index + 1) % n;
        self.stats.acquired += 1;
        if core::mem::replace(&mut self.used[index], true) {
            self.stats.reused += 1;
        }
        Some(Filling {
            buffer: &mut self.buffers[index],
        })
    }
}

impl<S> fmt::Debug for BufferPool<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("capacity", &self.capacity())
            .field("available", &self.available())
            .field("stats", &self.stats)
            .finish()
    }
}

/// A free buffer of a [`BufferPool`], being filled: its blocks are written in place,
/// then [`share`](Self::share) hands out a handle for the consumers.
///
/// Nobody else holds the buffer or any of its blocks while this exists, so writing
/// copies nothing and allocates nothing. Once shared, the buffer is read-only to
/// everyone (a consumer that writes gets its own copy).
pub struct Filling<'a, S> {
    buffer: &'a mut CowShared<Buffer<S>>,
}

impl<S> Filling<'_, S> {
    /// The number of blocks.
    pub fn n_memory(&self) -> usize {
        self.buffer.n_memory()
    }

    /// Block `index`, to read.
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn memory(&self, index: usize) -> &[S] {
        self.buffer.memory(index)
    }

    /// Sets the buffer's free-form position (a frame counter, a timestamp).
    pub fn set_offset(&mut self, offset: u64) {
        match CowShared::get_mut(self.buffer) {
            Some(buffer) => buffer.offset = offset,
            None => unreachable!("a buffer being filled has no other handle"),
        }
    }

    /// Hands the filled buffer out: a new handle for the consumers (one atomic
    /// increment; clone it for each further consumer). The pool keeps its own, and the
    /// buffer is free again once every handle made from this one is gone.
    pub fn share(self) -> CowShared<Buffer<S>> {
        CowShared::clone(self.buffer)
    }
}

impl<S: Clone> Filling<'_, S> {
    /// Block `index`, writable in place: the buffer and the block have no other
    /// holder, so this neither copies nor allocates.
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn memory_mut(&mut self, index: usize) -> &mut [S] {
        debug_assert!(Buffer::is_memory_writable(self.buffer, index));
        // Copies only a shared buffer or block, and this one is neither.
        Buffer::memory_mut(self.buffer, index)
    }
}

impl<S> fmt::Debug for Filling<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filling")
            .field("buffer", &**self.buffer)
            .finish()
    }
}

// Assert the claim in `BufferPool`'s docs: the filling thread can own it.
const _: fn() = || {
    fn assert_send<X: Send>() {}
    assert_send::<BufferPool<f32>>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_held_on_its_own_keeps_its_buffer_out_of_the_pool() {
        let mut pool = BufferPool::<u8>::new(1, 2, 3);
        let block = {
            let shared = pool.acquire().unwrap().share();
            CowShared::clone(shared.memory(1))
        };
        // The buffer's handle is unique again, but a consumer still holds a block.
        assert!(pool.acquire().is_none());
        drop(block);
        assert!(pool.acquire().is_some());
    }
}
