//! [`Object<T>`]: GStreamer's object rules (`GstObject`): floating creation, a name, at
//! most one parent held weakly, children held strongly in a [`CookieList`], and
//! accessors that copy or re-reference before any lock is released.
//!
//! # Locks, and their order
//!
//! Each object has its own [`ObjectLock`] over its parent link (GStreamer's
//! `GST_OBJECT_LOCK` over `GST_OBJECT_PARENT`). Its name is written only under that
//! lock too (so a rename cannot race a reparent), and kept behind a lock of its own,
//! a leaf that is never held while any other lock is taken: reading a name never
//! waits for the object lock, and the re-lock report can name an object whose lock
//! its thread holds.
//!
//! Changes to the hierarchy (`add`, `remove`, `unparent`) are serialized per tree,
//! not per process: every object carries a *tree lock*, and the tree lock of a
//! tree's root (the ancestor with no parent) guards every parent link in that tree.
//! A change walks up to the root, takes its tree lock, and checks under it that the
//! root still tops the tree (a merge may have put it under another meanwhile; then
//! it starts over with the new root). While held, the tree cannot change shape: its
//! links change only under this lock, and the root cannot gain a parent, since that
//! needs this same lock (the root is then a child's root). `add` takes two: the
//! parent's root's and the child's own (a child to be added has no parent, so it is
//! a root), in address order, so `a.add(b)` racing `b.add(a)`, or two threads each
//! adding one tree's root under the other's leaf, serialize; the second finds the
//! cycle and is refused. (In GStreamer, `gst_bin_add (a, b)` racing
//! `gst_bin_add (b, a)` takes the two object locks in opposite orders and can
//! deadlock.) Unrelated trees share no lock, so their changes never wait for each
//! other. Then the parent's object lock, then (for `add`, in one write of the
//! parent's children list, under that list's lock) the child's: tree locks first,
//! parent before child, always. A read (`parent`, `name`, iterating the children)
//! takes no tree lock.
//!
//! No lock is held while an object is destroyed: handles taken out of the hierarchy,
//! or taken while walking it, are dropped after every lock is released, so an
//! object's last reference never goes while a lock is held.
//!
//! # Where the code is
//!
//! This file: the handles, creation, references and names. `hierarchy.rs`: the tree
//! locks and what runs under them (`add`, `remove`, `unparent`, the walks up a tree),
//! and the parent and children reads. `guard.rs`: the object's own lock and
//! [`ObjectGuard`]. `floating.rs`: the floating reference's state word. `name.rs` and
//! `default_name.rs`: names, and the process-wide default-name counters.

mod default_name;
mod floating;
mod guard;
mod hierarchy;
mod name;

use core::fmt;
use core::ops::Deref;

use crate::cookie_list::CookieList;
use crate::object_lock::ObjectLock;
use crate::shared::{StrongShared, WeakShared};
use crate::sync::Mutex;
use default_name::{default_name, default_prefix};
use floating::FloatState;
pub use floating::Floating;
pub use guard::ObjectGuard;
use name::Name;

/// What an object's own lock protects.
struct Core<T> {
    /// The parent, held weakly: a child never keeps its parent alive.
    parent: Option<WeakShared<ObjectInner<T>>>,
}

/// One object: the allocation behind every [`Object<T>`] handle.
pub(crate) struct ObjectInner<T> {
    float: FloatState,
    /// Written under `core`'s lock (so a rename cannot race a reparent); its own
    /// lock is a leaf (module docs).
    name: Mutex<Name>,
    core: ObjectLock<Core<T>>,
    /// The tree lock: held while this object is a root and its tree changes
    /// (module docs); unused while it has a parent.
    tree: Mutex<()>,
    /// Under loom, the order in which two tree locks are taken (elsewhere the
    /// address): loom replays interleavings and needs the same order every time,
    /// which heap addresses do not give.
    #[cfg(loom)]
    lock_order: u64,
    children: CookieList<Object<T>>,
    data: T,
}

impl<T> Drop for ObjectInner<T> {
    /// A parent unparents its children before it goes (GstBin's dispose): each
    /// child's weak link to it is cleared, one child lock at a time.
    fn drop(&mut self) {
        let me: *const ObjectInner<T> = self;
        for child in self.children.iter_unlocked() {
            let mut core = child.inner.core.lock_described(|| child.describe());
            if core
                .parent
                .as_ref()
                .is_some_and(|parent| parent.points_to(me))
            {
                core.parent = None;
            }
        }
    }
}

