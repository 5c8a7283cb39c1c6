//! Answers that the integration tests check too, checked here first: the unit tests
//! run before the integration tests, and a wrong answer here fails at once, where
//! there it can make another test of the same binary hang (an add that takes one
//! tree lock twice, an acquire that waits for a flush that never comes).

use crate::buffer::{AcquireError, BufferPool, PooledBuffer};
use crate::{Object, ObjectError};

#[test]
fn adding_an_ancestor_that_has_a_parent_is_refused_as_a_cycle() {
    super::finishes("an ancestor added", adding_an_ancestor);
}

fn adding_an_ancestor() {
    let named = |name: &str| Object::with_name(name, ()).sink();
    let (top, mid, leaf) = (named("top"), named("mid"), named("leaf"));
    top.add(&mid).unwrap();
    mid.add(&leaf).unwrap();
    // Read first: an add whose walk up the tree reads no parent would retry forever.
    assert!(leaf.has_as_parent(&mid) && mid.has_as_parent(&top));
    // The cycle is found first: `mid` has a parent, but that is not the reason.
    assert_eq!(
        leaf.add(&mid),
        Err(ObjectError::WouldCycle {
            child: "mid".into(),
            parent: "leaf".into()
        })
    );
    assert!(leaf.has_as_parent(&mid) && mid.has_as_parent(&top));
    assert_eq!(leaf.n_children(), 0);
}

#[test]
fn flushing_refuses_an_acquire_at_once_until_it_is_cleared() {
    let pool = BufferPool::<u8>::new(1, 1, 1);
    pool.set_flushing(true);
    assert!(pool.is_flushing());
    assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Flushing);
    pool.set_flushing(false);
    assert!(!pool.is_flushing());
    assert!(pool.try_acquire().is_ok());
}

#[test]
#[cfg(not(miri))]
fn a_call_that_never_returns_fails_the_test() {
    let hung = std::panic::catch_unwind(|| {
        super::finishes_within(std::time::Duration::from_millis(50), "a loop", || loop {
            std::thread::park();
        })
    });
    let message = hung.unwrap_err();
    assert!(message
        .downcast_ref::<String>()
        .unwrap()
        .contains("a loop: still running"));
    assert_eq!(super::finishes("a sum", || 2 + 2), 4);
}

#[test]
fn an_acquire_waiting_for_a_buffer_gets_the_one_released_and_a_flush_wakes_it() {
    super::finishes("an acquire that waits", || {
        let pool = BufferPool::<u8>::new(1, 1, 4);
        let held = pool.try_acquire().unwrap();
        let address = PooledBuffer::as_ptr(&held) as usize;
        assert_eq!(pool.try_acquire().unwrap_err(), AcquireError::Exhausted);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| pool.acquire().map(|b| PooledBuffer::as_ptr(&b) as usize));
            while pool.stats().waits == 0 {
                std::thread::yield_now();
            }
            drop(held);
            assert_eq!(waiter.join().unwrap(), Ok(address), "the buffer released");
        });
        let held = pool.acquire().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| pool.acquire().err());
            while pool.stats().waits < 2 {
                std::thread::yield_now();
            }
            pool.set_flushing(true);
            assert_eq!(waiter.join().unwrap(), Some(AcquireError::Flushing));
        });
        drop(held);
        pool.set_flushing(false);
        assert_eq!(pool.available(), 1);
        assert!(pool.acquire().is_ok());
    });
}

#[test]
fn writing_a_shared_pooled_buffer_copies_it_off_the_pool_and_the_original_comes_back() {
    super::finishes("a shared pooled buffer written", || {
        let pool = BufferPool::<u8>::new(1, 1, 4);
        let mut mine = pool.try_acquire().unwrap();
        let theirs = PooledBuffer::clone(&mine);
        PooledBuffer::memory_mut(&mut mine, 0)[0] = 7;
        // The writer got a copy of its own, off the pool; the other handle keeps the
        // pooled buffer, unchanged.
        assert!(!PooledBuffer::is_pooled(&mine));
        assert!(PooledBuffer::is_pooled(&theirs));
        assert_eq!(PooledBuffer::ref_count(&theirs), 1);
        assert_eq!(pool.available(), 0);
        drop(theirs);
        assert_eq!(pool.available(), 1, "the pooled buffer came back");
        drop(mine);
        assert_eq!(pool.available(), 1, "the copy is not the pool's");
        assert!(pool.try_acquire().is_ok());
    });
}

#[test]
fn an_acquire_with_a_timeout_gives_up_when_no_buffer_comes_back() {
    super::finishes("an acquire with a timeout", || {
        let pool = BufferPool::<u8>::new(1, 1, 4);
        let held = pool.try_acquire().unwrap();
        let exhausted = pool.stats().exhausted;
        let waits = pool.stats().waits;
        let timeout = std::time::Duration::from_millis(1);
        assert_eq!(
            pool.acquire_timeout(timeout).unwrap_err(),
            AcquireError::Timeout
        );
        assert_eq!(pool.stats().waits, waits + 1);
        assert_eq!(pool.stats().exhausted, exhausted + 1);
        drop(held);
        assert!(
            pool.acquire_timeout(timeout).is_ok(),
            "a free buffer is taken at once"
        );
    });
}
