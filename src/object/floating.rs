//! [`Floating<T>`]: GLib's floating reference (`GInitiallyUnowned`,
//! `g_object_ref_sink`, `g_object_force_floating`) as an owning type.
//!
//! # The floating word
//!
//! Each object carries one atomic word besides its reference count:
//!
//! | bits   | meaning                                                                  |
//! |--------|--------------------------------------------------------------------------|
//! | 0      | floating: one reference is owned by nobody yet                            |
//! | 1..32  | *adopted*: floating references that a handle's `ref_sink` adopted while the `Floating<T>` holding them still exists |
//! | 32..64 | generation: which [`Floating<T>`] the floating flag belongs to             |
//!
//! A `Floating<T>` always holds a real count of its own, so the object is alive for
//! as long as it exists, whoever adopted its reference. What moves is ownership of
//! that count, decided by one compare-exchange on this word:
//!
//! - [`Object::ref_sink`] on a floating object clears the flag and adds one to
//!   *adopted*: the caller's new handle now owns the floating reference, and the
//!   `Floating<T>`'s count is owed back. [`Object::ref_count`] subtracts *adopted*, so
//!   the count reads unchanged, as GLib's does.
//! - [`Floating::sink`] or dropping the `Floating<T>` finds its own generation still
//!   floating and clears the flag (sink keeps the count as the new handle, drop
//!   releases it), or finds the reference adopted and settles the debt: *adopted*
//!   minus one, and its count becomes an ordinary reference (sink) or is released
//!   (drop).
//!
//! Exactly one of any set of racing claimants wins the flag, because each claim is a
//! compare-exchange on the same word; the losers add or release an ordinary count.
//! The word is read and written `Relaxed`: it decides who owns a count, never when
//! memory may be freed (every holder keeps a count of its own, and the counts carry
//! their own orderings), and its modification order alone settles each race.
//!
//! The generation is 32 bits: a `Floating<T>` that outlives four billion
//! `force_floating`s of its object could mistake a later flag for its own. That
//! would miscount the reading of [`Object::ref_count`], never memory.
//!
//! [`Object::ref_sink`]: crate::Object::ref_sink
//! [`Object::ref_count`]: crate::Object::ref_count

use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::Deref;

use super::Object;
use crate::sync::abort;
use crate::sync::atomic::{AtomicU64, Ordering};

const FLOATING: u64 = 1;
const ADOPTED_ONE: u64 = 1 << 1;
const ADOPTED_MASK: u64 = ((1 << 31) - 1) << 1;
const GENERATION_SHIFT: u32 = 32;

fn generation(word: u64) -> u32 {
    (word >> GENERATION_SHIFT) as u32
}

/// The floating word of one object (module docs).
#[derive(Debug)]
pub(crate) struct FloatState(AtomicU64);

impl FloatState {
    /// A new object: floating, generation 0.
    pub(crate) fn new_floating() -> Self {
        Self(AtomicU64::new(FLOATING))
    }

    pub(crate) fn is_floating(&self) -> bool {
        // Relaxed: the word publishes nothing (module docs).
        self.0.load(Ordering::Relaxed) & FLOATING != 0
    }

    /// Floating references adopted while their `Floating<T>` still exists.
    pub(crate) fn adopted(&self) -> usize {
        // Relaxed: as above.
        ((self.0.load(Ordering::Relaxed) & ADOPTED_MASK) >> 1) as usize
    }

    /// `ref_sink`'s claim: clears the flag if set, and then owes the `Floating<T>`
    /// its count back. Returns whether this call adopted the floating reference.
    pub(crate) fn try_adopt(&self) -> bool {
        // Relaxed (both): the compare-exchange's modification order settles the race;
        // nothing is published (module docs).
        // loom-mutant: floating-claim-load-and-store-not-one-exchange
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
                // loom-mutant: floating-ref-sink-adopts-reference-that-not-floating
                if word & FLOATING == 0 {
                    return None;
                }
                if word & ADOPTED_MASK == ADOPTED_MASK {
                    // Two billion adopted references still held: give up as a
                    // count overflow does.
                    abort();
                }
                Some((word & !FLOATING) + ADOPTED_ONE)
            })
            .is_ok()
    }

    /// `force_floating`'s claim: sets the flag for a new generation, unless the
    /// object is floating already. Returns the new generation.
    fn float_again(&self) -> Option<u32> {
        // Relaxed (both): as in `try_adopt`.
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
                (word & FLOATING == 0).then(|| {
                    (word & ADOPTED_MASK)
                        | (u64::from(generation(word).wrapping_add(1)) << GENERATION_SHIFT)
                        | FLOATING
                })
            })
            .ok()
            .map(|old| generation(old).wrapping_add(1))
    }

    /// The `Floating<T>` of `generation` lets go of its claim: returns `true` if its
    /// reference was still floating (the flag is now clear and the count is the
    /// caller's to keep or release), `false` if a `ref_sink` adopted it (the debt is
    /// now settled and the count is an ordinary one).
    fn settle(&self, claim: u32) -> bool {
        let mut floated = false;
        // Relaxed (both): as in `try_adopt`.
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
                // loom-mutant: floating-floating-handle-ignores-that-reference-was-adopted
                floated = generation(word) == claim && word & FLOATING != 0;
                if floated {
                    Some(word & !FLOATING)
                } else if word & ADOPTED_MASK != 0 {
                    Some(word - ADOPTED_ONE)
                } else {
                    // Only after a generation wrap (module docs): nothing to settle.
                    None
                }
            });
        floated
    }
}