/// A reference-counted handle to an object: `GstObject *` with the rules enforced.
///
/// - Made floating ([`Object::new`] returns a [`Floating<T>`]), sunk exactly once.
/// - A name, unique among its siblings; default names are `<type><n>`, unique per
///   type across the process (`element0`, `element1`, ...; numbers increase on each
///   thread, which takes them in blocks, so threads naming objects share no counter
///   write but once per block), and cost no allocation (they are formatted when
///   read).
/// - At most one parent, held weakly; children held strongly, in a [`CookieList`]
///   iterated with the resync iterator ([`children`](Self::children)).
/// - Accessors return copies or new references ([`name`](Self::name),
///   [`parent`](Self::parent)), taken before the lock that guards them is released.
/// - Derefs to `T`, the object's own data. Put per-object state that needs the
///   object's lock in an [`ObjectLock`] field of `T`, and lock-free readable
///   settings in [`Property`](crate::Property) fields.
///
/// Reference operations are associated functions (`Object::ref_count(&obj)`), like
/// `Arc`'s, so they never shadow `T`'s methods; the hierarchy operations are methods
/// (`bin.add(element)`), as GStreamer developers write them, and take precedence over
/// `T`'s methods of the same name.
///
/// ```
/// use mtsafe::{Object, ObjectError};
///
/// let bin = Object::with_name("bin", ()).sink();
/// let src = Object::with_name("src", ());
/// let weak = src.downgrade();
/// bin.add(src)?;                                        // sinks the floating child
///
/// let src = weak.upgrade().unwrap();
/// assert!(Object::ptr_eq(&src.parent().unwrap(), &bin)); // a new reference
/// assert_eq!(Object::ref_count(&src), 2);               // the bin's and ours
///
/// // A second parent is refused, and the child is unchanged:
/// let other = Object::with_name("other", ()).sink();
/// assert!(matches!(other.add(&src), Err(ObjectError::HasParent { .. })));
///
/// bin.remove(&src)?;
/// assert!(src.parent().is_none());
/// # Ok::<(), ObjectError>(())
/// ```
#[doc(alias = "GstObject")]
pub struct Object<T> {
    inner: StrongShared<ObjectInner<T>>,
}

/// A weak handle to an [`Object<T>`]: keeps no object alive; upgrades while one is.
pub struct WeakObject<T> {
    inner: WeakShared<ObjectInner<T>>,
}

/// Why a hierarchy or naming operation was refused. Nothing changed when one is
/// returned; a floating child given to a refused `add` has been destroyed (unless
/// other handles hold it), never leaked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectError {
    /// An object cannot be its own parent.
    SelfParent {
        /// The object's name.
        name: String,
    },
    /// The child has a parent already (GStreamer: "object already has a parent").
    HasParent {
        /// The child's name.
        child: String,
        /// The name of the parent it has.
        parent: String,
    },
    /// The child is an ancestor of the parent: adding it would make a cycle.
    WouldCycle {
        /// The child's name.
        child: String,
        /// The parent's name.
        parent: String,
    },
    /// The parent has a child of that name already.
    DuplicateName {
        /// The name both have.
        name: String,
        /// The parent's name.
        parent: String,
    },
    /// The object is not a child of this parent.
    NotAChild {
        /// The object's name.
        child: String,
        /// The parent's name.
        parent: String,
    },
    /// A parented object cannot be renamed (its siblings rely on its name).
    RenameParented {
        /// The object's name.
        name: String,
    },
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SelfParent { name } => write!(f, "'{name}' cannot be its own parent"),
            Self::HasParent { child, parent } => {
                write!(f, "'{child}' already has a parent ('{parent}')")
            }
            Self::WouldCycle { child, parent } => write!(
                f,
                "'{child}' is an ancestor of '{parent}': adding it would make a cycle"
            ),
            Self::DuplicateName { name, parent } => {
                write!(f, "'{parent}' already has a child named '{name}'")
            }
            Self::NotAChild { child, parent } => {
                write!(f, "'{child}' is not a child of '{parent}'")
            }
            Self::RenameParented { name } => {
                write!(
                    f,
                    "'{name}' has a parent: a parented object cannot be renamed"
                )
            }
        }
    }
}

impl std::error::Error for ObjectError {}

