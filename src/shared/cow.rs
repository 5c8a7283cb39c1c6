//! [`CowShared<T>`]: a refcounted shared value with copy-on-write, GStreamer's
//! `GstMiniObject` refcount and `make_writable` as a Rust handle.
//!
//! Its counts live in the allocation's header ([`header`](super::header)), which
//! alone touches them. A handle that is known to be the only one is a
//! [`UniqueShared`]: [`CowShared::make_unique`] gives one by `&mut`, so code that
//! writes a value it just made unique needs no second check.

use core::borrow::Borrow;
use core::cmp::Ordering as CmpOrdering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::Deref;

use super::header::{Alloc, Header};
use super::UniqueShared;

/// A refcounted shared value whose writes copy only when it is shared: GStreamer's
/// `GstMiniObject` refcount with `gst_mini_object_make_writable`, as a Rust handle.
///
/// GStreamer code writes `buf = gst_buffer_make_writable (buf)` and trusts every
/// caller to do so before touching the buffer; forgetting it is a `g_critical` at run
/// time at best. Here the only way to a `&mut T` goes through
/// [`get_writable`](Self::get_writable), [`make_writable`](Self::make_writable) or
/// [`get_mut`](Self::get_mut), which check the count themselves, so writing a value
/// that another holder can see does not compile.
///
/// ```
/// use mtsafe::CowShared;
///
/// let mut a = CowShared::new(vec![1, 2, 3]);
/// let b = a.clone(); // one atomic increment, no copy
/// assert!(!CowShared::is_writable(&a));
///
/// CowShared::get_writable(&mut a).push(4); // shared: `a` gets its own copy
/// assert_eq!(*a, [1, 2, 3, 4]);
/// assert_eq!(*b, [1, 2, 3]); // the other holder never sees the write
///
/// CowShared::get_writable(&mut a).push(5); // now unique: in place, no copy
/// assert_eq!(CowShared::ref_count(&b), 1);
/// ```
///
/// All operations are associated functions (`CowShared::ref_count(&h)`, not
/// `h.ref_count()`), like `Arc`'s, so they never shadow the methods of `T`.
///
/// Unlike `Arc` there is no weak handle: nothing can upgrade to a handle behind
/// `get_writable`'s back. The header holds the handle count and a count of the
/// children that record this value as their parent through
/// [`ParentLink`](crate::ParentLink); `clone` and `drop` touch only the first (they
/// compile to the same `lock inc` / `lock dec` as triomphe's `Arc`), and only the last
/// drop reads the second, once.
///
/// # Thread safety
///
/// `CowShared<T>` is `Send` and `Sync` exactly when `T` is `Send + Sync`: a handle
/// sent to another thread shares `&T` with this one (so `T: Sync`), and may be the
/// last one and drop `T` there (so `T: Send`).
///
/// ```
/// fn assert_send_sync<X: Send + Sync>() {}
/// assert_send_sync::<mtsafe::CowShared<Vec<u8>>>();
/// ```
///
/// A `Cell` may move between threads but not be shared by them, so a handle to one
/// is neither `Send` nor `Sync`:
///
/// ```compile_fail
/// fn assert_send<X: Send>() {}
/// assert_send::<mtsafe::CowShared<std::cell::Cell<u8>>>();
/// ```
///
/// ```compile_fail
/// fn assert_sync<X: Sync>() {}
/// assert_sync::<mtsafe::CowShared<std::cell::Cell<u8>>>();
/// ```
///
/// A value that may be shared but must be dropped on the thread that made it (a lock
/// guard, say) gives a handle that is not `Send`, since the last handle drops it:
///
/// ```compile_fail
/// struct Guard(*const u8); // not Send...
/// unsafe impl Sync for Guard {} // ...but Sync
/// fn assert_send<X: Send>() {}
/// assert_send::<mtsafe::CowShared<Guard>>();
/// ```
///
/// # Overflow
///
/// Like `Arc`, cloning past `isize::MAX` handles aborts the process rather than wrap
/// the count.
#[doc(alias = "GstMiniObject")]
pub struct CowShared<T> {
    alloc: Alloc<T>,
    /// This handle owns a share of a `T` (and may drop it).
    _owns: PhantomData<T>,
}

