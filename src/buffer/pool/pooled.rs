//! [`PooledBuffer`]: the handle of a buffer that goes back to its pool.

use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::Deref;

use super::state::{Home, Shared};
#[cfg(doc)]
use super::BufferPool;
use crate::buffer::{Buffer, Memory};
use crate::shared::UniqueShared;
use crate::CowShared;

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
    /// The handle of a buffer that goes out of its slot at `home`.
    pub(super) fn out(buffer: UniqueShared<Buffer<S>>, home: Home<S>) -> Self {
        Self {
            buffer: ManuallyDrop::new(UniqueShared::shareable(buffer)),
            home: Some(home),
        }
    }

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
    pub(super) fn release(buffer: CowShared<Buffer<S>>, home: Option<Home<S>>) {
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
