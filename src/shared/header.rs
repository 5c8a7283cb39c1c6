//! The allocation every shared value lives in, and its header: the one file that
//! touches the counts.
//!
//! Each allocation is a [`Header`] followed by the value. The header's fields are
//! private to this file; the handles ([`CowShared`], [`StrongShared`],
//! [`WeakShared`], [`UniqueShared`]) and the links ([`ParentLink`]) change the counts
//! only through the methods below, each of which carries the reason for its
//! ordering. The argument is the one `Arc` and triomphe make for their counts:
//!
//! - A new strong handle or link is made from an existing count, which already keeps
//!   the allocation alive: its increment is `Relaxed` and publishes nothing.
//! - A strong handle's drop decrements with `Release`, so its last use of the value
//!   happens before the decrement; the one that takes the count to zero then loads
//!   with `Acquire` (one release sequence on `strong`) before it drops the value. An
//!   `Acquire` load rather than a fence, so ThreadSanitizer and loom both understand
//!   it.
//! - A link is only added through a borrowed strong (or unique) handle, so that
//!   handle's `Release` drop orders the link's increment before the last handle's
//!   `Acquire`, which therefore sees every link when it decides whether it may free.
//! - A count of one that permits a write (`is_unique`, a parent's count read by a
//!   child) is loaded with `Acquire`: it proves the other holders are gone, and makes
//!   their reads of the value happen before the write.
//! - Dropping a link or a weak handle decrements with `AcqRel`: `Release` so its
//!   reads of the header happen before the free, `Acquire` in case it frees.
//!
//! Operations after which another thread may free the allocation take the header by
//! raw pointer, not `&self`: a reference argument would claim the memory stays valid
//! for the whole call.
//!
//! [`CowShared`]: super::CowShared
//! [`StrongShared`]: super::StrongShared
//! [`WeakShared`]: super::WeakShared
//! [`UniqueShared`]: super::UniqueShared
//! [`ParentLink`]: super::ParentLink

use core::fmt;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{abort, AllocTrack};

/// Past this many strong handles a new one aborts: half the range, so that the
/// threads racing past the check before the abort cannot wrap the count.
pub(super) const MAX_STRONG: usize = isize::MAX as usize;
/// Past this many links (and weak handles) a new link is refused, and a new weak
/// handle aborts, for the same reason.
pub(super) const MAX_LINKS: usize = isize::MAX as usize;

/// Frees an allocation whose value was already dropped or moved out: the
/// allocation's own `free`, kept in its header as `GstMiniObject` keeps its `free`.
type ReleaseFn = unsafe fn(NonNull<Header>);

