//! [`Property<V>`]: a lock-free property snapshot, GStreamer's "accessors return a
//! copy" without the lock.
//!
//! `g_object_get` and `gst_object_get_name` take the object lock, copy the value and
//! release the lock, so a reader waits for every writer and every other reader. A
//! `Property` keeps its value behind an atomically replaced pointer (`arc-swap`,
//! through the sync shim): a reader takes the current snapshot with no lock and keeps
//! it as long as it likes; a writer publishes a whole new value. Readers never block,
//! never block a writer, and never see half of one write and half of another.

use core::fmt;
use core::ops::Deref;

use crate::sync::{guard_from_arc, guard_into_arc, Arc, ArcSwap, SwapGuard};

/// A value that readers load without a lock and writers replace whole: a lock-free
/// property snapshot.
///
/// ```
/// use mtsafe::Property;
/// use std::thread;
///
/// let volume = Property::new(1.0f32);
/// let snapshot = volume.load();          // no lock, no reference count touched
/// volume.set(0.5);                       // a new snapshot for later readers
/// assert_eq!(*snapshot, 1.0);            // the old one stays whole while held
/// assert_eq!(*volume.load(), 0.5);
///
/// // Concurrent read-modify-writes lose nothing:
/// let counter = Property::new(0u64);
/// thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| for _ in 0..100 { counter.update(|n| n + 1); });
///     }
/// });
/// assert_eq!(*counter.load(), 400);
/// ```
#[doc(alias = "g_object_get")]
#[doc(alias = "g_object_set")]
pub struct Property<V> {
    cell: ArcSwap<V>,
}

impl<V> Property<V> {
    /// A property holding `value`.
    pub fn new(value: V) -> Self {
        Self {
            cell: ArcSwap::new(Arc::new(value)),
        }
    }

    /// The current value, as a snapshot that stays valid (and unchanged) for as long
    /// as it is held, whatever writers do meanwhile. Never blocks.
    ///
    /// Cheap to take and meant to be short-lived (arc-swap lends from a small
    /// per-thread pool and falls back to a reference count when a thread holds many);
    /// for a long-lived copy, [`clone`](Clone::clone) the snapshot or take
    /// [`get`](Self::get).
    #[inline(always)]
    pub fn load(&self) -> Snapshot<V> {
        Snapshot(self.cell.load())
    }

    /// The current value as an owned, reference-counted snapshot.
    #[inline]
    pub fn get(&self) -> Snapshot<V> {
        Snapshot(guard_from_arc(self.cell.load_full()))
    }

    /// Publishes `value`: readers that load after this see it; readers holding an
    /// older snapshot keep theirs.
    pub fn set(&self, value: V) {
        drop(self.cell.swap(Arc::new(value)));
    }

    /// Publishes `value` and returns the snapshot it replaced.
    pub fn replace(&self, value: V) -> Snapshot<V> {
        Snapshot(guard_from_arc(self.cell.swap(Arc::new(value))))
    }

    /// Replaces the value with `f(current)`, race-free: when another writer publishes
    /// between the read and the write, `f` runs again on the newer value, so no
    /// update is lost (`f` may therefore run more than once). Returns the snapshot
    /// that was replaced.
    pub fn update(&self, f: impl FnMut(&V) -> V) -> Snapshot<V> {
        Snapshot(guard_from_arc(self.cell.rcu(f)))
    }
}

impl<V: Default> Default for Property<V> {
    fn default() -> Self {
        Self::new(V::default())
    }
}

impl<V: fmt::Debug> fmt::Debug for Property<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Property").field(&*self.load()).finish()
    }
}

/// One published value of a [`Property`], unchanged for as long as it is held.
pub struct Snapshot<V>(SwapGuard<V>);

impl<V> Snapshot<V> {
    /// Whether both snapshots are the same publication (not merely equal values).
    #[must_use]
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        core::ptr::eq::<V>(&**a, &**b)
    }

    /// The value, moved out when this is the only reference to the publication,
    /// cloned otherwise.
    #[must_use]
    pub fn into_value(this: Self) -> V
    where
        V: Clone,
    {
        Arc::try_unwrap(guard_into_arc(this.0)).unwrap_or_else(|shared| V::clone(&shared))
    }
}

impl<V> Deref for Snapshot<V> {
    type Target = V;

    #[inline(always)]
    fn deref(&self) -> &V {
        &self.0
    }
}

impl<V> Clone for Snapshot<V> {
    fn clone(&self) -> Self {
        Snapshot(guard_from_arc(Arc::clone(&self.0)))
    }
}

impl<V: fmt::Debug> fmt::Debug for Snapshot<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<V: fmt::Display> fmt::Display for Snapshot<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<V: PartialEq> PartialEq<V> for Snapshot<V> {
    fn eq(&self, other: &V) -> bool {
        **self == *other
    }
}
