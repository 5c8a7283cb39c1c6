//! [`BufferPool`]: [`Buffer`]s that come back to their pool when their last handle is
//! dropped, on whatever thread, as `GstBuffer`s return to their `GstBufferPool`
//! (`gst_buffer_pool_release_buffer` from the buffer's dispose).
//!
//! A submodule of `buffer` (the pool belongs with the buffers it recycles); its public
//! items are re-exported there: `mtsafe::buffer::{BufferPool, PooledBuffer, ...}`.
//!
//! # How a buffer goes out and comes back
//!
//! The pool's state is shared (an `Arc`) by the [`BufferPool`] handle and by every
//! buffer that is out. It has one *slot* per buffer the pool may make
//! ([`PoolConfig::max_buffers`]), and a free list of slot indices ([`free_list`]).
//!
//! | slot     | holds                                 | owned by                      |
//! |----------|---------------------------------------|-------------------------------|
//! | vacant   | nothing                               | the thread that claims it (`allocated`) |
//! | idle     | the buffer's only handle              | the free list, then its popper |
//! | out      | the tie: an `Arc` of the pool's state | the buffer's handles; the last one to go |
//!
//! While a buffer is out the pool holds no handle to it: its [`PooledBuffer`]
//! handles are its only ones (they carry the slot's index), so the last holder is
//! alone and writes in place. The last handle to go is decided by one atomic
//! decrement (`CowShared::drop_unless_last`); that thread gets the buffer back with a
//! count of one, makes it as free as a new one (a block that a consumer still holds,
//! moved out, or resized is replaced by a new one), puts it in its slot, pushes the
//! index and wakes a sleeping acquirer. Then it drops the slot's tie, so a pool whose
//! `BufferPool` handle is gone is freed by its last returning buffer.
//!
//! # Orderings
//!
//! - The last handle's decrement is `Release` and it then loads `Acquire`
//!   (`drop_unless_last`): every holder's use of the buffer happens before the return.
//! - The free list's push is `Release` and its pop `Acquire`: the returned buffer, as
//!   the returning thread left it, happens before the next acquirer's writes (see
//!   [`free_list`]).
//! - Counters, the flushing flag and the closed flag are `Relaxed`: the counters
//!   publish nothing; waiters read the flushing flag under the sleep lock, which
//!   orders it; the closed flag is a hint (a return that misses it pushes its buffer,
//!   and the pool's state frees what is on the list when it goes).

mod config;
mod free_list;
mod pooled;
mod state;

use core::fmt;
use core::ptr::NonNull;
use std::time::{Duration, Instant};

pub use self::config::{AcquireError, PoolConfig, PoolStats};
use self::free_list::{FreeList, MAX_SLOTS};
pub use self::pooled::PooledBuffer;
use self::state::{new_buffer, restore, Counters, Home, Shared, Slot, SlotState};
use crate::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::sync::cell::UnsafeCell;
use crate::sync::{Arc, Condvar, Mutex};

