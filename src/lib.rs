//! GStreamer's multithreading-safety patterns, made to hold by construction.
//!
//! GStreamer checks its threading rules at run time and prints a critical when code
//! breaks them: writing a buffer that someone else still holds, giving a structure a
//! second parent, walking a children list that changed underneath. mtsafe carries the
//! same patterns into Rust so that the rules hold by construction (types, borrows,
//! ownership), with the primitives' atomic orderings model-checked under [loom] and
//! the unit, integration and doc tests run under Miri ([`docs::verification`] names
//! what each check covers, and what it does not).
//!
//! # The pattern map
//!
#![doc = include_str!("../docs/pattern-map.md")]
//!
//! [`Buffer`]: buffer::Buffer
//! [`Memory`]: buffer::Memory
//! [`BufferPool`]: buffer::BufferPool
//!
//! The long-form documentation lives in [`docs`]: [the primitives in
//! depth](docs::primitives), [how mtsafe is verified](docs::verification), [the
//! benchmarks](docs::benchmarks) and [the limitations](docs::limitations).
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
pub mod docs;
#[cfg(test)]
mod internal_tests;
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
