//! The state a [`BufferPool`](super::BufferPool) and its buffers that are out share:
//! one slot per buffer, the free list, the counters, and the return of a buffer.

use core::ptr::NonNull;

use super::free_list::FreeList;
use super::PoolConfig;
use crate::buffer::{Buffer, Memory};
use crate::shared::UniqueShared;
use crate::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::sync::cell::UnsafeCell;
use crate::sync::{Arc, Condvar, Mutex};
use crate::CowShared;

#[derive(Default)]
pub(super) struct Counters {
    pub(super) acquired: AtomicU64,
    pub(super) returned: AtomicU64,
    pub(super) replaced: AtomicU64,
    pub(super) waits: AtomicU64,
    pub(super) exhausted: AtomicU64,
}

impl Counters {
    #[inline(always)]
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        // Relaxed: a counter; it publishes nothing (module docs).
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// What a slot holds (see the module docs' table).
pub(super) enum SlotState<S> {
    Vacant,
    Idle(UniqueShared<Buffer<S>>),
    /// Held for its drop: the tie keeps the pool's state alive while the buffer is
    /// out.
    Out(#[allow(dead_code)] Arc<Shared<S>>),
}

/// One buffer's place in the pool; reached only by its owner (module docs' table).
pub(super) struct Slot<S> {
    pub(super) state: UnsafeCell<SlotState<S>>,
}

impl<S> Slot<S> {
    /// Puts `new` in the slot and returns what it held.
    ///
    /// # Safety
    /// The calling thread owns the slot: it claimed it, popped its index, or released
    /// its buffer's last handle, and has not given it up since (module docs' table).
    pub(super) unsafe fn replace(&self, new: SlotState<S>) -> SlotState<S> {
        // SAFETY: the caller owns the slot, so nothing else reads or writes it now.
        self.state
            .with_mut(|state| unsafe { core::mem::replace(&mut *state, new) })
    }
}

/// The state the pool handle and the buffers that are out share.
pub(super) struct Shared<S> {
    pub(super) config: PoolConfig,
    pub(super) slots: Box<[Slot<S>]>,
    pub(super) free: FreeList,
    /// Slots claimed so far: `0..allocated` hold buffers (idle or out).
    pub(super) allocated: AtomicUsize,
    pub(super) flushing: AtomicBool,
    /// The `BufferPool` handle is gone: returning buffers are freed.
    pub(super) closed: AtomicBool,
    /// Held by a sleeping acquirer between its last look at the free list and its
    /// wait, and by a waker around its notification; never for more than that.
    pub(super) sleep: Mutex<()>,
    pub(super) wake: Condvar,
    pub(super) counters: Counters,
    /// Makes a new buffer (`S: Default + Clone` was known when the pool was made).
    pub(super) new_buffer: fn(&PoolConfig) -> UniqueShared<Buffer<S>>,
    /// Makes a buffer that came back as free as a new one; returns the blocks made.
    pub(super) restore: fn(&mut UniqueShared<Buffer<S>>, &PoolConfig) -> u64,
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
    pub(super) fn allocate(&self) -> Option<usize> {
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
    pub(super) fn push(&self, index: usize) {
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
    pub(super) unsafe fn give_back(
        home: Home<S>,
        mut buffer: UniqueShared<Buffer<S>>,
    ) -> SlotState<S> {
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
pub(super) struct Home<S> {
    pub(super) shared: NonNull<Shared<S>>,
    pub(super) index: usize,
}

impl<S> Clone for Home<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Home<S> {}

/// Makes a new buffer of the configured shape.
pub(super) fn new_buffer<S: Default + Clone>(config: &PoolConfig) -> UniqueShared<Buffer<S>> {
    Buffer::build((0..config.blocks).map(|_| Memory::zeroed(config.block_len)))
}

/// Makes `buffer`, the only handle, as free as a new one: a block that another holder
/// still shares, or of the wrong length, is removed (this handle to it released) and
/// a new block made in its place; the offset is reset. Returns the number of blocks
/// made. Reads `buffer`'s blocks' counts only, unless one must go.
pub(super) fn restore<S: Default + Clone>(
    buffer: &mut UniqueShared<Buffer<S>>,
    config: &PoolConfig,
) -> u64 {
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