/// Buffers that come back when their last handle is dropped, on whatever thread
/// (`GstBufferPool`): what a real-time callback fills so that it never allocates, and
/// what lets the last consumer of a buffer write it in place.
///
/// # The rule
///
/// [`acquire`](Self::acquire) hands out a [`PooledBuffer`]: the buffer's only handle,
/// so writing it copies nothing. Clone it for each consumer; the pool holds no handle
/// of its own. When the last handle is dropped (one atomic decision, whichever thread
/// drops it), the buffer goes back to the pool: made as free as a new one (every
/// block held by the buffer alone; a block that a consumer kept is replaced, not
/// reused), then put on a lock-free free list. What follows:
///
/// - **The last holder writes in place:** a consumer that is the only holder left
///   ([`PooledBuffer::is_writable`]) writes the pool's buffer without a copy; a
///   consumer that writes while others hold the buffer gets its own copy, which
///   leaves the pool (`gst_buffer_make_writable`).
/// - **No stale read:** a buffer is handed out again only after every handle to it
///   and to its blocks is gone, and everything its holders did happens before the
///   next acquirer's writes (module docs' orderings).
/// - **Real-time safe:** [`try_acquire`](Self::try_acquire) and the return take no
///   lock (the return takes the sleep lock only to wake an acquirer that is blocked
///   in [`acquire`](Self::acquire) or [`acquire_timeout`](Self::acquire_timeout),
///   which hold it only between their last look and their wait), never block, and
///   allocate nothing once the pool made its buffers. A pool made with
///   [`PoolConfig::allocate_in_acquire`] off makes buffers only in
///   [`with_config`](Self::with_config) and [`grow`](Self::grow).
/// - **Flushing:** [`set_flushing(true)`](Self::set_flushing) makes every waiting
///   acquire and every later one return [`AcquireError::Flushing`] at once, until it
///   is set back; returns go on meanwhile.
/// - **The pool may go first:** dropping the `BufferPool` frees its free buffers; a
///   buffer still out is freed when its last handle goes.
///
/// ```
/// use mtsafe::buffer::{AcquireError, BufferPool, PooledBuffer};
///
/// // Two buffers of two blocks (a stereo period each) of four samples.
/// let pool = BufferPool::<f32>::new(2, 2, 4);
/// let mut period = pool.try_acquire()?;
/// PooledBuffer::memory_mut(&mut period, 0).fill(0.5); // in place: the only handle
/// let meter = period.clone();                         // a second consumer
///
/// let other = pool.try_acquire()?;
/// assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
///
/// drop(meter); // one holder left: it writes in place
/// assert!(PooledBuffer::is_writable(&period));
/// let address = PooledBuffer::as_ptr(&period);
/// drop(period); // the last handle: the buffer goes back to the pool
/// let again = pool.try_acquire()?;
/// assert_eq!(PooledBuffer::as_ptr(&again), address); // the same allocation
/// assert_eq!(again.memory(0)[0], 0.5);               // samples as they were left
/// # drop((again, other));
/// assert_eq!(pool.stats().returned, 3);
/// # Ok::<(), AcquireError>(())
/// ```
///
/// `BufferPool` is `Send` and `Sync` when the samples are: it can be made on one
/// thread and moved into a real-time callback, and acquires may come from several
/// threads.
///
/// ```
/// fn assert_send_sync<X: Send + Sync>() {}
/// assert_send_sync::<mtsafe::buffer::BufferPool<f32>>();
/// ```
///
/// Samples that may not be shared between threads make a pool that stays on its
/// thread (its buffers' last handles could drop anywhere):
///
/// ```compile_fail
/// fn assert_send<X: Send>() {}
/// assert_send::<mtsafe::buffer::BufferPool<std::cell::Cell<f32>>>();
/// ```
pub struct BufferPool<S> {
    shared: Arc<Shared<S>>,
}

impl<S: Default + Clone> BufferPool<S> {
    /// A pool of `buffers` buffers, each of `blocks` blocks of `block_len` default
    /// samples (silence, for numbers), all made here; it never makes another
    /// (`min = max = buffers`).
    ///
    /// # Panics
    /// When `buffers` is zero.
    #[must_use]
    pub fn new(buffers: usize, blocks: usize, block_len: usize) -> Self {
        Self::with_config(PoolConfig::new(blocks, block_len).buffers(buffers, buffers))
    }

    /// A pool as `config` says; makes `min_buffers` buffers here.
    ///
    /// # Panics
    /// When `max_buffers` is zero, below `min_buffers`, or above `u32::MAX - 1`.
    #[must_use]
    pub fn with_config(config: PoolConfig) -> Self {
        assert!(
            config.max_buffers > 0,
            "a buffer pool needs at least one buffer"
        );
        assert!(
            config.min_buffers <= config.max_buffers,
            "min_buffers above max_buffers"
        );
        assert!(config.max_buffers <= MAX_SLOTS, "max_buffers too large");
        let shared = Arc::new(Shared {
            config,
            slots: (0..config.max_buffers)
                .map(|_| Slot {
                    state: UnsafeCell::new(SlotState::Vacant),
                })
                .collect(),
            free: FreeList::new(config.max_buffers),
            allocated: AtomicUsize::new(0),
            flushing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            counters: Counters::default(),
            new_buffer: new_buffer::<S>,
            restore: restore::<S>,
        });
        let pool = Self { shared };
        pool.grow(config.min_buffers);
        pool
    }
}

