//! [`CowShared<T>`]: a refcounted shared value with copy-on-write, GStreamer's
//! `GstMiniObject` refcount and `make_writable` as a Rust handle.
//!
//! # The header
//!
//! Each allocation starts with two counts, then the value:
//!
//! | word     | counts                                                                |
//! |----------|-----------------------------------------------------------------------|
//! | `strong` | live `CowShared` handles                                              |
//! | `links`  | [`ParentLink`]s that name this value as their parent, plus one held collectively by the strong handles while `strong > 0` |
//!
//! | `strong` | `links` | meaning                                                       |
//! |----------|---------|---------------------------------------------------------------|
//! | 1        | 1       | a fresh value: one handle, no child linked                    |
//! | `S > 0`  | `1 + L` | `S` handles, `L` children linked                              |
//! | 0        | `L > 0` | the value is dropped or moved out; `L` children still link here, and the allocation (the header; the value is gone) stays until the last of them unlinks |
//!
//! The link count is what lets a child read its parent's count without ever reading
//! freed memory, and it keeps the allocation, never the value, so a child cannot keep
//! its parent alive. `clone` and `drop` never touch it (they compile to the same
//! `lock inc` / `lock dec` as triomphe's `Arc`), and only the last drop reads it,
//! once. Inside the crate it also counts weak handles ([`WeakShared`]), which the
//! object model uses for parent pointers; the public `CowShared` API has none, so
//! no handle can appear from nowhere while `get_writable` trusts a count of one.
//!
//! # Orderings
//!
//! The argument is the one `Arc` and triomphe make for their counts:
//! - `clone` increments with `Relaxed`: a new handle is made from an existing one,
//!   which already keeps the value alive, and an increment publishes nothing.
//! - `drop` decrements with `Release`, so each handle's last use of the value happens
//!   before the decrement; the handle that takes the strong count to zero then loads
//!   with `Acquire`, which synchronizes with all those releases (they form one release
//!   sequence on `strong`) before it drops the value. An `Acquire` load rather than a
//!   fence, so ThreadSanitizer and loom both understand it.
//! - A link is only added through a borrowed strong handle, so the handle's
//!   `Release` drop orders the link's increment before the last handle's `Acquire`,
//!   which therefore sees every link when it decides whether it may free.
//! - Writability (`is_writable`, `get_mut`, `get_writable`) loads with `Acquire`: a
//!   count of one proves the other handles are gone, and the `Acquire` makes their
//!   reads of the value happen before the write that follows.
//!
//! [`ParentLink`]: crate::ParentLink

use core::borrow::Borrow;
use core::cmp::Ordering as CmpOrdering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use core::ptr::NonNull;

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{abort, AllocTrack};

/// Past this many handles `clone` aborts: half the range, so that the threads racing
/// past the check before the abort cannot wrap the count.
const MAX_STRONG: usize = isize::MAX as usize;
/// Past this many links `link` is refused, for the same reason.
pub(crate) const MAX_LINKS: usize = isize::MAX as usize;

/// The part of every allocation that a child may read: the two counts.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Header {
    pub(crate) strong: AtomicUsize,
    pub(crate) links: AtomicUsize,
    /// Zero-sized; under loom a leaked or twice-freed allocation fails the model.
    _track: AllocTrack,
}

/// The allocation: the header first (so a `*Header` is a `*Inner<T>`), then the value.
#[repr(C)]
struct Inner<T> {
    header: Header,
    /// Dropped by hand when the strong count reaches zero; the allocation itself may
    /// outlive it while children link here.
    value: ManuallyDrop<T>,
}

/// Frees the allocation of a `CowShared<T>` whose value was already dropped.
pub(crate) type ReleaseFn = unsafe fn(NonNull<Header>);

