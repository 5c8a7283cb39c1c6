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
//! - A block that its buffer let go of, or went from, while another holder kept it (a
//!   copy of the buffer, say, which shares the block without being its linked parent)
//!   reads as not writable until a buffer that holds it alone writes it
//!   ([`Buffer::memory_mut`]) or takes it in ([`Buffer::append_memory`]) and so
//!   relinks it. The block's own answer may thus be a conservative no; it is never a
//!   wrong yes. [`Buffer::is_memory_writable`] asks the buffer itself and is exact.
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
//!
//! // `buf` is a copy now; its right block is still linked to the meter's buffer. When
//! // that buffer goes, the block does not take `buf` for its parent: shared or not,
//! // its own check says no (`Buffer::is_memory_writable`, which asks `buf`, is exact).
//! drop(meter);
//! let sink = buf.clone();
//! assert!(!Memory::is_writable(buf.memory(1)));
//! assert!(!Buffer::is_memory_writable(&buf, 1));
//! drop(sink);
//! assert!(Buffer::is_memory_writable(&buf, 1));
//! ```

use core::fmt;
use core::ops::Deref;

use crate::shared::UniqueShared;
use crate::{CowShared, ParentLink, ParentRef};

// `GstBufferPool` beside `GstBuffer`: a pool of these buffers, reused once released.
mod pool;
pub use pool::{AcquireError, BufferPool, PoolConfig, PoolStats, PooledBuffer};

/// A block of samples (`GstMemory`), meant to live in a `CowShared` inside one
/// [`Buffer`].
///
/// Clone copies the samples and gives a block with no parent.
///
/// ```
/// use mtsafe::buffer::Memory;
/// use mtsafe::CowShared;
///
/// let block = Memory::from_vec(vec![0.5f32, -0.5]);
/// assert_eq!(&block[..], [0.5, -0.5]);         // derefs to its samples
/// assert!(Memory::is_writable(&block));       // one handle, no parent
/// let copy = Memory::clone(&block);           // a deep copy, with no parent
/// assert!(!CowShared::ptr_eq(&CowShared::new(copy), &block));
/// ```
#[derive(Clone)]
#[doc(alias = "GstMemory")]
pub struct Memory<S> {
    link: ParentLink,
    data: Box<[S]>,
}

impl<S> Memory<S> {
    /// A new shared block, with no parent yet.
    ///
    /// ```
    /// let block = mtsafe::buffer::Memory::from_vec(vec![1u8, 2, 3]);
    /// assert_eq!(block.len(), 3);
    /// assert!(!block.link().is_linked());
    /// ```
    #[must_use]
    pub fn from_vec(data: Vec<S>) -> CowShared<Self> {
        CowShared::new(Self {
            link: ParentLink::new(),
            data: data.into_boxed_slice(),
        })
    }

    /// The samples.
    ///
    /// ```
    /// let block = mtsafe::buffer::Memory::from_vec(vec![1i16, 2]);
    /// assert_eq!(block.as_slice(), &[1, 2]);
    /// ```
    pub fn as_slice(&self) -> &[S] {
        &self.data
    }

    /// The link to the buffer that holds this block.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let buffer = Buffer::from_memories([Memory::from_vec(vec![0u8; 4])]);
    /// assert!(buffer.memory(0).link().is_linked_to(&buffer));
    /// ```
    pub fn link(&self) -> &ParentLink {
        &self.link
    }

    /// Unlinks the block if this handle is its only one: what a buffer does with each
    /// block that goes with it. A block shared with another holder keeps its link,
    /// which reads as gone with the buffer (see [`ParentLink`]).
    fn unlink_if_alone(block: &mut CowShared<Self>) {
        if let Some(block) = CowShared::get_mut(block) {
            block.link.unlink();
        }
    }

    /// What `parent` does with a block it lets go of while it lives on: unlinks it if
    /// this handle is its only one, orphans it otherwise, so that the other holders
    /// cannot read it as writable on `parent`'s count. Before the handle is released.
    fn let_go(block: &mut CowShared<Self>, parent: ParentRef<'_>) {
        match CowShared::get_mut(block) {
            Some(block) => {
                block.link.unlink();
            }
            None => {
                block.link.orphan(parent);
            }
        }
    }