impl<S> BufferPool<S> {
    /// The configuration the pool was made with.
    #[must_use]
    pub fn config(&self) -> PoolConfig {
        self.shared.config
    }

    /// Buffers made so far (at most `max_buffers`).
    #[must_use]
    pub fn allocated(&self) -> usize {
        // Relaxed: a number for reporting.
        self.shared.allocated.load(Ordering::Relaxed)
    }

    /// Buffers free now: made and not out. A snapshot; exact when no acquire or
    /// release runs meanwhile.
    #[must_use]
    pub fn available(&self) -> usize {
        let stats = self.stats();
        let out = stats.acquired.saturating_sub(stats.returned);
        usize::try_from(stats.allocated.saturating_sub(out)).unwrap_or(usize::MAX)
    }

    /// What the pool did so far.
    #[must_use]
    pub fn stats(&self) -> PoolStats {
        let c = &self.shared.counters;
        // Relaxed: numbers for reporting (module docs).
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        PoolStats {
            acquired: load(&c.acquired),
            returned: load(&c.returned),
            allocated: self.allocated() as u64,
            replaced: load(&c.replaced),
            waits: load(&c.waits),
            exhausted: load(&c.exhausted),
        }
    }

    /// Makes up to `n` more buffers (never past `max_buffers`) on this thread and
    /// puts them on the free list, waking acquirers that wait; returns how many it
    /// made. For a pool that does not allocate in acquire, this is how it grows.
    pub fn grow(&self, n: usize) -> usize {
        let mut made = 0;
        while made < n {
            let Some(index) = self.shared.allocate() else {
                break;
            };
            self.shared.push(index);
            made += 1;
        }
        made
    }

    /// Whether acquires are refused ([`set_flushing`](Self::set_flushing)).
    #[must_use]
    pub fn is_flushing(&self) -> bool {
        // Relaxed: see `set_flushing`.
        self.shared.flushing.load(Ordering::Relaxed)
    }

    /// Starts or stops flushing (`gst_buffer_pool_set_flushing`): while flushing,
    /// every acquire returns [`AcquireError::Flushing`] at once, and acquires waiting
    /// now wake up and return it. Buffers still come back meanwhile.
    pub fn set_flushing(&self, flushing: bool) {
        // Relaxed: a waiter reads it under the sleep lock, taken below after the
        // store; a later acquire on any thread reads this store or a newer one.
        self.shared.flushing.store(flushing, Ordering::Relaxed);
        if flushing {
            let _sleepers = self.shared.sleep.lock();
            self.shared.wake.notify_all();
        }
    }

    /// A buffer, or an error at once (`GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT`):
    /// [`AcquireError::Flushing`], or [`AcquireError::Exhausted`] when every buffer
    /// is out and the pool may not make another. Takes no lock and never blocks;
    /// allocates only to make a buffer, when [`PoolConfig::allocate_in_acquire`] is
    /// on. What a real-time thread calls.
    ///
    /// The buffer comes with the samples it held last (a new one's are defaults):
    /// write every sample the consumers will read.
    pub fn try_acquire(&self) -> Result<PooledBuffer<S>, AcquireError> {
        match self.take()? {
            Some(buffer) => Ok(buffer),
            None => {
                Counters::add(&self.shared.counters.exhausted, 1);
                Err(AcquireError::Exhausted)
            }
        }
    }

