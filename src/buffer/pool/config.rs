//! A pool's configuration, its errors and its statistics.

use core::fmt;

#[cfg(doc)]
use super::BufferPool;
#[cfg(doc)]
use crate::buffer::Memory;

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