/// What [`Object::add`] accepts as a child: a [`Floating<T>`] (sunk by the add), an
/// [`Object<T>`] handle (whose reference the parent takes over) or `&Object<T>` (the
/// parent takes a new reference). On a floating object the last two adopt the
/// floating reference, as `gst_object_set_parent`'s `ref_sink` does, and only once
/// the add has succeeded: a refused add leaves the object floating, its count as it
/// was.
pub trait IntoChild<T>: into_child::Sealed {
    /// The reference the parent will hold, and whether it adopts the floating
    /// reference when the add succeeds.
    #[doc(hidden)]
    fn into_child(self) -> into_child::Pending<T>;
}

mod into_child {
    use super::Object;

    pub trait Sealed {}
    impl<T> Sealed for super::Floating<T> {}
    impl<T> Sealed for Object<T> {}
    impl<T> Sealed for &Object<T> {}

    /// A child on its way into a parent: `handle` is a counted reference;
    /// `adopt` says whether a successful add must adopt a floating reference with it
    /// (`ref_sink`). Nothing about the object's floating state changes before then.
    #[derive(Debug)]
    pub struct Pending<T> {
        pub(super) handle: Object<T>,
        pub(super) adopt: bool,
    }
}

impl<T> IntoChild<T> for Floating<T> {
    fn into_child(self) -> into_child::Pending<T> {
        // Given by value, the floating reference is the add's whatever the outcome:
        // sunk now, destroyed with the handle if the add is refused (type docs).
        into_child::Pending {
            handle: self.sink(),
            adopt: false,
        }
    }
}

impl<T> IntoChild<T> for Object<T> {
    fn into_child(self) -> into_child::Pending<T> {
        into_child::Pending {
            handle: self,
            adopt: true,
        }
    }
}

impl<T> IntoChild<T> for &Object<T> {
    fn into_child(self) -> into_child::Pending<T> {
        into_child::Pending {
            handle: self.clone(),
            adopt: true,
        }
    }
}

impl<T> Object<T> {
    /// A new object with a default name (`<type><n>`, unique per type), floating.
    // A new object is floating (owned by nobody until sunk), so `new` returns the
    // floating reference, not a handle.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(data: T) -> Floating<T> {
        let (prefix, n) = default_name::<T>(default_prefix::<T>);
        Self::named(Name::Default { prefix, n }, data)
    }

    /// A new object named `name`, floating.
    pub fn with_name(name: impl Into<String>, data: T) -> Floating<T> {
        Self::named(Name::Given(name.into()), data)
    }

    fn named(name: Name, data: T) -> Floating<T> {
        Floating::from_new(Object {
            inner: StrongShared::new(ObjectInner {
                float: FloatState::new_floating(),
                name: Mutex::new(name),
                core: ObjectLock::new(Core { parent: None }),
                tree: Mutex::new(()),
                #[cfg(loom)]
                lock_order: hierarchy::next_lock_order(),
                children: CookieList::new(),
                data,
            }),
        })
    }

    pub(crate) fn float_state(&self) -> &FloatState {
        &self.inner.float
    }

    /// The reference count, as GLib reports it: a floating reference that a handle
    /// adopted counts once, even while its [`Floating<T>`] still exists. A snapshot:
    /// other threads may change it at any moment.
    #[must_use]
    pub fn ref_count(this: &Self) -> usize {
        // Two loads, not one snapshot: saturating, so that adoptions racing the read
        // can never make it wrap.
        StrongShared::ref_count(&this.inner).saturating_sub(this.inner.float.adopted())
    }

    /// Whether one reference to the object is floating (owned by nobody yet).
    #[doc(alias = "g_object_is_floating")]
    #[must_use]
    pub fn is_floating(this: &Self) -> bool {
        this.inner.float.is_floating()
    }

    /// `gst_object_ref_sink`: a new handle that adopts the floating reference if the
    /// object is floating (the count stays, the flag clears), or adds a reference if
    /// not. Of two threads racing here on one floating object, exactly one adopts.
    #[doc(alias = "gst_object_ref_sink")]
    #[doc(alias = "g_object_ref_sink")]
    #[must_use]
    pub fn ref_sink(this: &Self) -> Self {
        // The new handle's own count first: whatever the claim's outcome, the
        // handle is backed by a count (module docs of `floating`).
        let handle = this.clone();
        this.inner.float.try_adopt();
        handle
    }

    /// `g_object_force_floating`: this handle's reference becomes floating again
    /// (owned by nobody until sunk). On an object that is floating already the flag
    /// stays with the reference that floats, and this one stays ordinary.
    #[doc(alias = "g_object_force_floating")]
    pub fn force_floating(this: Self) -> Floating<T> {
        Floating::from_handle(this)
    }

    /// The address of the object (its identity: `Eq`, `Hash`, `Ord`).
    fn value_ptr(&self) -> *const ObjectInner<T> {
        StrongShared::as_ptr(&self.inner)
    }

    /// Whether both handles are the same object.
    #[must_use]
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        StrongShared::ptr_eq(&a.inner, &b.inner)
    }

    /// A weak handle, which keeps no object alive.
    #[must_use]
    pub fn downgrade(&self) -> WeakObject<T> {
        WeakObject {
            inner: StrongShared::downgrade(&self.inner),
        }
    }

    /// A copy of the name (`gst_object_get_name`), taken under the name's own lock
    /// (never the object lock).
    #[doc(alias = "gst_object_get_name")]
    #[must_use]
    pub fn name(&self) -> String {
        self.inner.name.lock().to_string()
    }

    /// Whether the object is named `name`, without copying the name.
    #[must_use]
    pub fn has_name(&self, name: &str) -> bool {
        self.inner.name.lock().is(name)
    }

    fn name_clone(&self) -> Name {
        self.inner.name.lock().clone()
    }

    /// Renames an object that has no parent (`gst_object_set_name`). A parented
    /// object is refused: its parent relies on its name being unique.
    #[doc(alias = "gst_object_set_name")]
    pub fn set_name(&self, name: impl Into<String>) -> Result<(), ObjectError> {
        let core = self.lock_core();
        // Held in a local, not a condition's temporary: the handle may be the
        // parent's last, and a parent's drop locks each child, this one included.
        // loom-mutant: hierarchy-set-name-drops-parent-handle-under-child-lock
        let parent = Self::live_parent(&core.parent);
        if parent.is_some() {
            drop(core);
            drop(parent);
            return Err(ObjectError::RenameParented { name: self.name() });
        }
        let old = core::mem::replace(&mut *self.inner.name.lock(), Name::Given(name.into()));
        drop(core);
        drop(old);
        Ok(())
    }
}