/// # Safety
/// `header` points to the header of a live `Inner<T>` allocation made by
/// `CowShared::<T>::new`, whose value has already been dropped or moved out, and the
/// caller holds the last count (strong or link) on it.
unsafe fn release_allocation<T>(header: NonNull<Header>) {
    // SAFETY: `Inner<T>` is `repr(C)` with the header first, so the header pointer is
    // the allocation's pointer; it came from `Box::into_raw` in `CowShared::new`, and the
    // caller holds the last count, so nothing else can reach it. The value is in a
    // `ManuallyDrop`, so this frees the memory without dropping the value again.
    drop(unsafe { Box::from_raw(header.cast::<Inner<T>>().as_ptr()) });
}

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
/// Unlike `Arc` there is no public weak handle: nothing can upgrade to a handle
/// behind `get_writable`'s back. The header
/// holds the handle count and a count of the children that record this value as
/// their parent through [`ParentLink`](crate::ParentLink); `clone` and `drop` touch
/// only the first.
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
    ptr: NonNull<Inner<T>>,
    /// This handle owns a share of an `Inner<T>` (and may drop the `T`).
    _owns: PhantomData<Inner<T>>,
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
        let inner = Box::new(Inner {
            header: Header {
                strong: AtomicUsize::new(1),
                // The link that the strong handles hold together.
                links: AtomicUsize::new(1),
                _track: AllocTrack::new(),
            },
            value: ManuallyDrop::new(value),
        });
        Self {
            ptr: NonNull::from(Box::leak(inner)),
            _owns: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: this handle holds a strong count, so the allocation is live; only the
        // header field is borrowed, so this never overlaps a `&mut T` handed out by
        // `get_mut` on another (necessarily this) handle.
        unsafe { &(*self.ptr.as_ptr()).header }
    }

    #[inline(always)]
    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.ptr.cast()
    }

    /// # Safety
    /// The caller has checked that this is the only handle (`is_unique`).
    #[inline(always)]
    unsafe fn value_mut_unchecked(&mut self) -> &mut T {
        // SAFETY: the allocation is live (we hold a strong count) and, by the caller's
        // check, no other handle exists; new ones can only be cloned from this one,
        // which is mutably borrowed for the lifetime of the result.
        unsafe { &mut (*self.ptr.as_ptr()).value }
    }

    /// The number of handles to this value.
    ///
    /// A snapshot: other threads may clone or drop handles at any time, so use it for
    /// diagnostics and tests, and [`is_writable`](Self::is_writable) for decisions.
    #[inline]
    #[doc(alias = "GST_MINI_OBJECT_REFCOUNT_VALUE")]
    #[must_use]
    pub fn ref_count(this: &Self) -> usize {
        // Relaxed: a number for reporting; nothing is read on the strength of it.
        this.header().strong.load(Ordering::Relaxed)
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
        // Acquire: pairs with the Release decrement of every handle dropped before,
        // so their reads of the value happen before any write this answer permits.
        // loom-mutant: writable-relaxed
        this.header().strong.load(Ordering::Acquire) == 1
    }

    /// Whether two handles share one allocation.
    #[inline]
    #[must_use]
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.ptr == b.ptr
    }

    /// A raw pointer to the value, for identity and diagnostics; valid while a handle
    /// lives.
    #[inline]
    #[must_use]
    pub fn as_ptr(this: &Self) -> *const T {
        // SAFETY: the allocation is live while `this` is; no reference is created.
        unsafe { &raw const (*this.ptr.as_ptr()).value }.cast::<T>()
    }

    /// `&mut T` when this is the only handle, `None` otherwise. Never copies.
    #[inline]
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        if Self::is_writable(this) {
            // SAFETY: `is_writable` just saw this as the only handle.
            Some(unsafe { this.value_mut_unchecked() })
        } else {
            None
        }
    }

    /// Takes the value out when this is the only handle; gives the handle back
    /// otherwise.
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        if this
            .header()
            .strong
            // Acquire on success, as for the last drop: the other handles' uses of the
            // value happen before we take it. Relaxed on failure: nothing is taken.
            .compare_exchange(1, 0, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(this);
        }
        let this = ManuallyDrop::new(this);
        // SAFETY: the strong count is now zero and was ours: nobody else can reach the
        // value, and it is read exactly once (the handle is not dropped).
        let value = unsafe { ManuallyDrop::take(&mut (*this.ptr.as_ptr()).value) };
        // SAFETY: the value was moved out; the strong handles' link goes now.
        unsafe { Self::release_strong_link(this.ptr) };
        Ok(value)
    }

    /// Drops this handle unless it is the last one; the last one is given back, still
    /// holding the value, instead of dropping it. What a pool does to take a buffer
    /// back when its last consumer lets go (`GstBufferPool`'s release from dispose).
    ///
    /// "Am I the last" is one decrement, as in `Drop`: of any number of handles
    /// released at once, exactly one gets `Some`. Between that decrement and the
    /// store that follows, the count reads zero; only a child's link reads it then
    /// (as a parent that is gone: not writable, a cautious answer), as no other
    /// handle exists and none can be made.
    pub(crate) fn drop_unless_last(this: Self) -> Option<Self> {
        let this = ManuallyDrop::new(this);
        // Release: this handle's uses of the value happen before the last one's
        // Acquire, as in `Drop`.
        // loom-mutant: buffer-pool-returned-twice-last-decided-load-before-decrement
        if this.header().strong.fetch_sub(1, Ordering::Release) != 1 {
            return None;
        }
        // Acquire: synchronizes with every other handle's Release decrement, so their
        // uses of the value happen before whatever the caller does with it next.
        // loom-mutant: buffer-pool-last-release-takes-buffer-back-without-acquire
        let _ = this.header().strong.load(Ordering::Acquire);
        // Relaxed: no other handle exists to read it; the caller publishes the
        // handle (to another thread) with its own Release.
        this.header().strong.store(1, Ordering::Relaxed);
        Some(ManuallyDrop::into_inner(this))
    }

    /// Drops the link that the strong handles hold together, once the last of them has
    /// gone and the value has been dropped or moved out; frees the allocation unless
    /// children still link here (then the last of them frees it).
    ///
    /// # Safety
    /// The strong count of `ptr` is zero, the caller was the last strong handle, and
    /// the value is no longer there.
    #[inline]
    unsafe fn release_strong_link(ptr: NonNull<Inner<T>>) {
        // SAFETY: the header is live: this call still holds the strong handles' link.
        let links = unsafe { &(*ptr.as_ptr()).header.links };
        // Acquire (load and exchange): a child's last access to the header is its
        // Release decrement of the link count; it must happen before the free. The
        // first load is the common case (no child ever linked): with no link but ours
        // and no strong handle left, no new link can appear, so no exchange is needed.
        // loom-mutant: last-strong-frees-despite-links
        if links.load(Ordering::Acquire) == 1 || links.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: we held the last count; the value is gone (caller's contract).
            unsafe { release_allocation::<T>(ptr.cast()) };
        }
    }

    /// The function a child uses to free this allocation if its link is the last
    /// count on it.
    pub(crate) fn release_fn() -> ReleaseFn {
        release_allocation::<T>
    }

    /// Drops the value and lets go of the allocation, after the last handle went.
    ///
    /// Takes the pointer by value, not `&mut self`: taking the handle's address would
    /// make the caller spill it to the stack between the two locked instructions of a
    /// clone/drop pair, and the locked decrement would wait for that store.
    ///
    /// Not `#[cold]`: every value's last drop comes here, and a cycle of copying and
    /// dropping (a buffer written, used, released) runs it every time.
    ///
    /// # Safety
    /// The caller's decrement took the strong count from one to zero.
    #[inline(never)]
    unsafe fn drop_slow(ptr: NonNull<Inner<T>>) {
        // SAFETY: the strong count went to zero with the caller's decrement: the value
        // is ours alone, and it is dropped exactly once.
        unsafe { ManuallyDrop::drop(&mut (*ptr.as_ptr()).value) };
        // SAFETY: strong count zero, we were the last handle, the value is dropped.
        unsafe { Self::release_strong_link(ptr) };
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
        // loom-mutant: get-writable-skips-copy
        if !Self::is_writable(this) {
            Self::copy_into(this);
        }
        // SAFETY: either `is_writable` saw this as the only handle, or `copy_into` just
        // made a fresh allocation that only this handle knows.
        unsafe { this.value_mut_unchecked() }
    }

    #[inline]
    fn copy_into(this: &mut Self) {
        // Assigning drops the old handle: the reference to the original is released.
        *this = Self::new(T::clone(this));
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
        Self::get_writable(&mut this);
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
        // Relaxed: a new handle is made from this one, which keeps the value alive and
        // has already seen it initialized; the increment publishes nothing.
        let old = self.header().strong.fetch_add(1, Ordering::Relaxed);
        if old > MAX_STRONG {
            abort();
        }
        Self {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for CowShared<T> {
    #[inline]
    fn drop(&mut self) {
        // Release: this handle's uses of the value happen before whoever drops it.
        // loom-mutant: drop-decrement-relaxed
        if self.header().strong.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Acquire: synchronizes with every other handle's Release decrement (one
        // release sequence on `strong`), so all their uses of the value happen
        // before it is dropped.
        // loom-mutant: drop-without-acquire
        let _ = self.header().strong.load(Ordering::Acquire);
        // SAFETY: the strong count went from one to zero with our decrement.
        unsafe { Self::drop_slow(self.ptr) }
    }
}

impl<T> Deref for CowShared<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: the allocation and the value live while this handle does; nobody
        // holds a `&mut T` while a second handle (this one) exists.
        unsafe { &(*self.ptr.as_ptr()).value }
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

impl<T> CowShared<T> {
    /// A weak handle: counted in the link word, so it keeps the allocation (never the
    /// value) and can [`upgrade`](WeakShared::upgrade) while strong handles remain.
    ///
    /// Crate-private, and only for values that are never written through `&mut`:
    /// an upgrade can raise the strong count from one at any moment, so
    /// `get_mut` / `get_writable` on such a value could hand out a `&mut T` that an
    /// upgraded handle reads. The object model, the one user, never does either.
    pub(crate) fn downgrade(this: &Self) -> WeakShared<T> {
        // Relaxed: our strong handle keeps the allocation alive now; the increment
        // publishes nothing (`ParentLink::link`'s argument).
        let old = this.header().links.fetch_add(1, Ordering::Relaxed);
        if old > MAX_LINKS {
            abort();
        }
        WeakShared { ptr: this.ptr }
    }
}

/// A weak handle to a [`CowShared`] value (see [`CowShared::downgrade`]): one count in
/// the link word, like a `ParentLink`, so the strong handles' last drop leaves the
/// allocation to it; the value goes with the last strong handle as usual.
pub(crate) struct WeakShared<T> {
    ptr: NonNull<Inner<T>>,
}

// SAFETY: a weak handle reads only the atomic counts, and upgrades into a handle that
// is `Send + Sync` under the same bounds as `CowShared<T>`.
unsafe impl<T: Send + Sync> Send for WeakShared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for WeakShared<T> {}

impl<T> WeakShared<T> {
    fn header(&self) -> &Header {
        // SAFETY: our link count keeps the header allocated (the value may be gone;
        // only the header is borrowed).
        unsafe { &(*self.ptr.as_ptr()).header }
    }

    /// Whether the value still has a strong handle (what [`upgrade`](Self::upgrade)
    /// would succeed on), at some moment during the call, without taking one: for a
    /// caller that holds locks and must not hold a handle it could be the last of.
    pub(crate) fn is_live(&self) -> bool {
        // Relaxed: a yes/no about the count; nothing is read through the answer.
        self.header().strong.load(Ordering::Relaxed) != 0
    }

    /// A strong handle, unless the value is already gone.
    pub(crate) fn upgrade(&self) -> Option<CowShared<T>> {
        let strong = &self.header().strong;
        // Relaxed: a first guess for the compare-exchange, which decides.
        let mut count = strong.load(Ordering::Relaxed);
        loop {
            // loom-mutant: hierarchy-weak-parent-upgrades-from-zero
            if count == 0 {
                return None;
            }
            if count > MAX_STRONG {
                abort();
            }
            // Acquire on success: as std's `Weak::upgrade`, the new handle's reads
            // of the value come after everything published through the count's
            // release sequence. Never from zero: a value whose last strong handle went
            // is not resurrected. Relaxed on failure: we only retry.
            match strong.compare_exchange_weak(
                count,
                count + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(CowShared {
                        ptr: self.ptr,
                        _owns: PhantomData,
                    })
                }
                Err(now) => count = now,
            }
        }
    }

    /// Whether this weak handle is to the value at `value` (which may be being
    /// dropped: this compares addresses only).
    pub(crate) fn points_to(&self, value: *const T) -> bool {
        self.value_ptr() == value
    }

    /// The address of the value this weak handle is to (alive or not: the handle
    /// keeps the allocation, so no other value can have the address meanwhile).
    pub(crate) fn value_ptr(&self) -> *const T {
        // SAFETY: our link count keeps the allocation; `addr_of!` computes the field's
        // address without reading it or making a reference.
        let ours = unsafe { core::ptr::addr_of!((*self.ptr.as_ptr()).value) };
        // `ManuallyDrop<T>` is `repr(transparent)`: its address is the value's.
        ours.cast::<T>()
    }

    /// Whether this weak handle and `strong` name the same allocation.
    pub(crate) fn is(&self, strong: &CowShared<T>) -> bool {
        self.ptr == strong.ptr
    }
}

impl<T> Clone for WeakShared<T> {
    fn clone(&self) -> Self {
        // Relaxed: this weak handle keeps the allocation alive now.
        let old = self.header().links.fetch_add(1, Ordering::Relaxed);
        if old > MAX_LINKS {
            abort();
        }
        Self { ptr: self.ptr }
    }
}

impl<T> Drop for WeakShared<T> {
    fn drop(&mut self) {
        // AcqRel: Release so our reads of the header happen before whoever frees it;
        // Acquire in case we free it (`ParentLink::unlink`'s argument).
        if self.header().links.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The strong handles' link is gone, so their value is gone too.
            // SAFETY: we held the last count; the value was dropped or moved out.
            unsafe { release_allocation::<T>(self.ptr.cast()) };
        }
    }
}