/// The part of every allocation that a child may read: two counts and the function
/// that frees the allocation.
///
/// | word      | counts                                                            |
/// |-----------|-------------------------------------------------------------------|
/// | `strong`  | live strong handles (`CowShared`, `StrongShared`, `UniqueShared`)  |
/// | `links`   | `ParentLink`s and weak handles on this allocation, plus one held collectively by the strong handles while `strong > 0` |
///
/// | `strong` | `links` | meaning                                                    |
/// |----------|---------|------------------------------------------------------------|
/// | 1        | 1       | a fresh value: one handle, no child linked                 |
/// | `S > 0`  | `1 + L` | `S` handles, `L` links or weak handles                     |
/// | 0        | `L > 0` | the value is dropped or moved out; the allocation (the header; the value is gone) stays until the last of the `L` goes |
#[repr(C)]
pub(super) struct Header {
    strong: AtomicUsize,
    links: AtomicUsize,
    /// Set when the allocation is made, never changed: how to free it, whatever the
    /// type of the value (a link knows only the header).
    release: ReleaseFn,
    /// Zero-sized; under loom a leaked or twice-freed allocation fails the model.
    _track: AllocTrack,
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("strong", &self.strong_count())
            // Relaxed: a number for reporting only.
            .field("links", &self.links.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Header {
    // ---------------------------------------------------------------------------
    // Strong handles.
    // ---------------------------------------------------------------------------

    /// The number of strong handles, for reporting: other threads may change it at
    /// any time.
    #[inline(always)]
    pub(super) fn strong_count(&self) -> usize {
        // Relaxed: a number for reporting; nothing is read on the strength of it.
        self.strong.load(Ordering::Relaxed)
    }

    /// Whether the caller's strong handle is the only one, so that writing the value
    /// in place is invisible to anyone else.
    #[inline(always)]
    pub(super) fn is_unique(&self) -> bool {
        // Acquire: pairs with the Release decrement of every handle dropped before,
        // so their reads of the value happen before any write this answer permits.
        // loom-mutant: writable-relaxed
        self.strong.load(Ordering::Acquire) == 1
    }

    /// The number of strong handles, as a linked child reads its parent's count to
    /// decide whether it may be written in place.
    #[inline(always)]
    pub(super) fn strong_count_for_write(&self) -> usize {
        // Acquire: a parent count of one must make the other parent holders'
        // accesses (released by their drops) happen before any write it allows.
        self.strong.load(Ordering::Acquire)
    }

    /// Whether the value still has a strong handle, at some moment during the call.
    #[inline]
    pub(super) fn is_live(&self) -> bool {
        // Relaxed: a yes/no about the count; nothing is read through the answer.
        self.strong.load(Ordering::Relaxed) != 0
    }

    /// Counts one more strong handle, made from one the caller holds.
    #[inline(always)]
    pub(super) fn add_strong(&self) {
        // Relaxed: a new handle is made from an existing one, which keeps the value
        // alive and has already seen it initialized; the increment publishes nothing.
        let old = self.strong.fetch_add(1, Ordering::Relaxed);
        if old > MAX_STRONG {
            abort();
        }
    }

    /// Counts one more strong handle, made from a weak one, unless the strong count
    /// is already zero: a value whose last strong handle went is not resurrected.
    #[inline]
    pub(super) fn try_upgrade(&self) -> bool {
        // Relaxed: a first guess for the compare-exchange, which decides.
        let mut count = self.strong.load(Ordering::Relaxed);
        loop {
            // loom-mutant: hierarchy-weak-parent-upgrades-from-zero
            if count == 0 {
                return false;
            }
            if count > MAX_STRONG {
                abort();
            }
            // Acquire on success: as std's `Weak::upgrade`, the new handle's reads of
            // the value come after everything published through the count's release
            // sequence. Relaxed on failure: we only retry.
            match self.strong.compare_exchange_weak(
                count,
                count + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => count = now,
            }
        }
    }

    /// Takes the strong count from one to zero, when the caller's handle is the only
    /// one: the caller may then move the value out. `false` changes nothing.
    #[inline]
    pub(super) fn try_take_unique(&self) -> bool {
        // Acquire on success, as for the last drop: the other handles' uses of the
        // value happen before we take it. Relaxed on failure: nothing is taken.
        self.strong
            .compare_exchange(1, 0, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Drops one strong handle; `true` when it was the last, and then every other
    /// handle's use of the value happens before the return.
    ///
    /// # Safety
    /// `this` is the header of a live allocation on which the caller holds a strong
    /// count, which this call releases.
    #[inline(always)]
    pub(super) unsafe fn release_strong(this: NonNull<Self>) -> bool {
        // SAFETY: the caller's strong count keeps the header until the decrement; only
        // the atomic field is borrowed.
        let strong = unsafe { &(*this.as_ptr()).strong };
        // Release: this handle's uses of the value happen before whoever drops it.
        // loom-mutant: drop-decrement-relaxed
        if strong.fetch_sub(1, Ordering::Release) != 1 {
            return false;
        }
        // Acquire: synchronizes with every other handle's Release decrement (one
        // release sequence on `strong`), so all their uses of the value happen
        // before it is dropped.
        // loom-mutant: drop-without-acquire
        let _ = strong.load(Ordering::Acquire);
        true
    }

    /// Drops the link that the strong handles hold together, once the last of them
    /// has gone and the value has been dropped or moved out; frees the allocation
    /// unless links or weak handles remain (then the last of them frees it).
    ///
    /// # Safety
    /// `this` is the header of a live allocation whose strong count is zero, the
    /// caller was its last strong handle, and the value is no longer there.
    #[inline]
    pub(super) unsafe fn release_strong_link(this: NonNull<Self>) {
        // SAFETY: the strong handles' link, which this call holds, keeps the header.
        let links = unsafe { &(*this.as_ptr()).links };
        // Acquire (load and exchange): a child's last access to the header is its
        // Release decrement of the link count; it must happen before the free. The
        // first load is the common case (no child ever linked): with no link but ours
        // and no strong handle left, no new link can appear, so no exchange is needed.
        // loom-mutant: last-strong-frees-despite-links
        if links.load(Ordering::Acquire) == 1 || links.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: we held the last count; the value is gone (caller's contract).
            unsafe { Self::free(this) };
        }
    }

    // ---------------------------------------------------------------------------
    // Links and weak handles.
    // ---------------------------------------------------------------------------

    /// Counts one more link, made through a strong or unique handle the caller
    /// borrows; `false` (nothing changed) when the count is full.
    #[inline]
    pub(super) fn try_add_link(&self) -> bool {
        // Count the link before anyone can see it, so the header stays allocated for
        // every reader of the pointer. Relaxed: the caller's borrow of a live handle
        // keeps the header alive now; the increment itself publishes nothing.
        // loom-mutant: link-without-counting
        let old = self.links.fetch_add(1, Ordering::Relaxed);
        if old > MAX_LINKS {
            // Relaxed: not the last count (the strong handles hold one).
            self.links.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Takes back a link counted by [`try_add_link`](Self::try_add_link) that was
    /// never published (its compare-exchange lost).
    #[inline]
    pub(super) fn undo_link(&self) {
        // Relaxed: not the last count (the strong handles hold one, kept alive by the
        // caller's borrow), and nothing was published.
        self.links.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts one more weak handle, made from a strong or weak handle the caller
    /// holds.
    #[inline]
    pub(super) fn add_weak(&self) {
        // Relaxed: the caller's handle keeps the allocation alive now; the increment
        // publishes nothing.
        let old = self.links.fetch_add(1, Ordering::Relaxed);
        if old > MAX_LINKS {
            abort();
        }
    }

    /// Drops one link or weak handle; frees the allocation if it was the last count
    /// (then the strong handles and their link are gone, and so is the value).
    ///
    /// # Safety
    /// `this` is the header of a live allocation on which the caller holds one link
    /// or weak count, which this call releases; the caller reads nothing through it
    /// afterwards.
    #[inline]
    pub(super) unsafe fn release_link(this: NonNull<Self>) {
        // SAFETY: the caller's count keeps the header until the decrement.
        let links = unsafe { &(*this.as_ptr()).links };
        // AcqRel: Release so our reads of the header happen before whoever frees it;
        // Acquire in case we free it, to see the value's last users (its drop).
        if links.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: we held the last count; with no strong handle and the strong
            // handles' link gone, the value was already dropped or moved out.
            unsafe { Self::free(this) };
        }
    }

    /// Frees the allocation with the function it was made with.
    ///
    /// # Safety
    /// The caller held the last count on a live allocation whose value is gone.
    #[inline]
    unsafe fn free(this: NonNull<Self>) {
        // SAFETY: the caller holds the last count, so the header is live and nothing
        // else reads it; `release` was set when the allocation was made, for its type.
        let release = unsafe { (*this.as_ptr()).release };
        // SAFETY: as above: the last count, the value gone.
        unsafe { release(this) };
    }

    /// Drops one strong handle unless it is the last one; `true` for the last one,
    /// whose count is then back to one and whose holder keeps the value: what a pool
    /// does to take a buffer back when its last consumer lets go.
    ///
    /// "Am I the last" is one decrement, as in `release_strong`: of any number of
    /// handles released at once, exactly one gets `true`. Between that decrement and
    /// the store that follows, the count reads zero; only a child's link reads it then
    /// (as a parent that is gone: not writable, a cautious answer), as no other handle
    /// exists and none can be made (the value has no weak handle).
    ///
    /// # Safety
    /// `this` is the header of a live allocation on which the caller holds a strong
    /// count (released on `false`), and the value has no weak handle.
    #[inline]
    pub(super) unsafe fn release_strong_unless_last(this: NonNull<Self>) -> bool {
        // SAFETY: the caller's strong count keeps the header until the decrement.
        let count = unsafe { &(*this.as_ptr()).strong };
        // Release: this handle's uses of the value happen before the last one's
        // Acquire, as in `release_strong`.
        // loom-mutant: buffer-pool-returned-twice-last-decided-load-before-decrement
        if count.fetch_sub(1, Ordering::Release) != 1 {
            return false;
        }
        // Acquire: synchronizes with every other handle's Release decrement, so their
        // uses of the value happen before whatever the caller does with it next.
        // loom-mutant: buffer-pool-last-release-takes-buffer-back-without-acquire
        let _ = count.load(Ordering::Acquire);
        // Relaxed: no other handle exists to read it; the caller publishes the
        // handle (to another thread) with its own Release.
        count.store(1, Ordering::Relaxed);
        true
    }

    /// The counts `(strong, links)`, for tests.
    #[cfg(test)]
    pub(super) fn counts(&self) -> (usize, usize) {
        // Relaxed: single-threaded tests.
        (
            self.strong.load(Ordering::Relaxed),
            self.links.load(Ordering::Relaxed),
        )
    }

    /// Sets the counts as if that many handles or links existed, for tests of the
    /// limits; `None` leaves a count as it is.
    #[cfg(test)]
    pub(super) fn force_counts(&self, strong: Option<usize>, links: Option<usize>) {
        // Relaxed: single-threaded tests.
        if let Some(strong) = strong {
            self.strong.store(strong, Ordering::Relaxed);
        }
        if let Some(links) = links {
            self.links.store(links, Ordering::Relaxed);
        }
    }
}

/// The allocation: the header first (so a `*Header` is a `*Inner<T>`), then the value.
#[repr(C)]
struct Inner<T> {
    header: Header,
    /// Dropped by hand when the strong count reaches zero; the allocation itself may
    /// outlive it while links or weak handles remain.
    value: ManuallyDrop<T>,
}

/// # Safety
/// `header` points to the header of a live `Inner<T>` allocation made by
/// `Alloc::<T>::new`, whose value has already been dropped or moved out, and the
/// caller holds the last count (strong or link) on it.
unsafe fn release_allocation<T>(header: NonNull<Header>) {
    // SAFETY: `Inner<T>` is `repr(C)` with the header first, so the header pointer is
    // the allocation's pointer; it came from `Box::into_raw` in `Alloc::new`, and the
    // caller holds the last count, so nothing else can reach it. The value is in a
    // `ManuallyDrop`, so this frees the memory without dropping the value again.
    drop(unsafe { Box::from_raw(header.cast::<Inner<T>>().as_ptr()) });
}

/// The address of one allocation. It owns nothing by itself: the handle or link
/// that holds it says which count it holds, and every method's contract is that the
/// caller holds one.
pub(super) struct Alloc<T> {
    ptr: NonNull<Inner<T>>,
}

impl<T> Clone for Alloc<T> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Alloc<T> {}

impl<T> PartialEq for Alloc<T> {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }
}

impl<T> Alloc<T> {
    /// Puts `value` in a new allocation with one strong count (which the caller now
    /// holds) and the strong handles' link.
    #[inline]
    pub(super) fn new(value: T) -> Self {
        let inner = Box::new(Inner {
            header: Header {
                strong: AtomicUsize::new(1),
                // The link that the strong handles hold together.
                links: AtomicUsize::new(1),
                release: release_allocation::<T>,
                _track: AllocTrack::new(),
            },
            value: ManuallyDrop::new(value),
        });
        Self {
            ptr: NonNull::from(Box::leak(inner)),
        }
    }

    /// The header.
    ///
    /// # Safety
    /// The caller holds a count on the allocation for as long as it uses the result.
    #[inline(always)]
    pub(super) unsafe fn header<'a>(self) -> &'a Header {
        // SAFETY: the caller's count keeps the allocation live; only the header is
        // borrowed, so this never overlaps a `&mut T` handed out for the value.
        unsafe { &(*self.ptr.as_ptr()).header }
    }

    /// The header's address, for links and the count operations that may free.
    #[inline(always)]
    pub(super) fn header_ptr(self) -> NonNull<Header> {
        self.ptr.cast()
    }

    /// The value's address, computed without reading it or making a reference (the
    /// value may be gone; the address stays this allocation's while a count is held,
    /// so no other value can have it meanwhile).
    #[inline(always)]
    pub(super) fn value_ptr(self) -> *mut T {
        // `ManuallyDrop<T>` is `repr(transparent)`: its address is the value's.
        // `wrapping_byte_add` computes the field's address without a dereference, so
        // this needs no live allocation.
        self.ptr
            .as_ptr()
            .wrapping_byte_add(core::mem::offset_of!(Inner<T>, value))
            .cast::<T>()
    }

    /// Drops the value and lets go of the allocation, after the last strong handle
    /// went.
    ///
    /// Takes the pointer by value, not a handle by `&mut`: taking the handle's address
    /// would make the caller spill it to the stack between the two locked instructions
    /// of a clone/drop pair, and the locked decrement would wait for that store.
    ///
    /// Not `#[cold]`: every value's last drop comes here, and a cycle of copying and
    /// dropping (a buffer written, used, released) runs it every time.
    ///
    /// # Safety
    /// The caller's `release_strong` took the strong count from one to zero.
    #[inline(never)]
    pub(super) unsafe fn drop_slow(self) {
        // SAFETY: the strong count went to zero with the caller's decrement: the value
        // is ours alone, and it is dropped exactly once.
        unsafe { ManuallyDrop::drop(&mut (*self.ptr.as_ptr()).value) };
        // SAFETY: strong count zero, we were the last handle, the value is dropped.
        unsafe { Header::release_strong_link(self.header_ptr()) };
    }

    /// Moves the value out and lets go of the allocation.
    ///
    /// # Safety
    /// The caller's `try_take_unique` took the strong count from one to zero.
    pub(super) unsafe fn take_value(self) -> T {
        // SAFETY: the strong count is now zero and was ours: nobody else can reach the
        // value, and it is read exactly once.
        let value = unsafe { ManuallyDrop::take(&mut (*self.ptr.as_ptr()).value) };
        // SAFETY: the value was moved out; the strong handles' link goes now.
        unsafe { Header::release_strong_link(self.header_ptr()) };
        value
    }
}