impl<T> Clone for Object<T> {
    /// Another reference (`gst_object_ref`): one atomic increment. On a floating
    /// object the flag stays; see [`Object::ref_sink`].
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Deref for Object<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.inner.data
    }
}

impl<T> fmt::Debug for Object<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("name", &self.name())
            .field("ref_count", &Object::ref_count(self))
            .field("floating", &Object::is_floating(self))
            .finish_non_exhaustive()
    }
}

impl<T> WeakObject<T> {
    /// A handle, if the object is still alive.
    #[must_use]
    pub fn upgrade(&self) -> Option<Object<T>> {
        self.inner.upgrade().map(|inner| Object { inner })
    }
}

/// Identity, as `Arc::ptr_eq`: two handles are equal when they are the same object,
/// whatever their data (`T` need not be comparable); `Hash` and `Ord` follow (by
/// address: stable while either handle lives, meaningless across runs), so objects
/// can be set members and map keys.
///
/// ```
/// use mtsafe::Object;
/// use std::collections::HashSet;
///
/// let (a, b) = (Object::with_name("a", ()).sink(), Object::with_name("b", ()).sink());
/// let seen: HashSet<_> = [a.clone(), b.clone(), a.clone()].into_iter().collect();
/// assert_eq!(seen.len(), 2);
/// assert!(a == a.clone() && a != b);
/// assert!(a.downgrade() == a.downgrade() && a.downgrade() != b.downgrade());
/// ```
impl<T> PartialEq for Object<T> {
    fn eq(&self, other: &Self) -> bool {
        Object::ptr_eq(self, other)
    }
}

impl<T> Eq for Object<T> {}

impl<T> core::hash::Hash for Object<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.value_ptr().hash(state);
    }
}

impl<T> PartialOrd for Object<T> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Object<T> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.value_ptr().cmp(&other.value_ptr())
    }
}

/// Identity, as for [`Object`]: the same object, alive or not (a weak handle keeps
/// the object's allocation, so no other object can take its address meanwhile).
impl<T> PartialEq for WeakObject<T> {
    fn eq(&self, other: &Self) -> bool {
        self.inner.value_ptr() == other.inner.value_ptr()
    }
}

impl<T> Eq for WeakObject<T> {}

impl<T> core::hash::Hash for WeakObject<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.inner.value_ptr().hash(state);
    }
}

impl<T> PartialOrd for WeakObject<T> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for WeakObject<T> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.inner.value_ptr().cmp(&other.inner.value_ptr())
    }
}

impl<T> Clone for WeakObject<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakObject<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(WeakObject)")
    }
}