    /// GStreamer's writability rule for a child: this handle is the block's only one,
    /// and the buffer it is linked to (if any) is not shared and still holds it.
    ///
    /// Never `true` for a block that a shared buffer holds, whatever the order of
    /// buffer copies, writes, removals and drops before. It may be `false` for a block
    /// that could be written: one whose linked buffer went or let go of it while
    /// another holder kept it reads as not writable until a buffer holding it alone
    /// relinks it ([`Buffer::memory_mut`], [`Buffer::append_memory`]), since the link
    /// cannot tell who holds it now. [`Buffer::is_memory_writable`] is exact.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let buffer = Buffer::from_memories([Memory::from_vec(vec![0u8; 4])]);
    /// assert!(Memory::is_writable(buffer.memory(0)));  // one buffer, one handle each
    /// let reader = buffer.clone();                    // the buffer is shared now
    /// assert!(!Memory::is_writable(buffer.memory(0)));
    /// drop(reader);
    /// assert!(Memory::is_writable(buffer.memory(0)));
    /// ```
    #[must_use]
    pub fn is_writable(block: &CowShared<Self>) -> bool {
        // The block's own count first: its Acquire load is what makes the parent's
        // orphan mark, or its going, visible here once the count reads one (see
        // `ParentLink`'s orderings).
        // loom-mutant: buffer-memory-writable-reads-link-before-block-count
        CowShared::is_writable(block) && block.link.parent_is_writable()
    }
}

impl<S: Default + Clone> Memory<S> {
    /// A new shared block of `len` default samples (silence, for numbers).
    ///
    /// ```
    /// let silence = mtsafe::buffer::Memory::<f32>::zeroed(480);
    /// assert!(silence.iter().all(|&s| s == 0.0));
    /// ```
    #[must_use]
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
/// in; it unlinks each block that leaves it or is dropped with it when it holds that
/// block alone, and orphans one that leaves it while another holder keeps it (see
/// [`ParentLink`]). A copy links nothing (it has no handle of its own yet): it
/// relinks a block when it writes it alone ([`memory_mut`](Self::memory_mut)).
///
/// A buffer's value moved to another handle through `&mut` (`mem::swap`,
/// `mem::replace`, assigning over it) leaves its blocks linked to the handle it came from;
/// [`Memory::is_writable`] cannot follow it, while [`is_memory_writable`](
/// Self::is_memory_writable) and [`memory_mut`](Self::memory_mut), which ask the buffer,
/// are unaffected.
#[doc(alias = "GstBuffer")]
pub struct Buffer<S> {
    memories: Vec<CowShared<Memory<S>>>,
    /// A free-form position (a frame counter, a timestamp), copied with the buffer.
    pub offset: u64,
}

impl<S> Buffer<S> {
    /// An empty, writable buffer.
    ///
    /// ```
    /// use mtsafe::buffer::Buffer;
    /// use mtsafe::CowShared;
    ///
    /// let buffer = Buffer::<f32>::new();
    /// assert!(buffer.is_empty() && CowShared::is_writable(&buffer));
    /// ```
    #[must_use]
    pub fn new() -> CowShared<Self> {
        CowShared::new(Self {
            memories: Vec::new(),
            offset: 0,
        })
    }

    /// The number of blocks.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let stereo = Buffer::from_memories([Memory::<f32>::zeroed(4), Memory::zeroed(4)]);
    /// assert_eq!(stereo.n_memory(), 2);
    /// ```
    #[must_use]
    pub fn n_memory(&self) -> usize {
        self.memories.len()
    }

    /// Block `index`, borrowed (`gst_buffer_peek_memory`).
    ///
    /// # Panics
    /// When `index` is out of range.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let buffer = Buffer::from_memories([Memory::from_vec(vec![7u8])]);
    /// assert_eq!(buffer.memory(0)[0], 7);
    /// ```
    #[must_use]
    pub fn memory(&self, index: usize) -> &CowShared<Memory<S>> {
        &self.memories[index]
    }