/// The state word, for the count-limit tests in `internal_tests`.
#[cfg(test)]
impl FloatState {
    pub(crate) fn word(&self) -> &AtomicU64 {
        &self.0
    }
}

/// A reference to a new object that nobody owns yet: GLib's floating reference.
///
/// Constructors of objects return one ([`Object::new`]). It is sunk exactly once:
/// by [`sink`](Self::sink), by adding it to a parent ([`Object::add`]), or by a
/// handle's [`Object::ref_sink`] on another thread (which adopts it: the count
/// stays, the flag clears). Dropping a `Floating<T>` that nobody sank destroys the
/// object (unless other handles hold it).
///
/// GLib's table, step by step:
///
/// ```
/// use mtsafe::Object;
///
/// let floating = Object::with_name("src", ());
/// assert!(Object::is_floating(&floating));             // new: floating, 1
/// assert_eq!(Object::ref_count(&floating), 1);
///
/// let owned = floating.sink();                          // ref_sink: not floating, 1
/// assert!(!Object::is_floating(&owned));
/// assert_eq!(Object::ref_count(&owned), 1);
///
/// let second = Object::ref_sink(&owned);                // ref_sink again: adds one
/// assert_eq!(Object::ref_count(&owned), 2);
/// drop(second);                                         // unref: 1
/// assert_eq!(Object::ref_count(&owned), 1);
///
/// let floating = Object::force_floating(owned);         // force_floating: floating, 1
/// assert!(Object::is_floating(&floating));
/// assert_eq!(Object::ref_count(&floating), 1);
/// ```
///
/// A `Floating<T>` derefs to its object, so a handle can be taken from it without
/// sinking it (`g_object_ref` on a floating object: the object stays floating).
#[must_use = "a floating object is destroyed when dropped: sink it or add it to a parent"]
#[doc(alias = "GInitiallyUnowned")]
pub struct Floating<T> {
    object: ManuallyDrop<Object<T>>,
    /// The generation whose flag this reference owns, or `None` when it was made by
    /// `force_floating` on an object that was floating already (then it holds an
    /// ordinary reference, and the flag belongs to another `Floating<T>`).
    claim: Option<u32>,
}

impl<T> Floating<T> {
    /// Wraps a fresh object's only reference (its floating word: floating, gen 0).
    pub(crate) fn from_new(object: Object<T>) -> Self {
        Self {
            object: ManuallyDrop::new(object),
            claim: Some(0),
        }
    }

    /// `force_floating`: the handle's reference becomes the floating one.
    pub(crate) fn from_handle(object: Object<T>) -> Self {
        let claim = object.float_state().float_again();
        Self {
            object: ManuallyDrop::new(object),
            claim,
        }
    }

    /// Adopts the floating reference: a handle with the count unchanged and the flag
    /// cleared (`g_object_ref_sink` by the creator). If a handle's
    /// [`ref_sink`](Object::ref_sink) adopted it first, this is an ordinary new
    /// reference instead, as `ref_sink` on a non-floating object is.
    #[doc(alias = "g_object_ref_sink")]
    #[doc(alias = "gst_object_ref_sink")]
    #[must_use]
    pub fn sink(self) -> Object<T> {
        let mut this = ManuallyDrop::new(self);
        if let Some(claim) = this.claim {
            this.object.float_state().settle(claim);
        }
        // SAFETY: `this` is never used or dropped again; the handle moves out once.
        unsafe { ManuallyDrop::take(&mut this.object) }
    }
}

impl<T> Deref for Floating<T> {
    type Target = Object<T>;

    #[inline]
    fn deref(&self) -> &Object<T> {
        &self.object
    }
}

impl<T> Drop for Floating<T> {
    fn drop(&mut self) {
        if let Some(claim) = self.claim {
            self.object.float_state().settle(claim);
        }
        // Whether the reference floated (then nobody sank it) or was adopted (then
        // its debt is settled above), this count is ours to release.
        // SAFETY: dropped once, here.
        unsafe { ManuallyDrop::drop(&mut self.object) };
    }
}

impl<T> fmt::Debug for Floating<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Floating")
            .field("object", &*self.object)
            .finish()
    }
}
