//! Two-level copy-on-write media buffers: [`Buffer`] holds [`Memory`] blocks, as a
//! `GstBuffer` holds `GstMemory`.
//!
//! - Copying a buffer copies its list of blocks and shares the blocks themselves.
//! - Writing one block through [`Buffer::memory_mut`] copies the buffer's list if the
//!   buffer is shared, and then that one block if it is shared; the other blocks stay
//!   shared.
//! - Each block is [`ParentLink`]ed to the buffer that holds it, so the block itself
//!   can tell that it must not be written in place while that buffer is shared, even
//!   when the block's own count is one ([`Memory::is_writable`]).
//!
//! ```
//! use mtsafe::buffer::{Buffer, Memory};
//! use mtsafe::CowShared;
//!
//! // A stereo period, one block per channel.
//! let mut buf = Buffer::from_memories([Memory::from_vec(vec![0.5f32; 4]), Memory::from_vec(vec![0.25; 4])]);
//! let meter = buf.clone(); // a reader elsewhere: one increment, nothing copied
//!
//! // The block's own count is one, but its parent is shared: not writable in place.
//! assert_eq!(CowShared::ref_count(meter.memory(0)), 1);
//! assert!(!Memory::is_writable(meter.memory(0)));
//!
//! // Gain on the left channel: copies the buffer's block list and the left block only.
//! for s in Buffer::memory_mut(&mut buf, 0) { *s *= 2.0; }
//! assert_eq!(meter.memory(0)[0], 0.5);                 // the reader's view is intact
//! assert_eq!(buf.memory(0)[0], 1.0);
//! assert!(CowShared::ptr_eq(buf.memory(1), meter.memory(1))); // right block still shared
//! ```

use core::fmt;
use core::ops::Deref;

use crate::{CowShared, ParentLink};

// `GstBufferPool` beside `GstBuffer`: a pool of these buffers, reused once released.
mod pool;
pub use pool::{AcquireError, BufferPool, PoolConfig, PoolStats, PooledBuffer};

/// A block of samples (`GstMemory`), meant to live in a `CowShared` inside one
/// [`Buffer`].
///
/// Clone copies the samples and gives a block with no parent.
#[derive(Clone)]
pub struct Memory<S> {
    link: ParentLink,
    data: Box<[S]>,
}

impl<S> Memory<S> {
    /// A new shared block, with no parent yet.
    pub fn from_vec(data: Vec<S>) -> CowShared<Self> {
        CowShared::new(Self {
            link: ParentLink::new(),
            data: data.into_boxed_slice(),
        })
    }

    /// The samples.
    pub fn as_slice(&self) -> &[S] {
        &self.data
    }

    /// The link to the buffer that holds this block.
    pub fn link(&self) -> &ParentLink {
        &self.link
    }

    /// Unlinks the block if this handle is its only one: what a buffer does with each
    /// block that leaves it or goes with it. A block shared with another holder keeps
    /// its link (see [`ParentLink`]).
    fn unlink_if_alone(block: &mut CowShared<Self>) {
        if let Some(block) = CowShared::get_mut(block) {
            block.link.unlink();
        }
    }

    /// GStreamer's writability rule for a child: this handle is the block's only one,
    /// and the buffer it is linked to (if any) is not shared.
    pub fn is_writable(block: &CowShared<Self>) -> bool {
        CowShared::is_writable(block) && block.link.parent_is_writable()
    }
}

impl<S: Default + Clone> Memory<S> {
    /// A new shared block of `len` default samples (silence, for numbers).
    pub fn zeroed(len: usize) -> CowShared<Self> {
        Self::from_vec(vec![S::default(); len])
    }
}

impl<S> Deref for Memory<S> {
    type Target = [S];

    fn deref(&self) -> &[S] {
        &self.data
    }
}

impl<S: fmt::Debug> fmt::Debug for Memory<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memory")
            .field("len", &self.data.len())
            .field("link", &self.link)
            .finish()
    }
}

/// A list of [`Memory`] blocks (`GstBuffer`), meant to live in a `CowShared`.
///
/// Clone is shallow: the copy shares every block. The buffer links each block it takes
/// in and unlinks each block that leaves it or is dropped with it, whenever it holds
/// that block alone (see [`ParentLink`] for the shared case).
pub struct Buffer<S> {
    memories: Vec<CowShared<Memory<S>>>,
    /// A free-form position (a frame counter, a timestamp), copied with the buffer.
    pub offset: u64,
}