    /// All blocks, borrowed.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let buffer = Buffer::from_memories([Memory::from_vec(vec![1u8]), Memory::from_vec(vec![2, 3])]);
    /// let lens: Vec<usize> = buffer.memories().iter().map(|m| m.len()).collect();
    /// assert_eq!(lens, [1, 2]);
    /// ```
    #[must_use]
    pub fn memories(&self) -> &[CowShared<Memory<S>>] {
        &self.memories
    }

    /// The samples in all blocks together.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let buffer = Buffer::from_memories([Memory::from_vec(vec![1u8]), Memory::from_vec(vec![2, 3])]);
    /// assert_eq!(buffer.len(), 3);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.memories.iter().map(|m| m.len()).sum()
    }

    /// Whether the buffer holds no sample.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// assert!(Buffer::<u8>::new().is_empty());
    /// assert!(Buffer::from_memories([Memory::<u8>::from_vec(vec![])]).is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether block `index` can be written in place through `this`: the buffer and the
    /// block each have one handle. [`memory_mut`](Self::memory_mut) copies nothing then.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let mut buffer = Buffer::from_memories([Memory::from_vec(vec![0u8; 4])]);
    /// assert!(Buffer::is_memory_writable(&buffer, 0));
    /// let copy = buffer.clone();
    /// assert!(!Buffer::is_memory_writable(&buffer, 0)); // the buffer is shared
    /// drop(copy);
    /// let block = buffer.memory(0).clone();
    /// assert!(!Buffer::is_memory_writable(&buffer, 0)); // the block is shared
    /// drop(block);
    /// assert!(Buffer::is_memory_writable(&buffer, 0));
    /// Buffer::memory_mut(&mut buffer, 0)[0] = 1;        // in place: nothing copied
    /// ```
    #[must_use]
    pub fn is_memory_writable(this: &CowShared<Self>, index: usize) -> bool {
        CowShared::is_writable(this) && CowShared::is_writable(&this.memories[index])
    }
}

impl<S: Clone> Buffer<S> {
    /// A writable buffer holding `memories`, linked to it.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let buffer = Buffer::from_memories([Memory::from_vec(vec![0.5f32; 2])]);
    /// assert!(buffer.memory(0).link().is_linked_to(&buffer));
    /// ```
    pub fn from_memories(
        memories: impl IntoIterator<Item = CowShared<Memory<S>>>,
    ) -> CowShared<Self> {
        UniqueShared::shareable(Self::build(memories))
    }

    /// Appends `memory` and links it to this buffer (`gst_buffer_append_memory`);
    /// makes the buffer writable first.
    ///
    /// A block held only by the caller is (re)linked to this buffer, and so is a shared
    /// block with no link. A shared block that has a link keeps it; it is not writable
    /// in place while shared anyway, and [`memory_mut`](Self::memory_mut) relinks it
    /// once this buffer holds it alone, or gives this buffer its own copy.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let mut buffer = Buffer::new();
    /// Buffer::append_memory(&mut buffer, Memory::from_vec(vec![1u8, 2]));
    /// assert_eq!(buffer.n_memory(), 1);
    /// assert!(Memory::is_writable(buffer.memory(0)));
    /// ```
    pub fn append_memory(this: &mut CowShared<Self>, memory: CowShared<Memory<S>>) {
        let (buffer, parent) = CowShared::get_writable_as_parent(this);
        buffer.take_in(parent, memory);
    }

    /// Removes block `index` and hands it over (`gst_buffer_remove_memory`), unlinked
    /// if this buffer held it alone, orphaned if it is linked here and someone else
    /// holds it too; makes the buffer writable first.
    ///
    /// # Panics
    /// When `index` is out of range.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    ///
    /// let mut buffer = Buffer::from_memories([Memory::from_vec(vec![1u8]), Memory::from_vec(vec![2])]);
    /// let first = Buffer::remove_memory(&mut buffer, 0);
    /// assert_eq!(first[0], 1);
    /// assert!(!first.link().is_linked());              // held alone: unlinked
    /// assert_eq!(buffer.n_memory(), 1);
    /// ```
    pub fn remove_memory(this: &mut CowShared<Self>, index: usize) -> CowShared<Memory<S>> {
        let (buffer, parent) = CowShared::get_writable_as_parent(this);
        buffer.let_go_of(parent, index)
    }