// SAFETY: a handle gives `&T` to whichever thread holds it (needs `T: Sync`), and the
// last handle, on whichever thread, drops `T` (needs `T: Send`). The count is atomic.
unsafe impl<T: Send + Sync> Send for CowShared<T> {}
// SAFETY: `&CowShared<T>` gives `&T` and can be cloned into a handle on another thread,
// so the same two bounds apply.
unsafe impl<T: Send + Sync> Sync for CowShared<T> {}

impl<T> CowShared<T> {
    /// Puts `value` in a new allocation with a count of one.
    #[inline]
    pub fn new(value: T) -> Self {
        Self {
            alloc: Alloc::new(value),
            _owns: PhantomData,
        }
    }

    #[inline(always)]
    pub(super) fn header(&self) -> &Header {
        // SAFETY: this handle holds a strong count for as long as it is borrowed.
        unsafe { self.alloc.header() }
    }

    #[inline(always)]
    pub(super) fn alloc(&self) -> Alloc<T> {
        self.alloc
    }

    /// # Safety
    /// The caller has checked that this is the only handle (`Header::is_unique`).
    #[inline(always)]
    pub(super) unsafe fn value_mut_unchecked(&mut self) -> &mut T {
        // SAFETY: the allocation is live (we hold a strong count) and, by the caller's
        // check, no other handle exists; new ones can only be cloned from this one,
        // which is mutably borrowed for the lifetime of the result.
        unsafe { &mut *self.alloc.value_ptr() }
    }

    /// The number of handles to this value.
    ///
    /// A snapshot: other threads may clone or drop handles at any time, so use it for
    /// diagnostics and tests, and [`is_writable`](Self::is_writable) for decisions.
    #[inline]
    #[doc(alias = "GST_MINI_OBJECT_REFCOUNT_VALUE")]
    #[must_use]
    pub fn ref_count(this: &Self) -> usize {
        this.header().strong_count()
    }

    /// Whether this handle is the only one, so that writing in place is invisible to
    /// anyone else (`gst_mini_object_is_writable` for a value without parent).
    ///
    /// `true` stays true while this handle is borrowed: a second handle can only be
    /// cloned from this one. `false` may become true at any moment as other threads
    /// drop theirs.
    #[inline]
    #[doc(alias = "gst_mini_object_is_writable")]
    #[must_use]
    pub fn is_writable(this: &Self) -> bool {
        this.header().is_unique()
    }

