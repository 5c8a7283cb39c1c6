//! The normal build's `UnsafeCell`: `core::cell::UnsafeCell` behind loom's
//! closure-based API, so that code written for one build compiles for the other.

/// `core::cell::UnsafeCell` behind loom's closure-based API.
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a mutable pointer to the value.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// A mutable pointer to the cell's value that a guard can keep (under loom the
/// access is tracked for as long as it lives).
#[inline(always)]
pub(crate) fn get_mut_ptr<T>(cell: &UnsafeCell<T>) -> CellMutPtr<T> {
    CellMutPtr(cell.0.get())
}

/// A raw pointer into an [`UnsafeCell`], kept by a guard.
#[derive(Debug)]
pub(crate) struct CellMutPtr<T: ?Sized>(*mut T);

impl<T: ?Sized> CellMutPtr<T> {
    /// # Safety
    /// The cell is live and the caller has exclusive access to its value for `'a`.
    #[inline(always)]
    pub(crate) unsafe fn get<'a>(&self) -> &'a mut T {
        // SAFETY: the caller's contract.
        unsafe { &mut *self.0 }
    }
}