impl<S> Buffer<S> {
    /// An empty, writable buffer.
    pub fn new() -> CowShared<Self> {
        CowShared::new(Self {
            memories: Vec::new(),
            offset: 0,
        })
    }

    /// The number of blocks.
    pub fn n_memory(&self) -> usize {
        self.memories.len()
    }

    /// Block `index`, borrowed (`gst_buffer_peek_memory`).
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn memory(&self, index: usize) -> &CowShared<Memory<S>> {
        &self.memories[index]
    }

    /// All blocks, borrowed.
    pub fn memories(&self) -> &[CowShared<Memory<S>>] {
        &self.memories
    }

    /// The samples in all blocks together.
    pub fn len(&self) -> usize {
        self.memories.iter().map(|m| m.len()).sum()
    }

    /// Whether the buffer holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether block `index` can be written in place through `this`: the buffer and the
    /// block each have one handle. [`memory_mut`](Self::memory_mut) copies nothing then.
    pub fn is_memory_writable(this: &CowShared<Self>, index: usize) -> bool {
        CowShared::is_writable(this) && CowShared::is_writable(&this.memories[index])
    }
}

impl<S: Clone> Buffer<S> {
    /// A writable buffer holding `memories`, linked to it.
    pub fn from_memories(
        memories: impl IntoIterator<Item = CowShared<Memory<S>>>,
    ) -> CowShared<Self> {
        let mut buffer = Self::new();
        for memory in memories {
            Self::append_memory(&mut buffer, memory);
        }
        buffer
    }

    /// Appends `memory` and links it to this buffer (`gst_buffer_append_memory`);
    /// makes the buffer writable first.
    ///
    /// A block held only by the caller is (re)linked to this buffer. A block shared
    /// with other holders keeps the parent it has, if any; it is not writable in place
    /// while shared anyway, and [`memory_mut`](Self::memory_mut) gives this buffer its
    /// own copy.
    pub fn append_memory(this: &mut CowShared<Self>, mut memory: CowShared<Memory<S>>) {
        let (buffer, parent) = CowShared::get_writable_as_parent(this);
        Memory::unlink_if_alone(&mut memory);
        // Refused only for a shared block that another buffer links; see above.
        let _ = memory.link.link(parent);
        buffer.memories.push(memory);
    }

    /// Removes block `index` and hands it over, unlinked if this buffer held it alone
    /// (`gst_buffer_remove_memory`); makes the buffer writable first.
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn remove_memory(this: &mut CowShared<Self>, index: usize) -> CowShared<Memory<S>> {
        let mut memory = CowShared::get_writable(this).memories.remove(index);
        Memory::unlink_if_alone(&mut memory);
        memory
    }

    /// The samples of block `index`, writable: two-level copy-on-write.
    ///
    /// Copies the buffer (its block list, not the blocks) if it is shared, then block
    /// `index` if it is shared; a block held by this buffer alone is written in place
    /// (and linked to this buffer if it was not).
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn memory_mut(this: &mut CowShared<Self>, index: usize) -> &mut [S] {
        let (buffer, parent) = CowShared::get_writable_as_parent(this);
        let slot = &mut buffer.memories[index];
        match CowShared::get_mut(slot) {
            Some(block) => {
                if !block.link.is_linked_to(parent) {
                    block.link.unlink();
                    // Cannot fail: just unlinked, and we hold the only handle.
                    let _ = block.link.link(parent);
                }
            }
            None => {
                let copy = Memory::clone(slot); // a copy has no parent
                let _ = copy.link.link(parent); // cannot fail: new and unlinked
                *slot = CowShared::new(copy);
            }
        }
        match CowShared::get_mut(slot) {
            Some(block) => &mut block.data,
            None => unreachable!("the block was just made unique"),
        }
    }
}

impl<S> Clone for Buffer<S> {
    /// A shallow copy: the new buffer shares every block.
    fn clone(&self) -> Self {
        Self {
            memories: self.memories.clone(),
            offset: self.offset,
        }
    }
}

impl<S> Drop for Buffer<S> {
    fn drop(&mut self) {
        // The parent unlinks the children it holds alone before they go with it.
        self.memories.iter_mut().for_each(Memory::unlink_if_alone);
    }
}

impl<S> fmt::Debug for Buffer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("offset", &self.offset)
            .field(
                "memories",
                &self
                    .memories
                    .iter()
                    .map(|m| (m.len(), CowShared::ref_count(m)))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
