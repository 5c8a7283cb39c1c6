//! `BufferPool`: its counts and statistics read back exactly, growth stops at the
//! maximum, and a returned buffer comes back as free as a new one.

use mtsafe::buffer::{AcquireError, Buffer, BufferPool, PoolConfig, PoolStats, PooledBuffer};
use mtsafe::CowShared;
use std::time::Duration;

#[test]
fn the_config_reads_back_as_built() {
    let config = PoolConfig::new(3, 16)
        .buffers(2, 5)
        .allocate_in_acquire(true);
    assert_eq!((config.blocks, config.block_len), (3, 16));
    assert_eq!((config.min_buffers, config.max_buffers), (2, 5));
    assert!(config.allocate_in_acquire);
    let pool = BufferPool::<u8>::with_config(config);
    assert_eq!(pool.config(), config);
    assert_eq!(pool.allocated(), 2, "min_buffers made up front");
    assert_eq!(pool.available(), 2);
    let plain = PoolConfig::new(1, 4);
    assert_eq!((plain.min_buffers, plain.max_buffers), (1, 1));
    assert!(!plain.allocate_in_acquire);
}

#[test]
fn grow_makes_buffers_up_to_the_maximum_and_says_how_many() {
    let pool = BufferPool::<u8>::with_config(PoolConfig::new(1, 4).buffers(1, 4));
    assert_eq!(pool.grow(2), 2);
    assert_eq!((pool.allocated(), pool.available()), (3, 3));
    assert_eq!(pool.grow(5), 1, "only one more fits");
    assert_eq!(pool.grow(1), 0);
    assert_eq!(pool.allocated(), 4);
    assert_eq!(pool.stats().allocated, 4);
}

#[test]
fn statistics_count_each_event_once() {
    let pool = BufferPool::<u8>::new(2, 1, 4);
    assert_eq!(pool.stats(), PoolStats::default().with_allocated(2));
    let a = pool.try_acquire().unwrap();
    assert_eq!(pool.available(), 1);
    let b = pool.try_acquire().unwrap();
    assert_eq!(pool.available(), 0);
    assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
    assert_eq!(
        pool.acquire_timeout(Duration::from_millis(1)).unwrap_err(),
        AcquireError::Timeout
    );
    let s = pool.stats();
    assert_eq!((s.acquired, s.returned, s.exhausted, s.waits), (2, 0, 2, 1));
    drop(a);
    assert_eq!(pool.stats().returned, 1);
    assert_eq!(pool.available(), 1);
    let kept = b.clone();
    drop(b);
    assert_eq!(
        pool.stats().returned,
        1,
        "not returned while a holder remains"
    );
    drop(kept);
    assert_eq!(pool.stats().returned, 2);
    assert_eq!(pool.available(), 2);
    assert_eq!(pool.stats().replaced, 0);
}

trait WithAllocated {
    fn with_allocated(self, n: u64) -> Self;
}

impl WithAllocated for PoolStats {
    fn with_allocated(mut self, n: u64) -> Self {
        self.allocated = n;
        self
    }
}

#[test]
fn flushing_refuses_every_acquire_until_cleared() {
    let pool = BufferPool::<u8>::new(1, 1, 4);
    assert!(!pool.is_flushing());
    pool.set_flushing(true);
    assert!(pool.is_flushing());
    assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Flushing);
    assert_eq!(pool.acquire().unwrap_err(), AcquireError::Flushing);
    pool.set_flushing(false);
    assert!(!pool.is_flushing());
    assert!(pool.acquire().is_ok());
}

#[test]
fn allocate_in_acquire_makes_a_buffer_only_when_allowed() {
    let lazy = BufferPool::<u8>::with_config(PoolConfig::new(1, 4).buffers(1, 2));
    let _a = lazy.try_acquire().unwrap();
    assert_eq!(lazy.try_acquire().unwrap_err(), AcquireError::Exhausted);
    assert_eq!(lazy.allocated(), 1);
    let eager = BufferPool::<u8>::with_config(
        PoolConfig::new(1, 4)
            .buffers(1, 2)
            .allocate_in_acquire(true),
    );
    let a = eager.try_acquire().unwrap();
    let b = eager.try_acquire().unwrap();
    assert_eq!(eager.allocated(), 2);
    assert_eq!(eager.try_acquire().unwrap_err(), AcquireError::Exhausted);
    assert!(!PooledBuffer::ptr_eq(&a, &b));
}