impl<T> fmt::Debug for WeakShared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(WeakShared)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem;

    #[test]
    fn a_handle_is_one_pointer_and_a_fresh_value_counts_one_of_each() {
        assert_eq!(mem::size_of::<CowShared<u64>>(), mem::size_of::<usize>());
        assert_eq!(
            mem::size_of::<Option<CowShared<u64>>>(),
            mem::size_of::<usize>()
        );
        let a = CowShared::new(5u8);
        let counts = |a: &CowShared<u8>| {
            let h = a.header();
            (
                h.strong.load(Ordering::Relaxed),
                h.links.load(Ordering::Relaxed),
            )
        };
        assert_eq!(counts(&a), (1, 1));
        let b = a.clone();
        assert_eq!(counts(&a), (2, 1));
        drop(b);
        assert_eq!(counts(&a), (1, 1));
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
            a.header().strong.store(MAX_STRONG, Ordering::Relaxed);
            mem::forget(a.clone());
            eprintln!("clone at the limit survived");
            // ...and past it the process aborts.
            mem::forget(a.clone());
            std::process::exit(0);
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "cow::tests::clone_past_the_maximum_count_aborts"])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("clone at the limit survived"), "{stderr}");
        assert_eq!(out.status.signal(), Some(6), "expected SIGABRT: {out:?}");
    }
}
