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

mod free_list;

use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use core::ptr::NonNull;
use std::time::{Duration, Instant};

use self::free_list::{FreeList, MAX_SLOTS};
use super::{Buffer, Memory};
use crate::shared::UniqueShared;
use crate::sync::{Arc, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering, UnsafeCell};
use crate::CowShared;

/// The shape and the size of a [`BufferPool`] (`gst_buffer_pool_config_set_params`).
///
/// ```
/// use mtsafe::buffer::{BufferPool, PoolConfig};
///
/// // Stereo periods of 256 samples; 4 made at once, up to 8 when acquires need them.
/// let config = PoolConfig::new(2, 256).buffers(4, 8).allocate_in_acquire(true);
/// let pool = BufferPool::<f32>::with_config(config);
/// assert_eq!(pool.allocated(), 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Blocks ([`Memory`]) per buffer: one per channel, say.
    pub blocks: usize,
    /// Samples per block.
    pub block_len: usize,
    /// Buffers made when the pool is made (`min_buffers`).
    pub min_buffers: usize,
    /// Buffers the pool makes at most (`max_buffers`; at least one, and finite: the
    /// pool keeps one slot per buffer it may make).
    pub max_buffers: usize,
    /// Whether an acquire that finds no free buffer may make one (up to
    /// `max_buffers`), on the acquiring thread. Off for a pool filled by a real-time
    /// thread: then only [`BufferPool::grow`] makes buffers after the pool is made.
    pub allocate_in_acquire: bool,
}

impl PoolConfig {
    /// Buffers of `blocks` blocks of `block_len` samples; one buffer, made up front,
    /// none made in acquire. Change the counts with [`buffers`](Self::buffers).
    #[must_use]
    pub const fn new(blocks: usize, block_len: usize) -> Self {
        Self {
            blocks,
            block_len,
            min_buffers: 1,
            max_buffers: 1,
            allocate_in_acquire: false,
        }
    }

    /// `min` buffers made up front, at most `max` in all.
    #[must_use]
    pub const fn buffers(mut self, min: usize, max: usize) -> Self {
        self.min_buffers = min;
        self.max_buffers = max;
        self
    }

    /// Whether an acquire may make a buffer when none is free (see the field).
    #[must_use]
    pub const fn allocate_in_acquire(mut self, allow: bool) -> Self {
        self.allocate_in_acquire = allow;
        self
    }
}

/// Why an acquire gave no buffer (`GstFlowReturn`'s `FLUSHING` and `EOS`-less
/// "no buffer" cases).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AcquireError {
    /// The pool is flushing ([`BufferPool::set_flushing`]).
    Flushing,
    /// [`try_acquire`](BufferPool::try_acquire): every buffer is out and the pool
    /// may not make another one now.
    Exhausted,
    /// [`acquire_timeout`](BufferPool::acquire_timeout): no buffer came back in time.
    Timeout,
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flushing => "the buffer pool is flushing",
            Self::Exhausted => "every buffer of the pool is in use",
            Self::Timeout => "no buffer of the pool came back in time",
        })
    }
}

impl std::error::Error for AcquireError {}

/// What a [`BufferPool`] did so far. Each counter is exact; a snapshot taken while
/// other threads acquire and release may mix moments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PoolStats {
    /// Buffers handed out.
    pub acquired: u64,
    /// Buffers that came back on their last release.
    pub returned: u64,
    /// Buffers made (up front, by [`BufferPool::grow`] or in an acquire).
    pub allocated: u64,
    /// Blocks made new for buffers that came back without them (a consumer kept,
    /// moved out or resized a block).
    pub replaced: u64,
    /// Acquires that waited for a buffer to come back.
    pub waits: u64,
    /// Acquires that gave up: [`AcquireError::Exhausted`] and
    /// [`AcquireError::Timeout`].
    pub exhausted: u64,
}

#[derive(Default)]
struct Counters {
    acquired: AtomicU64,
    returned: AtomicU64,
    replaced: AtomicU64,
    waits: AtomicU64,
    exhausted: AtomicU64,
}