    /// The samples of block `index`, writable: two-level copy-on-write.
    ///
    /// Copies the buffer (its block list, not the blocks) if it is shared, then block
    /// `index` if it is shared (orphaning the shared block if it was linked here); a
    /// block held by this buffer alone is written in place (and linked to this buffer
    /// if it was not).
    ///
    /// # Panics
    /// When `index` is out of range.
    ///
    /// ```
    /// use mtsafe::buffer::{Buffer, Memory};
    /// use mtsafe::CowShared;
    ///
    /// let mut gain = Buffer::from_memories([Memory::from_vec(vec![0.5f32; 2]), Memory::from_vec(vec![0.25; 2])]);
    /// let meter = gain.clone();
    /// for s in Buffer::memory_mut(&mut gain, 0) {
    ///     *s *= 2.0;                                   // the buffer and the left block copied
    /// }
    /// assert_eq!((meter.memory(0)[0], gain.memory(0)[0]), (0.5, 1.0));
    /// assert!(CowShared::ptr_eq(meter.memory(1), gain.memory(1))); // right block still shared
    /// ```
    pub fn memory_mut(this: &mut CowShared<Self>, index: usize) -> &mut [S] {
        let (buffer, parent) = CowShared::get_writable_as_parent(this);
        let slot = &mut buffer.memories[index];
        // A shared block is copied (a copy has no parent). The other holders keep the
        // old block: if it is linked here, its link must not vouch for them on this
        // buffer's count. Orphaned after the copy (a sample clone that panics leaves
        // the link as it was) and before this handle to the old block goes (see
        // `ParentLink::orphan`).
        // loom-mutant: buffer-memory-mut-does-not-orphan-shared-block-it-lets-go
        let block = CowShared::make_unique_with(slot, |shared| {
            let copy = UniqueShared::new(Memory::clone(shared));
            shared.link.orphan(parent);
            copy
        });
        if !block.link.is_linked_to(parent) {
            block.link.unlink();
            // Cannot fail: just unlinked, and we hold the only handle.
            let _ = block.link.link(parent);
        }
        &mut block.data
    }
}

impl<S> Buffer<S> {
    /// A writable buffer holding `memories`, linked to it, as its only handle.
    pub(crate) fn build(
        memories: impl IntoIterator<Item = CowShared<Memory<S>>>,
    ) -> UniqueShared<Self> {
        let mut buffer = UniqueShared::new(Self {
            memories: Vec::new(),
            offset: 0,
        });
        let (value, parent) = UniqueShared::as_parent(&mut buffer);
        for memory in memories {
            value.take_in(parent, memory);
        }
        buffer
    }

    /// Appends `memory`, linked to `parent` (this buffer's handle) as
    /// [`append_memory`](Self::append_memory) says.
    pub(crate) fn take_in(&mut self, parent: ParentRef<'_>, mut memory: CowShared<Memory<S>>) {
        Memory::unlink_if_alone(&mut memory);
        // Refused only for a shared block that has a link; see `append_memory`.
        let _ = memory.link.link(parent);
        self.memories.push(memory);
    }

    /// Removes block `index`, which `parent` (this buffer's handle) lets go of, as
    /// [`remove_memory`](Self::remove_memory) says.
    pub(crate) fn let_go_of(
        &mut self,
        parent: ParentRef<'_>,
        index: usize,
    ) -> CowShared<Memory<S>> {
        let mut memory = self.memories.remove(index);
        // loom-mutant: buffer-remove-memory-does-not-orphan-shared-block-it-lets-go
        Memory::let_go(&mut memory, parent);
        memory
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
        // The parent unlinks the children it holds alone before they go with it. The
        // others keep their link: to another buffer that holds them (this one is a
        // copy), or to this buffer's handle, which reads as gone since the value is
        // dropped after the handles' count reached zero or after it was moved out.
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