#[test]
fn a_pooled_buffer_answers_for_itself() {
    let pool = BufferPool::<u8>::new(1, 2, 4);
    let mut a = pool.try_acquire().unwrap();
    assert!(PooledBuffer::is_pooled(&a));
    assert!(PooledBuffer::is_writable(&a));
    assert_eq!(PooledBuffer::ref_count(&a), 1);
    assert_eq!(a.n_memory(), 2);
    assert_eq!(AsRef::<Buffer<u8>>::as_ref(&a).n_memory(), 2);
    assert!(std::ptr::eq(PooledBuffer::as_ptr(&a), &*a));
    let b = a.clone();
    assert_eq!(PooledBuffer::ref_count(&a), 2);
    assert!(!PooledBuffer::is_writable(&a));
    assert!(PooledBuffer::ptr_eq(&a, &b));
    // Writing a shared pooled buffer copies it off the pool.
    PooledBuffer::memory_mut(&mut a, 0)[0] = 7;
    assert!(!PooledBuffer::is_pooled(&a) && PooledBuffer::is_pooled(&b));
    assert!(!PooledBuffer::ptr_eq(&a, &b));
    assert_eq!(
        (a.memory(0).as_slice()[0], b.memory(0).as_slice()[0]),
        (7, 0)
    );
    PooledBuffer::set_offset(&mut a, 9);
    assert_eq!(a.offset, 9);
    assert_eq!(b.offset, 0);
    drop(b);
    assert_eq!(pool.available(), 1, "the pooled one came back");
}

#[test]
fn a_returned_buffer_comes_back_as_free_as_a_new_one() {
    let pool = BufferPool::<u8>::new(1, 2, 4);
    let mut a = pool.try_acquire().unwrap();
    PooledBuffer::set_offset(&mut a, 5);
    PooledBuffer::memory_mut(&mut a, 1)[3] = 1;
    let kept_block: CowShared<_> = a.memory(0).clone(); // still shared at return
    let removed = PooledBuffer::remove_memory(&mut a, 1);
    assert_eq!(removed.as_slice(), [0, 0, 0, 1]);
    assert_eq!(a.n_memory(), 1);
    drop(a);
    let b = pool.try_acquire().unwrap();
    assert_eq!(b.offset, 0, "offset reset");
    assert_eq!(b.n_memory(), 2, "the removed block replaced");
    assert!(
        !CowShared::ptr_eq(b.memory(0), &kept_block),
        "a block someone kept is replaced, not handed out again"
    );
    assert!(b.memories().iter().all(|m| CowShared::ref_count(m) == 1));
    assert_eq!(pool.stats().replaced, 2);
}

#[test]
fn acquire_error_texts_name_the_reason() {
    assert_eq!(
        AcquireError::Flushing.to_string(),
        "the buffer pool is flushing"
    );
    assert_eq!(
        AcquireError::Exhausted.to_string(),
        "every buffer of the pool is in use"
    );
    assert_eq!(
        AcquireError::Timeout.to_string(),
        "no buffer of the pool came back in time"
    );
}

#[test]
fn a_buffer_that_lost_a_block_comes_back_whole() {
    // Only the block count is off (the block left is reusable): the return must
    // still make the missing block.
    let pool = BufferPool::<u8>::new(1, 2, 4);
    let mut a = pool.try_acquire().unwrap();
    drop(PooledBuffer::remove_memory(&mut a, 1));
    assert_eq!(a.n_memory(), 1);
    drop(a);
    let b = pool.try_acquire().unwrap();
    assert_eq!(b.n_memory(), 2, "the removed block made again");
    assert!(b.memories().iter().all(|m| m.len() == 4));
    assert_eq!(pool.stats().replaced, 1);
}