impl Counters {
    #[inline(always)]
    fn add(counter: &AtomicU64, n: u64) {
        // Relaxed: a counter; it publishes nothing (module docs).
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// What a slot holds (see the module docs' table).
enum SlotState<S> {
    Vacant,
    Idle(UniqueShared<Buffer<S>>),
    /// Held for its drop: the tie keeps the pool's state alive while the buffer is
    /// out.
    Out(#[allow(dead_code)] Arc<Shared<S>>),
}

/// One buffer's place in the pool; reached only by its owner (module docs' table).
struct Slot<S> {
    state: UnsafeCell<SlotState<S>>,
}

impl<S> Slot<S> {
    /// Puts `new` in the slot and returns what it held.
    ///
    /// # Safety
    /// The calling thread owns the slot: it claimed it, popped its index, or released
    /// its buffer's last handle, and has not given it up since (module docs' table).
    unsafe fn replace(&self, new: SlotState<S>) -> SlotState<S> {
        // SAFETY: the caller owns the slot, so nothing else reads or writes it now.
        self.state
            .with_mut(|state| unsafe { core::mem::replace(&mut *state, new) })
    }
}

/// The state the pool handle and the buffers that are out share.
struct Shared<S> {
    config: PoolConfig,
    slots: Box<[Slot<S>]>,
    free: FreeList,
    /// Slots claimed so far: `0..allocated` hold buffers (idle or out).
    allocated: AtomicUsize,
    flushing: AtomicBool,
    /// The `BufferPool` handle is gone: returning buffers are freed.
    closed: AtomicBool,
    /// Held by a sleeping acquirer between its last look at the free list and its
    /// wait, and by a waker around its notification; never for more than that.
    sleep: Mutex<()>,
    wake: Condvar,
    counters: Counters,
    /// Makes a new buffer (`S: Default + Clone` was known when the pool was made).
    new_buffer: fn(&PoolConfig) -> UniqueShared<Buffer<S>>,
    /// Makes a buffer that came back as free as a new one; returns the blocks made.
    restore: fn(&mut UniqueShared<Buffer<S>>, &PoolConfig) -> u64,
}

// SAFETY: the slots' cells are reached only by their owner (module docs' table), one
// thread at a time, with the free list's Release/Acquire or the last handle's
// decrement ordering each hand-over; what they hold (buffers, ties) is `Send + Sync`
// when the samples are. Everything else is atomics and a mutex.
unsafe impl<S: Send + Sync> Send for Shared<S> {}
// SAFETY: as above.
unsafe impl<S: Send + Sync> Sync for Shared<S> {}

impl<S> Shared<S> {
    /// Claims a vacant slot and makes a buffer in it, if the pool may still grow.
    /// The caller owns the slot afterwards.
    fn allocate(&self) -> Option<usize> {
        let max = self.config.max_buffers;
        // Relaxed: a claim of an index; the slot is published by the push, or handed
        // out on this thread.
        let index = self
            .allocated
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        let buffer = (self.new_buffer)(&self.config);
        // SAFETY: the claim made this thread the slot's owner.
        let old = unsafe { self.slots[index].replace(SlotState::Idle(buffer)) };
        debug_assert!(matches!(old, SlotState::Vacant));
        Some(index)
    }

    /// Puts slot `index` on the free list and wakes the sleeping acquirers, if any.
    /// The caller owns the slot and gives it up.
    fn push(&self, index: usize) {
        // loom-mutant: buffer-pool-return-does-not-wake-sleeping-acquirer
        if self.free.push(index) {
            let _sleepers = self.sleep.lock();
            self.wake.notify_all();
        }
    }

    /// Takes back a buffer whose last handle was just released: restores it and
    /// puts it on the free list (or frees it, when the pool handle is gone). Returns
    /// what the slot held, the tie, for the caller to drop when nothing borrows the
    /// pool's state any more (it may be the last one).
    ///
    /// # Safety
    /// `home` is the buffer's home, and `buffer` the handle that
    /// `CowShared::drop_unless_last` gave back for its last handle: the caller owns
    /// the slot, whose tie keeps the pool's state alive.
    unsafe fn give_back(home: Home<S>, mut buffer: UniqueShared<Buffer<S>>) -> SlotState<S> {
        // SAFETY: the slot's tie, which the caller owns, keeps the state alive; the
        // reference does not outlive this call (the caller drops the tie after it).
        let shared = unsafe { home.shared.as_ref() };
        let replaced = (shared.restore)(&mut buffer, &shared.config);
        if replaced != 0 {
            Counters::add(&shared.counters.replaced, replaced);
        }
        Counters::add(&shared.counters.returned, 1);
        let slot = &shared.slots[home.index];
        // Relaxed: a hint (module docs).
        if shared.closed.load(Ordering::Relaxed) {
            // SAFETY: the caller owns the slot.
            let tie = unsafe { slot.replace(SlotState::Vacant) };
            drop(buffer);
            return tie;
        }
        // SAFETY: the caller owns the slot until the push gives it up.
        let tie = unsafe { slot.replace(SlotState::Idle(buffer)) };
        shared.push(home.index);
        tie
    }
}

/// Where a pooled buffer comes back to: its pool's state and its slot.
struct Home<S> {
    shared: NonNull<Shared<S>>,
    index: usize,
}

impl<S> Clone for Home<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Home<S> {}

/// Makes a new buffer of the configured shape.
fn new_buffer<S: Default + Clone>(config: &PoolConfig) -> UniqueShared<Buffer<S>> {
    Buffer::build((0..config.blocks).map(|_| Memory::zeroed(config.block_len)))
}

/// Makes `buffer`, the only handle, as free as a new one: a block that another holder
/// still shares, or of the wrong length, is removed (this handle to it released) and
/// a new block made in its place; the offset is reset. Returns the number of blocks
/// made. Reads `buffer`'s blocks' counts only, unless one must go.
fn restore<S: Default + Clone>(buffer: &mut UniqueShared<Buffer<S>>, config: &PoolConfig) -> u64 {
    let (buffer, parent) = UniqueShared::as_parent(buffer);
    // A block's count of one stays one: the buffer, whose handle is the only one, is
    // the only source of new handles to it.
    let reusable = |block: &CowShared<Memory<S>>| {
        // loom-mutant: buffer-pool-returned-while-block-still-shared
        CowShared::is_writable(block) && block.len() == config.block_len
    };
    let mut made = 0;
    if buffer.n_memory() != config.blocks || !buffer.memories().iter().all(reusable) {
        let mut index = buffer.n_memory();
        while index > 0 {
            index -= 1;
            if index >= config.blocks || !reusable(buffer.memory(index)) {
                drop(buffer.let_go_of(parent, index));
            }
        }
        while buffer.n_memory() < config.blocks {
            buffer.take_in(parent, Memory::zeroed(config.block_len));
            made += 1;
        }
    }
    buffer.offset = 0;
    made
}

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
        Ok(Some(PooledBuffer {
            buffer: ManuallyDrop::new(UniqueShared::shareable(buffer)),
            home: Some(Home {
                shared: NonNull::from(shared),
                index,
            }),
        }))
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

/// A handle to a buffer of a [`BufferPool`]: `CowShared<Buffer<S>>` that goes back to
/// its pool when the last handle is dropped, as a `GstBuffer` whose `pool` is set.
///
/// Reading goes through `Deref` to [`Buffer`] and never copies. Writing goes
/// through [`memory_mut`](Self::memory_mut), [`set_offset`](Self::set_offset) and
/// [`remove_memory`](Self::remove_memory), which write the pool's buffer in place
/// when this is its only handle, and otherwise first give this handle its own copy
/// (sharing the blocks it does not write), which is not pooled: the other holders
/// keep the pool's buffer, and the last of them returns it. Like `CowShared`'s, its
/// operations are associated functions (`PooledBuffer::is_writable(&b)`), so they
/// never shadow `Buffer`'s methods.
///
/// There is no way to a plain `CowShared` handle of a pooled buffer, so a buffer
/// cannot leave its pool by a side door; a block can (a consumer clones or removes
/// one), and the pool then replaces it when the buffer comes back.
///
/// `Send` and `Sync` when the samples are: the last handle may go on any thread.
///
/// ```
/// fn assert_send_sync<X: Send + Sync>() {}
/// assert_send_sync::<mtsafe::buffer::PooledBuffer<f32>>();
/// ```
///
/// ```compile_fail
/// fn assert_send<X: Send>() {}
/// assert_send::<mtsafe::buffer::PooledBuffer<std::cell::Cell<f32>>>();
/// ```
pub struct PooledBuffer<S> {
    /// Dropped by hand: the last handle goes back to the pool.
    buffer: ManuallyDrop<CowShared<Buffer<S>>>,
    /// `None` for a copy made off the pool (or a buffer whose pool let it go).
    home: Option<Home<S>>,
}

// SAFETY: the handle gives `&Buffer<S>` to the thread that holds it, and its last drop
// may put the buffer back in its pool's state, which is `Send + Sync` under the same
// bounds; `home` is only a pointer to that state, kept alive by the slot's tie.
unsafe impl<S: Send + Sync> Send for PooledBuffer<S> {}
// SAFETY: `&PooledBuffer` gives `&Buffer<S>` and can be cloned into a handle on
// another thread: the same bounds.
unsafe impl<S: Send + Sync> Sync for PooledBuffer<S> {}

impl<S> PooledBuffer<S> {
    /// Whether this is the buffer's only handle: then writing it copies nothing
    /// (`gst_buffer_is_writable`). `true` stays true while this handle is borrowed;
    /// `false` may become true as other holders let go.
    #[must_use]
    pub fn is_writable(this: &Self) -> bool {
        CowShared::is_writable(&this.buffer)
    }

    /// Whether this handle still names a pool's buffer (`false` once a write gave it
    /// its own copy).
    #[must_use]
    pub fn is_pooled(this: &Self) -> bool {
        this.home.is_some()
    }

    /// The number of handles to this buffer; a snapshot, as
    /// [`CowShared::ref_count`].
    #[must_use]
    pub fn ref_count(this: &Self) -> usize {
        CowShared::ref_count(&this.buffer)
    }

    /// Whether two handles name the same buffer.
    #[must_use]
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        CowShared::ptr_eq(&a.buffer, &b.buffer)
    }

    /// The buffer's address, for identity and diagnostics.
    #[must_use]
    pub fn as_ptr(this: &Self) -> *const Buffer<S> {
        CowShared::as_ptr(&this.buffer)
    }

    /// Releases a handle of a pooled buffer: the last one goes back to the pool.
    fn release(buffer: CowShared<Buffer<S>>, home: Option<Home<S>>) {
        let Some(home) = home else {
            drop(buffer);
            return;
        };
        if let Some(last) = CowShared::drop_unless_last(buffer) {
            // SAFETY: `drop_unless_last` gave back the last handle of the buffer
            // whose home this is; this thread owns its slot now.
            let tie = unsafe { Shared::give_back(home, last) };
            // Dropped here, where nothing borrows the pool's state: it may be the
            // state's last owner.
            drop(tie);
        }
    }
}

impl<S: Clone> PooledBuffer<S> {
    /// Makes this handle the buffer's only one: a shared pooled buffer is copied off
    /// the pool (the copy shares its blocks) and this handle to it released.
    fn make_alone(this: &mut Self) {
        if this.home.is_some() && !CowShared::is_writable(&this.buffer) {
            let copy = CowShared::new(Buffer::clone(&this.buffer));
            let pooled = core::mem::replace(&mut *this.buffer, copy);
            Self::release(pooled, this.home.take());
        }
    }

    /// The samples of block `index`, writable: in place when this is the buffer's
    /// only handle and the block is its alone; otherwise copied first, as
    /// [`Buffer::memory_mut`] (the buffer's block list, then that block).
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn memory_mut(this: &mut Self, index: usize) -> &mut [S] {
        Self::make_alone(this);
        Buffer::memory_mut(&mut this.buffer, index)
    }

    /// Sets the buffer's free-form position, copying first as
    /// [`memory_mut`](Self::memory_mut) does.
    pub fn set_offset(this: &mut Self, offset: u64) {
        Self::make_alone(this);
        CowShared::get_writable(&mut this.buffer).offset = offset;
    }

    /// Removes block `index` and hands it over, as [`Buffer::remove_memory`] (copying
    /// first as [`memory_mut`](Self::memory_mut) does). A pooled buffer comes back
    /// with a new block in its place.
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn remove_memory(this: &mut Self, index: usize) -> CowShared<Memory<S>> {
        Self::make_alone(this);
        Buffer::remove_memory(&mut this.buffer, index)
    }
}

impl<S> Clone for PooledBuffer<S> {
    /// Another handle to the same buffer: one atomic increment.
    fn clone(&self) -> Self {
        Self {
            buffer: ManuallyDrop::new(CowShared::clone(&self.buffer)),
            home: self.home,
        }
    }
}

impl<S> Drop for PooledBuffer<S> {
    fn drop(&mut self) {
        // SAFETY: taken once, here; the field is not used again.
        let buffer = unsafe { ManuallyDrop::take(&mut self.buffer) };
        Self::release(buffer, self.home);
    }
}

impl<S> Deref for PooledBuffer<S> {
    type Target = Buffer<S>;

    fn deref(&self) -> &Buffer<S> {
        &self.buffer
    }
}

impl<S> AsRef<Buffer<S>> for PooledBuffer<S> {
    fn as_ref(&self) -> &Buffer<S> {
        &self.buffer
    }
}

impl<S> fmt::Debug for PooledBuffer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuffer")
            .field("pooled", &self.home.is_some())
            .field("ref_count", &Self::ref_count(self))
            .field("buffer", &**self.buffer)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

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