    /// Whether two handles share one allocation.
    #[inline]
    #[must_use]
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.alloc == b.alloc
    }

    /// A raw pointer to the value, for identity and diagnostics; valid while a handle
    /// lives.
    #[inline]
    #[must_use]
    pub fn as_ptr(this: &Self) -> *const T {
        this.alloc.value_ptr()
    }

    /// `&mut T` when this is the only handle, `None` otherwise. Never copies.
    #[inline]
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        Self::get_unique(this).map(|unique| &mut **unique)
    }

    /// This handle as a [`UniqueShared`] when it is the only one (triomphe's
    /// `Arc::get_unique`), `None` otherwise. Never copies.
    #[inline]
    pub(crate) fn get_unique(this: &mut Self) -> Option<&mut UniqueShared<T>> {
        if Self::is_writable(this) {
            // SAFETY: `is_writable` just saw this as the only handle.
            Some(unsafe { UniqueShared::from_mut_unchecked(this) })
        } else {
            None
        }
    }

    /// This handle as a [`UniqueShared`], after replacing it by `copy(&value)` if the
    /// value is shared (which releases this handle's reference to the original; the
    /// other holders keep it unchanged). If `copy` panics, nothing changed.
    #[inline]
    pub(crate) fn make_unique_with(
        this: &mut Self,
        copy: impl FnOnce(&T) -> UniqueShared<T>,
    ) -> &mut UniqueShared<T> {
        // loom-mutant: get-writable-skips-copy
        if !Self::is_writable(this) {
            // Assigning drops the old handle: the reference to the original goes.
            *this = UniqueShared::shareable(copy(&**this));
        }
        // SAFETY: either `is_writable` saw this as the only handle, or the assignment
        // just put in a fresh allocation that only this handle knows.
        unsafe { UniqueShared::from_mut_unchecked(this) }
    }

    /// Takes the value out when this is the only handle; gives the handle back
    /// otherwise.
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        if !this.header().try_take_unique() {
            return Err(this);
        }
        let this = ManuallyDrop::new(this);
        // SAFETY: `try_take_unique` took the count from one to zero, and the handle is
        // not dropped: the value is moved out once.
        Ok(unsafe { this.alloc.take_value() })
    }

    /// Drops this handle unless it is the last one; the last one is given back, still
    /// holding the value, instead of dropping it, and known to be the only one. What a
    /// pool does to take a buffer back when its last consumer lets go
    /// (`GstBufferPool`'s release from dispose).
    ///
    /// Of any number of handles released at once, exactly one gets `Some`
    /// (`Header::release_strong_unless_last`).
    pub(crate) fn drop_unless_last(this: Self) -> Option<UniqueShared<T>> {
        let this = ManuallyDrop::new(this);
        // SAFETY: this handle holds a strong count, released here unless it is the
        // last; a `CowShared` value has no weak handle.
        if unsafe { Header::release_strong_unless_last(this.alloc.header_ptr()) } {
            // SAFETY: the count is back to one, held by this handle, the only one.
            Some(unsafe { UniqueShared::from_unique(ManuallyDrop::into_inner(this)) })
        } else {
            None
        }
    }
}

impl<T: Clone> CowShared<T> {
    /// `&mut T`, copying first if the value is shared: `gst_mini_object_make_writable`
    /// on a handle.
    ///
    /// When this is the only handle, returns the value in place (one atomic load).
    /// Otherwise clones the value into a new allocation, puts it in this handle and
    /// releases this handle's reference to the original, which the other holders keep
    /// unchanged.
    #[inline]
    #[doc(alias = "make_mut")]
    #[doc(alias = "gst_mini_object_make_writable")]
    pub fn get_writable(this: &mut Self) -> &mut T {
        Self::make_unique(this)
    }

    /// This handle as a [`UniqueShared`], copying first if the value is shared
    /// (triomphe's `Arc::make_unique`).
    #[inline]
    pub(crate) fn make_unique(this: &mut Self) -> &mut UniqueShared<T> {
        Self::make_unique_with(this, |value| UniqueShared::new(T::clone(value)))
    }

    /// Consumes a handle and returns one that is writable: the same one when it was
    /// the only handle, a copy otherwise (GStreamer's
    /// `obj = gst_mini_object_make_writable (obj)`; the caller's reference to a shared
    /// original is released).
    ///
    /// ```
    /// use mtsafe::CowShared;
    ///
    /// let a = CowShared::new(String::from("caps"));
    /// let keep = a.clone();
    /// let b = CowShared::make_writable(a);
    /// assert!(!CowShared::ptr_eq(&b, &keep));
    /// assert_eq!(CowShared::ref_count(&keep), 1);
    /// assert!(CowShared::is_writable(&b));
    /// ```
    #[inline]
    #[must_use = "make_writable consumes the handle and returns the writable one"]
    #[doc(alias = "gst_mini_object_make_writable")]
    pub fn make_writable(mut this: Self) -> Self {
        Self::make_unique(&mut this);
        this
    }

