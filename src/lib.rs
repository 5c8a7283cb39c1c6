//! GStreamer's multithreading-safety patterns, made to hold by construction.
//!
//! GStreamer checks its threading rules at run time and prints a critical when code
//! breaks them: writing a buffer that someone else still holds, giving a structure a
//! second parent, walking a children list that changed underneath. mtsafe carries the
//! same patterns into Rust so that the rules hold by construction (types, borrows,
//! ownership), with the primitives' atomic orderings model-checked under [loom] and
//! the unit, integration and doc tests run under Miri (the README's "How it is
//! verified" names what each check covers, and what it does not).
//!
//! # The pattern map
//!
//! | GStreamer / GLib                                                       | mtsafe             | what it guarantees |
//! |------------------------------------------------------------------------|--------------------|--------------------|
//! | `GstMiniObject` ref/unref, `gst_mini_object_is_writable`, `make_writable` | [`CowShared<T>`]  | a shared immutable value; [`CowShared::get_writable`] copies only when shared, never otherwise |
//! | `GstStructure.parent_refcount`, `GstMiniObject` parents (memory in a buffer) | [`ParentLink`] | a child knows the live refcount of the one parent that holds it; a second parent is refused; a parent that went, or let go of a child someone else still holds, reads as not writable (the link cannot vouch for a holder it does not know); a link never dangles |
//! | `GstBuffer` of `GstMemory` blocks                                      | [`buffer`]         | two-level copy-on-write: copying a buffer shares its blocks, writing a block copies that block only; a block of a shared buffer never reads as writable, whatever the order of copies and drops |
//! | children list + `guint32` cookie, `GstIterator` (`next`, `resync`, `fold`, `foreach`, `find_custom`, `filter`) | [`CookieList<T>`], [`CookieIter`] | items handed out as clones, used with no lock; any change since the last resync makes the next step report [`Resync`] before touching a position; a step takes no lock, so a busy writer cannot starve readers |
//! | `GInitiallyUnowned`, `g_object_ref_sink`, `g_object_force_floating`     | [`Floating<T>`], [`Object::ref_sink`] | a new object is owned by nobody until sunk; sinking adopts the floating reference exactly once, even when threads race |
//! | `GST_OBJECT_LOCK` / `UNLOCK`, `/* with LOCK */`                        | [`ObjectLock<S>`], [`Object::lock`] | one non-recursive lock per object; re-locking on the holding thread panics naming the object instead of hanging; the guard borrows the object, so its last reference cannot go while it is locked |
//! | `gst_object_set_parent`, `gst_bin_add` / `remove`, `gst_object_get_name`, `gst_object_get_parent` | [`Object<T>`] | at most one parent, held weakly; children in a [`CookieList`]; self-parenting, a second parent, duplicate names and cycles refused with an [`ObjectError`]; accessors return copies and new references |
//! | "accessors return a snapshot", `g_object_get`                          | [`Property<V>`]    | readers never block and never see a torn value; `update` loses no update |
//!
//! # Quick start
//!
//! ```
//! use mtsafe::CowShared;
//! use std::thread;
//!
//! let mut config = CowShared::new(vec![48_000u32, 2]);
//! let reader = config.clone();
//! let t = thread::spawn(move || reader.iter().sum::<u32>()); // reads, never copies
//! CowShared::get_writable(&mut config)[1] = 6;                // shared: copies first
//! assert_eq!(t.join().unwrap(), 48_002);
//! assert_eq!(*config, [48_000, 6]);
//! ```
//!
//! # Model checking your own code with loom
//!
//! mtsafe switches to loom's atomics, cells, `Arc` and `Mutex` under the plain
//! `--cfg loom` (`RUSTFLAGS="--cfg loom"`), not under a feature of its own. A crate that
//! model-checks its own code with loom therefore gets mtsafe's primitives on loom's
//! atomics too, and loom explores mtsafe's interleavings together with the caller's.
//! Outside loom's `model` closure such a build panics, as any loom build does.
//!
//! [loom]: https://docs.rs/loom

#![deny(unsafe_op_in_unsafe_fn, missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations, rust_2018_idioms)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod buffer;
#[cfg(doctest)]
mod compile_fail_tests;
mod cookie_list;
mod object;
mod object_lock;
mod property;
mod shared;
mod sync;

pub use cookie_list::{
    CookieIter, CookieList, ListSnapshot, Resync, ResyncFilter, ResyncIterator, ResyncResults,
    SnapshotIntoIter, SnapshotIter, WouldWait,
};
pub use object::{Floating, IntoChild, Object, ObjectError, ObjectGuard, WeakObject};
pub use object_lock::{MappedObjectLockGuard, ObjectLock, ObjectLockGuard};
pub use property::{Property, Snapshot};
pub use shared::{CowShared, LinkError, ParentLink, ParentRef};

/// The README's Rust snippets, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The registry page's Rust snippets, as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../README.crate.md")]
struct CrateReadmeDoctests;
