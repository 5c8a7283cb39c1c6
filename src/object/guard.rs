//! An object's own lock: [`Object::lock`] (`GST_OBJECT_LOCK`) and its guard,
//! [`ObjectGuard`], which hands out copies and new references only.

use core::cell::OnceCell;
use core::fmt;

use super::{Core, Object};

impl<T> Object<T> {
    /// Takes this object's own lock (`GST_OBJECT_LOCK`), for reading its name and
    /// parent as one consistent pair. The lock is not recursive: calling a method
    /// that takes it ([`parent`](Self::parent), [`set_name`](Self::set_name), `add`
    /// or `remove` on it or its parent) while holding the guard panics, naming the
    /// object, where GStreamer would deadlock.
    ///
    /// The guard borrows the handle, so the last reference to an object cannot be
    /// dropped while its own lock is held:
    ///
    /// ```compile_fail
    /// let object = mtsafe::Object::with_name("x", ()).sink();
    /// let guard = object.lock();
    /// drop(object); // error: cannot move out of `object` because it is borrowed
    /// drop(guard);
    /// ```
    ///
    /// A guard that is not kept would unlock at once; the compiler says so
    /// (`#[must_use]`, made an error here), while the kept guard compiles:
    ///
    /// ```compile_fail
    /// #![deny(unused_must_use)]
    /// let object = mtsafe::Object::with_name("x", ()).sink();
    /// object.lock(); // error: unused `ObjectGuard` that must be used
    /// ```
    ///
    /// ```
    /// #![deny(unused_must_use)]
    /// let object = mtsafe::Object::with_name("x", ()).sink();
    /// let _guard = object.lock();
    /// assert!(object.is_locked_by_current_thread());
    /// ```
    #[doc(alias = "GST_OBJECT_LOCK")]
    pub fn lock(&self) -> ObjectGuard<'_, T> {
        ObjectGuard {
            object: self,
            core: self.lock_core(),
            parent: OnceCell::new(),
        }
    }

    /// Whether the calling thread holds this object's own lock.
    #[must_use]
    pub fn is_locked_by_current_thread(&self) -> bool {
        self.inner.core.is_locked_by_current_thread()
    }

    pub(super) fn lock_core(&self) -> crate::ObjectLockGuard<'_, Core<T>> {
        self.inner.core.lock_described(|| self.describe())
    }

    pub(super) fn describe(&self) -> String {
        format!("the object lock of '{}'", *self.inner.name.lock())
    }
}

/// An object's own lock, held ([`Object::lock`]). What leaves it are copies and new
/// references.
///
/// The parent handles it gives out can be dropped while it is held, even when the
/// parent's other holders are gone meanwhile: the guard keeps a reference of its own
/// to the parent and releases it only after the lock (a parent's destruction locks
/// each of its children, so it must never run under a child's lock).
///
/// ```
/// use mtsafe::Object;
///
/// let bin = Object::with_name("bin", ()).sink();
/// let src = Object::with_name("src", ()).sink();
/// bin.add(&src)?;
/// let guard = src.lock();
/// let parent = guard.parent().unwrap();
/// drop(bin);    // another holder lets go meanwhile
/// drop(parent); // not the last reference: the guard still holds one
/// drop(guard);  // unlocks, then releases it: the bin is destroyed here
/// assert!(src.parent().is_none());
/// # Ok::<(), mtsafe::ObjectError>(())
/// ```
#[must_use = "the object's lock is released as soon as the guard is dropped"]
pub struct ObjectGuard<'a, T> {
    object: &'a Object<T>,
    // Declared before `parent`: fields drop in declaration order, so the lock is
    // released before the guard's own parent reference (type docs).
    core: crate::ObjectLockGuard<'a, Core<T>>,
    /// The parent as first read under the lock; the link cannot change while the
    /// lock is held (it is written only under it).
    parent: OnceCell<Option<Object<T>>>,
}

impl<T> ObjectGuard<'_, T> {
    /// The parent, as a new reference taken under the lock. The guard keeps one more
    /// reference until it is dropped, so the one returned is never the last while
    /// the lock is held (type docs).
    #[must_use]
    pub fn parent(&self) -> Option<Object<T>> {
        // loom-mutant: hierarchy-object-guard-keeps-no-parent-reference-own
        self.parent
            .get_or_init(|| Object::live_parent(&self.core.parent))
            .clone()
    }

    /// A copy of the name (stable while the lock is held: renaming takes it).
    pub fn name(&self) -> String {
        self.object.name()
    }
}

impl<T> fmt::Debug for ObjectGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectGuard")
            .field("name", &self.object.name())
            .finish_non_exhaustive()
    }
}