    /// A buffer, waiting for one to come back if none is free; returns
    /// [`AcquireError::Flushing`] when the pool is or starts flushing. Not for a
    /// real-time thread: it blocks.
    pub fn acquire(&self) -> Result<PooledBuffer<S>, AcquireError> {
        self.acquire_until(None)
    }

    /// As [`acquire`](Self::acquire), waiting at most `timeout`
    /// ([`AcquireError::Timeout`]).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<PooledBuffer<S>, AcquireError> {
        // A deadline past what `Instant` holds is no deadline.
        self.acquire_until(Instant::now().checked_add(timeout))
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> Result<PooledBuffer<S>, AcquireError> {
        if let Some(buffer) = self.take()? {
            return Ok(buffer);
        }
        Counters::add(&self.shared.counters.waits, 1);
        let mut sleepers = self.shared.sleep.lock();
        loop {
            // Under the sleep lock: a flush or a push that comes after this look
            // wakes us (it takes the lock to notify, which it gets once we wait).
            if let Some(buffer) = self.take()? {
                return Ok(buffer);
            }
            // loom-mutant: buffer-pool-acquirer-sleeps-without-marking-free-list
            if !self.shared.free.mark_sleepers() {
                continue; // a buffer came back meanwhile
            }
            sleepers = match deadline {
                None => self.shared.wake.wait(sleepers),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        drop(sleepers);
                        Counters::add(&self.shared.counters.exhausted, 1);
                        return Err(AcquireError::Timeout);
                    }
                    self.shared.wake.wait_timeout(sleepers, deadline - now).0
                }
            };
        }
    }

    /// A free buffer (made, if none is free and the pool may), `None` when there is
    /// none; the flushing error first.
    fn take(&self) -> Result<Option<PooledBuffer<S>>, AcquireError> {
        let shared = &*self.shared;
        // loom-mutant: buffer-pool-flushing-ignored
        if self.is_flushing() {
            return Err(AcquireError::Flushing);
        }
        let index = match shared.free.pop() {
            Some(index) => index,
            None if shared.config.allocate_in_acquire => match shared.allocate() {
                Some(index) => index,
                None => return Ok(None),
            },
            None => return Ok(None),
        };
        let tie = Arc::clone(&self.shared);
        // SAFETY: popping or claiming the index made this thread the slot's owner;
        // the tie goes in as the buffer goes out.
        let state = unsafe { shared.slots[index].replace(SlotState::Out(tie)) };
        let SlotState::Idle(buffer) = state else {
            unreachable!("a free slot holds its buffer")
        };
        Counters::add(&shared.counters.acquired, 1);
        Ok(Some(PooledBuffer::out(
            buffer,
            Home {
                shared: NonNull::from(shared),
                index,
            },
        )))
    }
}

impl<S> Drop for BufferPool<S> {
    fn drop(&mut self) {
        // Relaxed: a hint for returns (module docs).
        self.shared.closed.store(true, Ordering::Relaxed);
        while let Some(index) = self.shared.free.pop() {
            // SAFETY: popping the index made this thread the slot's owner.
            let buffer = unsafe { self.shared.slots[index].replace(SlotState::Vacant) };
            drop(buffer);
        }
    }
}

impl<S> fmt::Debug for BufferPool<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("config", &self.shared.config)
            .field("flushing", &self.is_flushing())
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::CowShared;

    #[test]
    fn a_block_held_on_its_own_is_replaced_when_its_buffer_comes_back() {
        let pool = BufferPool::<u8>::new(1, 2, 3);
        let block = {
            let buffer = pool.try_acquire().unwrap();
            CowShared::clone(buffer.memory(1))
        };
        // The buffer came back, with a new block where the held one was.
        let again = pool.try_acquire().unwrap();
        assert!(again
            .memories()
            .iter()
            .all(|m| !CowShared::ptr_eq(m, &block)));
        assert!(again.memories().iter().all(|m| m.len() == 3));
        assert_eq!(pool.stats().replaced, 1);
        assert!(PooledBuffer::is_writable(&again));
    }
}