    /// The value: moved out when this is the only handle, cloned otherwise.
    #[inline]
    #[must_use]
    pub fn unwrap_or_clone(this: Self) -> T {
        Self::try_unwrap(this).unwrap_or_else(|shared| T::clone(&shared))
    }
}

impl<T> Clone for CowShared<T> {
    /// Another handle to the same value: one atomic increment.
    #[inline]
    fn clone(&self) -> Self {
        self.header().add_strong();
        Self {
            alloc: self.alloc,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for CowShared<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this handle holds a strong count, released here.
        if unsafe { Header::release_strong(self.alloc.header_ptr()) } {
            // SAFETY: the strong count went from one to zero with our decrement.
            unsafe { self.alloc.drop_slow() }
        }
    }
}

impl<T> Deref for CowShared<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: the allocation and the value live while this handle does; nobody
        // holds a `&mut T` while a second handle (this one) exists.
        unsafe { &*self.alloc.value_ptr() }
    }
}

impl<T> AsRef<T> for CowShared<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T> Borrow<T> for CowShared<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: Default> Default for CowShared<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for CowShared<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for CowShared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for CowShared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T> fmt::Pointer for CowShared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Self::as_ptr(self), f)
    }
}

impl<T: PartialEq> PartialEq for CowShared<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for CowShared<T> {}

impl<T: PartialOrd> PartialOrd for CowShared<T> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: Ord> Ord for CowShared<T> {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (**self).cmp(&**other)
    }
}

impl<T: Hash> Hash for CowShared<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

// `CowShared` never pins or moves the value out from under a handle.
impl<T> Unpin for CowShared<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::header::MAX_STRONG;
    use core::mem;

    #[test]
    fn a_handle_is_one_pointer_and_a_fresh_value_counts_one_of_each() {
        assert_eq!(mem::size_of::<CowShared<u64>>(), mem::size_of::<usize>());
        assert_eq!(
            mem::size_of::<Option<CowShared<u64>>>(),
            mem::size_of::<usize>()
        );
        let a = CowShared::new(5u8);
        assert_eq!(a.header().counts(), (1, 1));
        let b = a.clone();
        assert_eq!(a.header().counts(), (2, 1));
        drop(b);
        assert_eq!(a.header().counts(), (1, 1));
    }

    #[test]
    fn a_unique_handle_is_the_same_allocation_with_one_count() {
        let mut a = CowShared::new(String::from("x"));
        let before = CowShared::as_ptr(&a);
        CowShared::make_unique(&mut a).push('y');
        assert_eq!(CowShared::as_ptr(&a), before, "unique already: in place");
        let b = a.clone();
        assert!(CowShared::get_unique(&mut a).is_none());
        CowShared::make_unique(&mut a).push('z');
        assert!(!CowShared::ptr_eq(&a, &b), "shared: copied");
        assert_eq!((&**a, &**b), ("xyz", "xy"));
        assert_eq!(a.header().counts(), (1, 1));
        let unique = UniqueShared::new(7u8);
        let shared = UniqueShared::shareable(unique);
        assert_eq!(shared.header().counts(), (1, 1));
    }

    #[test]
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "spawns a process")]
    fn clone_past_the_maximum_count_aborts() {
        use std::os::unix::process::ExitStatusExt;
        const CHILD: &str = "MTSAFE_TEST_OVERFLOW_CHILD";
        if std::env::var_os(CHILD).is_some() {
            let a = CowShared::new(0u8);
            // One below the limit still clones...
            a.header().force_counts(Some(MAX_STRONG), None);
            mem::forget(a.clone());
            eprintln!("clone at the limit survived");
            // ...and past it the process aborts.
            mem::forget(a.clone());
            std::process::exit(0);
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "shared::cow::tests::clone_past_the_maximum_count_aborts",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("clone at the limit survived"), "{stderr}");
        assert_eq!(out.status.signal(), Some(6), "expected SIGABRT: {out:?}");
    }
}
