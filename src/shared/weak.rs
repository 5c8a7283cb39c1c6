//! [`StrongShared<T>`] and [`WeakShared<T>`]: the handles of a shared value that weak
//! handles may reach, for the object model's parent pointers.
//!
//! A weak handle can [`upgrade`](WeakShared::upgrade) at any moment, raising the
//! strong count from one to two behind the back of whoever holds the first handle.
//! So a value that weak handles may reach is held by its own strong type, which has
//! no `get_mut`, `get_writable` or `is_writable`: no code can decide to write on the
//! strength of a count of one that an upgrade may raise. [`CowShared`], which has
//! those, has no `downgrade`.
//!
//! [`CowShared`]: super::CowShared

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;

use super::header::{Alloc, Header};

/// A strong handle to a value that weak handles may reach: `Arc` without `get_mut`.
/// Read-only: the value is shared, whatever the count says.
pub(crate) struct StrongShared<T> {
    alloc: Alloc<T>,
    /// This handle owns a share of a `T` (and may drop it).
    _owns: PhantomData<T>,
}

// SAFETY: as for `CowShared`: a handle gives `&T` to whichever thread holds it (needs
// `T: Sync`), and the last handle, on whichever thread, drops `T` (needs `T: Send`).
unsafe impl<T: Send + Sync> Send for StrongShared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for StrongShared<T> {}

impl<T> StrongShared<T> {
    /// Puts `value` in a new allocation with a count of one.
    #[inline]
    pub(crate) fn new(value: T) -> Self {
        Self {
            alloc: Alloc::new(value),
            _owns: PhantomData,
        }
    }

    #[inline(always)]
    fn header(&self) -> &Header {
        // SAFETY: this handle holds a strong count for as long as it is borrowed.
        unsafe { self.alloc.header() }
    }

    /// The number of strong handles; a snapshot, for reporting.
    #[inline]
    pub(crate) fn ref_count(this: &Self) -> usize {
        this.header().strong_count()
    }

    /// A raw pointer to the value, for identity; valid while a handle lives.
    #[inline]
    pub(crate) fn as_ptr(this: &Self) -> *const T {
        this.alloc.value_ptr()
    }

    /// Whether two handles share one allocation.
    #[inline]
    pub(crate) fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.alloc == b.alloc
    }

    /// A weak handle: counted in the link word, so it keeps the allocation (never the
    /// value) and can [`upgrade`](WeakShared::upgrade) while strong handles remain.
    pub(crate) fn downgrade(this: &Self) -> WeakShared<T> {
        this.header().add_weak();
        WeakShared { alloc: this.alloc }
    }
}

impl<T> Clone for StrongShared<T> {
    #[inline]
    fn clone(&self) -> Self {
        self.header().add_strong();
        Self {
            alloc: self.alloc,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for StrongShared<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this handle holds a strong count, released here.
        if unsafe { Header::release_strong(self.alloc.header_ptr()) } {
            // SAFETY: the strong count went from one to zero with our decrement.
            unsafe { self.alloc.drop_slow() }
        }
    }
}

impl<T> Deref for StrongShared<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: the allocation and the value live while this handle does, and no
        // `&mut T` is ever made from this type.
        unsafe { &*self.alloc.value_ptr() }
    }
}

impl<T> fmt::Debug for StrongShared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrongShared")
            .field("ref_count", &Self::ref_count(self))
            .finish_non_exhaustive()
    }
}

/// A weak handle to a [`StrongShared`] value: one count in the link word, like a
/// `ParentLink`, so the strong handles' last drop leaves the allocation to it; the
/// value goes with the last strong handle as usual.
pub(crate) struct WeakShared<T> {
    alloc: Alloc<T>,
}

// SAFETY: a weak handle reads only the atomic counts, and upgrades into a handle that
// is `Send + Sync` under the same bounds as `StrongShared<T>`.
unsafe impl<T: Send + Sync> Send for WeakShared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for WeakShared<T> {}

impl<T> WeakShared<T> {
    fn header(&self) -> &Header {
        // SAFETY: our weak count keeps the header allocated (the value may be gone;
        // only the header is borrowed).
        unsafe { self.alloc.header() }
    }

    /// Whether the value still has a strong handle (what [`upgrade`](Self::upgrade)
    /// would succeed on), at some moment during the call, without taking one: for a
    /// caller that holds locks and must not hold a handle it could be the last of.
    pub(crate) fn is_live(&self) -> bool {
        self.header().is_live()
    }

    /// A strong handle, unless the value is already gone.
    pub(crate) fn upgrade(&self) -> Option<StrongShared<T>> {
        // `then`, not `then_some`: the handle is made only when the count was raised
        // (an unneeded one would release a count it never held).
        self.header().try_upgrade().then(|| StrongShared {
            alloc: self.alloc,
            _owns: PhantomData,
        })
    }

    /// Whether this weak handle is to the value at `value` (which may be being
    /// dropped: this compares addresses only).
    pub(crate) fn points_to(&self, value: *const T) -> bool {
        self.value_ptr() == value
    }

    /// The address of the value this weak handle is to (alive or not: the handle
    /// keeps the allocation, so no other value can have the address meanwhile).
    pub(crate) fn value_ptr(&self) -> *const T {
        self.alloc.value_ptr()
    }

    /// Whether this weak handle and `strong` name the same allocation.
    pub(crate) fn is(&self, strong: &StrongShared<T>) -> bool {
        self.alloc == strong.alloc
    }
}

impl<T> Clone for WeakShared<T> {
    fn clone(&self) -> Self {
        self.header().add_weak();
        Self { alloc: self.alloc }
    }
}

impl<T> Drop for WeakShared<T> {
    fn drop(&mut self) {
        // SAFETY: this handle holds a weak count, released here; nothing is read
        // through it afterwards.
        unsafe { Header::release_link(self.alloc.header_ptr()) };
    }
}

impl<T> fmt::Debug for WeakShared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(WeakShared)")
    }
}

/// The weak handle's boundary and identity tests, kept with the crate's other
/// internal tests.
#[cfg(test)]
#[path = "../internal_tests/weak.rs"]
mod internal_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weak_handle_keeps_the_header_not_the_value_and_never_resurrects_it() {
        let strong = StrongShared::new(String::from("parent"));
        let weak = StrongShared::downgrade(&strong);
        assert_eq!(strong.header().counts(), (1, 2));
        let again = weak.upgrade().expect("a strong handle remains");
        assert!(StrongShared::ptr_eq(&strong, &again) && weak.is(&again));
        drop((strong, again)); // the String goes; Miri's leak check sees the rest
        assert!(!weak.is_live());
        assert!(weak.upgrade().is_none(), "never from zero");
        assert_eq!(
            weak.header().counts(),
            (0, 1),
            "a refused upgrade counts nothing"
        );
        let other = weak.clone();
        drop(weak);
        drop(other); // the last count frees the header
    }
}
