//! The pool's free list: a bounded lock-free stack of slot indices (Treiber's stack
//! over a fixed array of `next` links, with a tag against ABA), and the bit that tells
//! a returning thread that an acquirer sleeps until a buffer comes back.
//!
//! # The head word
//!
//! | bits    | field                                                                     |
//! |---------|---------------------------------------------------------------------------|
//! | 0..32   | index of the top slot; `EMPTY` (`u32::MAX`) when the stack is empty       |
//! | 32..63  | tag: one more on every push and pop, so a head read before is never taken for the same head after other pops and pushes (ABA); it wraps after 2³¹ operations, far more than fit between one thread's load and its exchange |
//! | 63      | `SLEEPERS`: an acquirer waits for a push; set only on an empty stack, cleared by the push that ends the wait |
//!
//! One word holds both the stack and the sleepers bit, so "I pushed" and "someone
//! waits" are decided by one modification order: an acquirer that marks the stack
//! as waited on does so with an exchange that fails if anything was pushed since it
//! found it empty, and the push that follows sees the mark.
//!
//! # Orderings
//!
//! - `push` publishes with a `Release` exchange: the slot's contents (written by the
//!   thread that owns it) and its `next` link happen before the push.
//! - `pop` loads and exchanges with `Acquire`, which pairs with the push that put the
//!   index on top (directly, or through the read-modify-writes after it, which
//!   continue its release sequence), so the popper sees the slot as the pusher left
//!   it and owns it from then on.
//! - The `next` links are `Relaxed`: a pop reads the link of the index it saw on top,
//!   ordered by that `Acquire`; a stale read means another thread popped that index
//!   meanwhile, and then the tag makes the exchange fail.
//! - Marking the sleepers bit is `Relaxed`: it publishes nothing; the sleep lock
//!   orders the wait and the wake-up.

use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const INDEX: u64 = 0xFFFF_FFFF;
const EMPTY: u64 = INDEX;
const TAG_ONE: u64 = 1 << 32;
const TAG: u64 = 0x7FFF_FFFF << 32;
const SLEEPERS: u64 = 1 << 63;

/// The largest number of slots a free list can index (`EMPTY` is taken).
pub(crate) const MAX_SLOTS: usize = EMPTY as usize;

/// The tag of `head`, plus one.
#[inline(always)]
fn next_tag(head: u64) -> u64 {
    head.wrapping_add(TAG_ONE) & TAG
}

/// A bounded lock-free stack of the indices `0..capacity`, each on it at most once.
pub(crate) struct FreeList {
    head: AtomicU64,
    next: Box<[AtomicUsize]>,
}

impl FreeList {
    /// An empty list for indices below `capacity` (at most [`MAX_SLOTS`]).
    pub(crate) fn new(capacity: usize) -> Self {
        assert!(capacity <= MAX_SLOTS, "too many slots for a free list");
        Self {
            head: AtomicU64::new(EMPTY),
            next: (0..capacity)
                .map(|_| AtomicUsize::new(EMPTY as usize))
                .collect(),
        }
    }

    /// Takes the index on top, if any. Lock-free; allocates nothing.
    pub(crate) fn pop(&self) -> Option<usize> {
        // Acquire: pairs with the push of the index we read (module docs).
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let index = head & INDEX;
            if index == EMPTY {
                return None;
            }
            // Relaxed: ordered by the Acquire that read `head`; if it is stale, the
            // exchange below fails (module docs).
            let next = self.next[index as usize].load(Ordering::Relaxed) as u64;
            // A non-empty stack has no sleepers bit, and the popped one keeps none.
            let new = next | next_tag(head);
            // Acquire on success: we own the slot as its pusher left it. Acquire on
            // failure: the retry reads the new top's link.
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return Some(index as usize),
                Err(now) => head = now,
            }
        }
    }

    /// Puts `index` on top and returns whether an acquirer was waiting for it (the
    /// caller wakes it); the push clears the sleepers bit. Lock-free; allocates
    /// nothing.
    ///
    /// The caller owns the slot `index`, which is not on the list.
    pub(crate) fn push(&self, index: usize) -> bool {
        debug_assert!(index < self.next.len());
        // Relaxed: a first guess for the exchange, which decides.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // Relaxed: published by the Release exchange below.
            self.next[index].store((head & INDEX) as usize, Ordering::Relaxed);
            let new = index as u64 | next_tag(head);
            // Release on success: publishes the slot and its link (module docs).
            // Relaxed on failure: we retry with the new head.
            match self
                .head
                // loom-mutant: buffer-pool-free-list-push-publishes-relaxed
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return head & SLEEPERS != 0,
                Err(now) => head = now,
            }
        }
    }

    /// Marks the list as waited on, if it is still empty: `true` when marked (the next
    /// push will report it), `false` when something was pushed meanwhile (pop it).
    pub(crate) fn mark_sleepers(&self) -> bool {
        // Relaxed throughout: the bit publishes nothing (module docs).
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            if head & INDEX != EMPTY {
                return false;
            }
            if head & SLEEPERS != 0 {
                return true;
            }
            match self.head.compare_exchange_weak(
                head,
                head | SLEEPERS,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => head = now,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn last_in_first_out_and_the_sleepers_bit_goes_with_the_next_push() {
        let list = FreeList::new(3);
        assert_eq!(list.pop(), None);
        assert!(list.mark_sleepers());
        assert!(list.mark_sleepers(), "already marked");
        assert!(list.push(2), "the push sees the sleeper");
        assert!(!list.mark_sleepers(), "not empty");
        assert!(!list.push(0), "the bit went with the first push");
        assert_eq!(list.pop(), Some(0));
        assert_eq!(list.pop(), Some(2));
        assert_eq!(list.pop(), None);
    }

    #[test]
    fn the_tag_wraps_without_touching_the_index_or_the_sleepers_bit() {
        let head = TAG | 5;
        assert_eq!(next_tag(head), 0);
        assert_eq!(next_tag(SLEEPERS | TAG | 5) & SLEEPERS, 0);
        assert_eq!(next_tag(7) >> 32, 1);
    }
}
