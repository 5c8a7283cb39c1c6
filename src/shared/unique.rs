//! [`UniqueShared<T>`]: the only handle to a value, for values being built or
//! written (triomphe's `UniqueArc`).

use core::fmt;
use core::ops::{Deref, DerefMut};

use super::{CowShared, ParentRef};

/// The only handle to a value in a shared allocation: writable through `DerefMut`
/// with no check, since no other handle exists and none can be made from it until
/// [`shareable`](Self::shareable) turns it into a [`CowShared`] (triomphe's
/// `UniqueArc`).
///
/// For a value being built ([`Buffer::from_memories`](crate::buffer::Buffer), a pool's
/// buffer), or one just made unique ([`CowShared::make_unique`], or
/// [`CowShared::get_unique`], which view a `&mut CowShared<T>` as a
/// `&mut UniqueShared<T>`): the code that writes it needs no second count check.
#[repr(transparent)]
pub(crate) struct UniqueShared<T> {
    /// Invariant: its strong count is one (this handle), and the value has no weak
    /// handle, so nothing can raise it.
    shared: CowShared<T>,
}

impl<T> UniqueShared<T> {
    /// Puts `value` in a new allocation, as its only handle.
    #[inline]
    pub(crate) fn new(value: T) -> Self {
        Self {
            shared: CowShared::new(value),
        }
    }

    /// `shared`, which the caller knows to be the only handle.
    ///
    /// # Safety
    /// `shared` is the only strong handle to its value; the value has no weak handle.
    #[inline(always)]
    pub(super) unsafe fn from_unique(shared: CowShared<T>) -> Self {
        Self { shared }
    }

    /// `shared`, viewed as a unique handle while it is borrowed.
    ///
    /// # Safety
    /// `shared` is the only strong handle to its value (checked with `Acquire`), and
    /// the value has no weak handle.
    #[inline(always)]
    pub(super) unsafe fn from_mut_unchecked(shared: &mut CowShared<T>) -> &mut Self {
        // SAFETY: `UniqueShared<T>` is a `repr(transparent)` wrapper of `CowShared<T>`,
        // so the layouts match; the caller vouches for the invariant, which holds for
        // as long as `shared` is mutably borrowed (a second handle could only be
        // cloned from it).
        unsafe { &mut *core::ptr::from_mut(shared).cast::<Self>() }
    }

    /// The handle, shared from now on: clones may follow (triomphe's
    /// `UniqueArc::shareable`).
    #[inline(always)]
    pub(crate) fn shareable(this: Self) -> CowShared<T> {
        this.shared
    }

    /// The value, writable, and a token that links children to it while it is in use
    /// (as [`CowShared::get_writable_as_parent`] gives for a shared handle).
    #[inline]
    pub(crate) fn as_parent(this: &mut Self) -> (&mut T, ParentRef<'_>) {
        // The token names the header, the `&mut T` the value: disjoint parts of the
        // allocation, both borrowed from `this` for the same lifetime.
        // SAFETY: `this` (a strong handle) stays borrowed for the token's lifetime.
        let parent = unsafe { ParentRef::of(this.shared.alloc().header_ptr()) };
        (&mut **this, parent)
    }
}

impl<T> Deref for UniqueShared<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        &self.shared
    }
}

impl<T> DerefMut for UniqueShared<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this is the only handle (the type's invariant).
        unsafe { self.shared.value_mut_unchecked() }
    }
}

impl<T: fmt::Debug> fmt::Debug for UniqueShared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
