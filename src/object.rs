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

mod floating;
mod name;

use core::cell::OnceCell;
use core::fmt;
use core::ops::Deref;

use crate::cookie_list::{CookieIter, CookieList, ListSnapshot};
use crate::object_lock::ObjectLock;
use crate::shared::{StrongShared, WeakShared};
use crate::sync::{default_name, Mutex};
use floating::FloatState;
pub use floating::Floating;
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

/// Why a child was refused, as found under the locks: made into an [`ObjectError`]
/// once they are released (dropping the other parent's handle then, too).
enum Refusal<T> {
    WouldCycle,
    HasParent(Object<T>),
    DuplicateName(Name),
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

/// The default-name prefix of `T`: its type name without path or generics,
/// lowercased (`my_app::Element<f32>` gives `element`).
fn default_prefix<T>() -> String {
    let name = core::any::type_name::<T>();
    let name = name.split('<').next().unwrap_or(name);
    let name = name.rsplit("::").next().unwrap_or(name);
    let name = name.trim_matches(|c: char| !c.is_alphanumeric());
    if name.is_empty() {
        "object".to_owned()
    } else {
        name.to_lowercase()
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
                lock_order: crate::sync::next_lock_order(),
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

    /// The order in which two tree locks are taken: the object's address (under
    /// loom a number given at creation, see `lock_order`).
    fn lock_order(&self) -> u64 {
        #[cfg(not(loom))]
        return self.value_ptr().addr() as u64;
        #[cfg(loom)]
        return self.inner.lock_order;
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

    fn lock_core(&self) -> crate::ObjectLockGuard<'_, Core<T>> {
        self.inner.core.lock_described(|| self.describe())
    }

    fn describe(&self) -> String {
        format!("the object lock of '{}'", *self.inner.name.lock())
    }

    fn live_parent(parent: &Option<WeakShared<ObjectInner<T>>>) -> Option<Object<T>> {
        parent
            .as_ref()
            .and_then(WeakShared::upgrade)
            .map(|inner| Object { inner })
    }

    /// Whether this object has a parent that is alive, read under its lock without
    /// taking a handle to the parent.
    fn has_live_parent(&self) -> bool {
        let core = self.lock_core();
        core.parent.as_ref().is_some_and(WeakShared::is_live)
    }

    /// The parent, as a new reference taken under this object's lock
    /// (`gst_object_get_parent`), or `None`.
    #[doc(alias = "gst_object_get_parent")]
    #[must_use]
    pub fn parent(&self) -> Option<Object<T>> {
        let core = self.lock_core();
        let parent = Self::live_parent(&core.parent);
        drop(core);
        parent
    }

    /// Whether `parent` is this object's parent.
    #[doc(alias = "gst_object_has_as_parent")]
    #[must_use]
    pub fn has_as_parent(&self, parent: &Object<T>) -> bool {
        self.parent().is_some_and(|p| Object::ptr_eq(&p, parent))
    }

    /// Whether `ancestor` is this object, its parent, or an ancestor of its parent
    /// (`gst_object_has_as_ancestor`: an object is its own ancestor).
    #[doc(alias = "gst_object_has_as_ancestor")]
    pub fn has_as_ancestor(&self, ancestor: &Object<T>) -> bool {
        self.walk_ancestors(ancestor, drop)
    }

    /// `has_as_ancestor`, handing every ancestor handle it took to `keep`, so that a
    /// caller holding locks can drop them later: one of them may be the last
    /// reference to its object by then.
    fn walk_ancestors(&self, ancestor: &Object<T>, mut keep: impl FnMut(Object<T>)) -> bool {
        if Object::ptr_eq(self, ancestor) {
            return true;
        }
        let mut current = self.parent();
        while let Some(object) = current {
            if Object::ptr_eq(&object, ancestor) {
                keep(object);
                return true;
            }
            current = object.parent();
            keep(object);
        }
        false
    }

    /// The top of this object's hierarchy: the ancestor with no parent (this object
    /// itself when it has none).
    #[must_use]
    pub fn toplevel(&self) -> Object<T> {
        let mut top = self.clone();
        while let Some(parent) = top.parent() {
            top = parent;
        }
        top
    }

    /// Walks up from this object to the top of its tree: the root's handle, and
    /// whether `target` is on the way (this object and the root included). The
    /// handles of the objects in between go to `keep`, for the caller to drop after
    /// its locks.
    ///
    /// The root is `None` when this object is the root: no handle to it is taken, so
    /// a change to a top-level bin writes nothing in the bin's own header.
    fn climb(&self, target: &Object<T>, keep: &mut Vec<Object<T>>) -> (Option<Object<T>>, bool) {
        let mut found = Object::ptr_eq(self, target);
        let Some(mut current) = self.parent() else {
            return (None, found);
        };
        loop {
            found |= Object::ptr_eq(&current, target);
            match current.parent() {
                Some(parent) => keep.push(core::mem::replace(&mut current, parent)),
                None => return (Some(current), found),
            }
        }
    }

    /// The top of this object's tree as [`climb`](Self::climb) gives it: `None` when
    /// this object is the root.
    fn root_handle(&self) -> Option<Object<T>> {
        let mut top = self.parent()?;
        while let Some(parent) = top.parent() {
            top = parent;
        }
        Some(top)
    }

    /// Whether `root` is the top of this object's tree now. Every handle the walk
    /// takes goes to `keep` (the caller holds locks).
    fn root_is(&self, root: &Object<T>, keep: &mut Vec<Object<T>>) -> bool {
        let Some(mut current) = self.parent() else {
            return Object::ptr_eq(self, root);
        };
        loop {
            match current.parent() {
                Some(parent) => keep.push(core::mem::replace(&mut current, parent)),
                None => {
                    let found = Object::ptr_eq(&current, root);
                    keep.push(current);
                    return found;
                }
            }
        }
    }

    /// Runs `change` with this object's tree locked: its root's tree lock held, and
    /// the root checked, under that lock, to be the top of this object's tree still
    /// (module docs). What `change` returns is the caller's to drop after the lock;
    /// the handles the walks took are dropped here, after it too.
    fn with_tree_locked<R>(&self, change: impl FnOnce() -> R) -> R {
        let mut keep = Vec::new();
        loop {
            let root = self.root_handle();
            let root_ref = root.as_ref().unwrap_or(self);
            let tree = root_ref.inner.tree.lock();
            // loom-mutant: hierarchy-tree-change-does-not-re-check-root-under-tree-lock
            if self.root_is(root_ref, &mut keep) {
                let changed = change();
                drop(tree);
                drop(root);
                drop(keep);
                return changed;
            }
            // The tree was merged into another meanwhile: lock its new root.
            drop(tree);
        }
    }

    /// Adds `child` (`gst_bin_add`): sinks a floating child, gives it this object as
    /// its parent and appends it to the children (bumping their cookie).
    ///
    /// Refused, with nothing changed, when the child is this object, has a parent,
    /// is an ancestor of this object, or has the name of a child already here. A
    /// floating child given to a refused add is destroyed (unless other handles
    /// hold it), never leaked.
    #[doc(alias = "gst_bin_add")]
    #[doc(alias = "gst_object_set_parent")]
    pub fn add(&self, child: impl IntoChild<T>) -> Result<(), ObjectError> {
        // On success the reference moves into the list; on failure it comes back
        // and is dropped here, after every lock is released.
        self.add_locked(child.into_child())
            .map_err(|(error, child)| {
                drop(child);
                error
            })
    }

    fn add_locked(
        &self,
        into_child::Pending {
            handle: child,
            adopt,
        }: into_child::Pending<T>,
    ) -> Result<(), (ObjectError, Object<T>)> {
        if Object::ptr_eq(self, &child) {
            return Err((ObjectError::SelfParent { name: self.name() }, child));
        }
        // Handles taken while locks are held: dropped after every lock, so no object
        // is destroyed under one.
        let mut keep = Vec::new();
        let added = loop {
            // `root` (a handle, unless this object is the root) lives to the end of
            // this round, after the locks taken below.
            let (root, cycle) = self.climb(&child, &mut keep);
            if cycle {
                break Err((Refusal::WouldCycle, child));
            }
            // A child with a parent is refused as it is now (read under its lock).
            // loom-mutant: hierarchy-add-ignores-child-parent
            if let Some(parent) = child.parent() {
                break Err((Refusal::HasParent(parent), child));
            }
            let root_ref = root.as_ref().unwrap_or(self);
            // The child is the root of its own tree: lock both trees, in address
            // order, then check under both that neither moved meanwhile.
            let child_tree = child.clone();
            let (first, second) = if root_ref.lock_order() < child_tree.lock_order() {
                (root_ref, &child_tree)
            } else {
                (&child_tree, root_ref)
            };
            // loom-mutant: hierarchy-add-without-tree-locks
            let first_tree = first.inner.tree.lock();
            let second_tree = second.inner.tree.lock();
            // No handle taken here: one dropped under the locks could be its object's
            // last.
            // loom-mutant: hierarchy-add-does-not-re-check-roots-under-tree-locks
            let settled = !child.has_live_parent() && self.root_is(root_ref, &mut keep);
            if !settled {
                drop((second_tree, first_tree));
                drop(child_tree);
                continue;
            }
            let added = self.link_and_push(child, adopt);
            drop((second_tree, first_tree));
            drop(child_tree);
            break added;
        };
        drop(keep);
        // A refusal's other parent handle is dropped here, after every lock.
        added.map_err(|(refusal, child)| {
            let error = match refusal {
                Refusal::WouldCycle => ObjectError::WouldCycle {
                    child: child.name(),
                    parent: self.name(),
                },
                Refusal::HasParent(parent) => ObjectError::HasParent {
                    child: child.name(),
                    parent: parent.name(),
                },
                Refusal::DuplicateName(name) => ObjectError::DuplicateName {
                    name: name.to_string(),
                    parent: self.name(),
                },
            };
            (error, child)
        })
    }
    /// `add`'s change, with both trees locked: one write of the children list (the
    /// checks, the parent link and the push, with the child's lock taken inside:
    /// parent, then the parent's list, then the child).
    fn link_and_push(&self, child: Object<T>, adopt: bool) -> Result<(), (Refusal<T>, Object<T>)> {
        let parent_core = self.lock_core();
        let added = self
            .inner
            .children
            .push_unless(child, |child, mut siblings| {
                // The child has no parent: checked under both tree locks, and only an
                // add, which needs the child's tree lock, gives it one.
                let mut child_core = child.lock_core();
                // The child's name is final under its lock, which a rename needs; the
                // siblings' are final too, as they have a parent. Name locks are leaves.
                if siblings.len() > 0 {
                    let name = child.name_clone();
                    if siblings.any(|c| c.inner.name.lock().same_as(&name)) {
                        return Some(Refusal::DuplicateName(name));
                    }
                }
                child_core.parent = Some(StrongShared::downgrade(&self.inner));
                // Every check passed: only now does the parent's reference adopt a
                // floating one (`ref_sink`), so a refused add leaves it floating.
                if adopt {
                    child.float_state().try_adopt();
                }
                None
            });
        drop(parent_core);
        added
    }

    /// Removes `child` (`gst_bin_remove`): unparents it and takes it out of the
    /// children (bumping their cookie). The parent's reference is released after
    /// every lock is, so a child held by nobody else is destroyed then. Removing an
    /// object from itself is refused (`NotAChild`), as GStreamer refuses it.
    #[doc(alias = "gst_bin_remove")]
    pub fn remove(&self, child: &Object<T>) -> Result<(), ObjectError> {
        let removed = self.with_tree_locked(|| self.remove_in_tree(child));
        // The parent's reference goes here, after every lock.
        removed.map(drop)
    }

    /// `remove`'s change, with this object's tree locked by the caller; returns the
    /// parent's reference to the child, for the caller to drop after that lock.
    fn remove_in_tree(&self, child: &Object<T>) -> Result<Object<T>, ObjectError> {
        let not_a_child = || ObjectError::NotAChild {
            child: child.name(),
            parent: self.name(),
        };
        // Checked before any lock: the two locks below would be one lock taken twice.
        if Object::ptr_eq(self, child) {
            return Err(not_a_child());
        }
        let parent_core = self.lock_core();
        let mut child_core = child.lock_core();
        let is_ours = child_core
            .parent
            .as_ref()
            .is_some_and(|parent| parent.is(&self.inner));
        if !is_ours {
            drop(child_core);
            drop(parent_core);
            return Err(not_a_child());
        }
        // loom-mutant: hierarchy-remove-leaves-child-parent-link
        child_core.parent = None;
        drop(child_core);
        let removed = self
            .inner
            .children
            .remove_first_locked(|c| Object::ptr_eq(c, child));
        drop(parent_core);
        Ok(removed.expect("a parented child is in its parent's list"))
    }

    /// Takes this object out of its parent (`gst_object_unparent` through the bin):
    /// `Ok(true)` when it had one, `Ok(false)` when it has none. One critical section
    /// (its tree's lock, as `gst_object_unparent` works under the object lock): of
    /// several threads unparenting one child, exactly one gets `Ok(true)` and the
    /// others `Ok(false)`.
    #[doc(alias = "gst_object_unparent")]
    pub fn unparent(&self) -> Result<bool, ObjectError> {
        // loom-mutant: hierarchy-unparent-reads-parent-and-removes-in-two-critical-sections
        let (removed, parent) = self.with_tree_locked(|| {
            // Under the tree's lock the parent read here stays the parent (a dying
            // parent, which `parent()` no longer upgrades, counts as none).
            let parent = self.parent();
            let removed = parent
                .as_ref()
                .map(|parent| parent.remove_in_tree(self))
                .transpose();
            (removed, parent)
        });
        // Both handles go after the lock: `parent` may be its object's last.
        let had_parent = removed.map(|removed| removed.is_some());
        drop(parent);
        had_parent
    }

    /// The children, through the resync iterator (`gst_bin_iterate_elements`): each
    /// step hands out a new reference, takes no lock, and reports
    /// [`Resync`](crate::Resync) if the children changed since the iterator was made
    /// or last resynced.
    #[doc(alias = "gst_bin_iterate_elements")]
    pub fn children(&self) -> CookieIter<'_, Object<T>> {
        self.inner.children.iter()
    }

    /// All children at one cookie, usable with no lock.
    #[must_use]
    pub fn children_snapshot(&self) -> ListSnapshot<Object<T>> {
        self.inner.children.snapshot()
    }

    /// The children's cookie: bumped by every add and remove.
    #[must_use]
    pub fn children_cookie(&self) -> u64 {
        self.inner.children.cookie()
    }

    /// The number of children, at some moment during the call.
    #[must_use]
    pub fn n_children(&self) -> usize {
        self.inner.children.len()
    }

    /// The child named `name`, as a new reference (`gst_bin_get_by_name`, one level).
    #[doc(alias = "gst_bin_get_by_name")]
    #[must_use]
    pub fn child_by_name(&self, name: &str) -> Option<Object<T>> {
        self.children_snapshot()
            .iter()
            .find(|c| c.has_name(name))
            .cloned()
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
