//! The hierarchy: parent links, the tree locks, and the changes made under them
//! (`add`, `remove`, `unparent`), with the walks up a tree they need (`climb`, the
//! root) and the reads that take no tree lock (`parent`, the children). The locks
//! and their order are laid out in the object module's docs.

use super::{into_child, IntoChild, Name, Object, ObjectError, ObjectInner};
use crate::cookie_list::{CookieIter, ListSnapshot};
use crate::shared::{StrongShared, WeakShared};

/// Why a child was refused, as found under the locks: made into an [`ObjectError`]
/// once they are released (dropping the other parent's handle then, too).
enum Refusal<T> {
    WouldCycle,
    HasParent(Object<T>),
    DuplicateName(Name),
}

/// Under loom, a number for each new object, increasing in creation order: the
/// order of two tree locks, which must not depend on heap addresses there, since
/// loom replays every interleaving and needs the same choices each time. A plain std
/// atomic (the shim's `unmodeled`): bookkeeping, not one of the interleavings the
/// models are about (only the relative order of one model run's objects matters).
#[cfg(loom)]
pub(super) fn next_lock_order() -> u64 {
    use crate::sync::unmodeled::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // Relaxed: only uniqueness and each thread's own order matter.
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl<T> Object<T> {
    /// The order in which two tree locks are taken: the object's address (under
    /// loom a number given at creation, see `lock_order`).
    fn lock_order(&self) -> u64 {
        #[cfg(not(loom))]
        return self.value_ptr().addr() as u64;
        #[cfg(loom)]
        // loom-mutant: hierarchy-one-lock-order-for-every-object
        return self.inner.lock_order;
    }

    pub(super) fn live_parent(parent: &Option<WeakShared<ObjectInner<T>>>) -> Option<Object<T>> {
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
            // Unit tests only (nothing outside `cfg(test)`): a test's hook runs here,
            // with no lock held, between the looks above and the locks below, to
            // make a competing change exactly in that window (another add of the
            // child, an opposite add, a merge) and see the re-check below handle it,
            // and to see which tree lock is taken first (internal_tests/hierarchy.rs).
            #[cfg(test)]
            crate::internal_tests::hierarchy::before_tree_locks(first, second);
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
