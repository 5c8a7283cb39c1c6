//! The one place that names `std::sync`, `parking_lot` or `loom`.
//!
//! Every other module takes its atomics, cells, `Arc` and `Mutex` from here, so a
//! single switch decides what they run on:
//!
//! | build                     | atomics, `Arc`                | `Mutex`                 | `UnsafeCell`                |
//! |---------------------------|-------------------------------|-------------------------|-----------------------------|
//! | normal                    | `std::sync`                   | `parking_lot::Mutex`    | `core::cell::UnsafeCell`    |
//! | `RUSTFLAGS="--cfg loom"`  | `loom::sync`                  | `loom::sync::Mutex`     | `loom::cell::UnsafeCell`    |
//!
//! The switch is the plain `--cfg loom`, on purpose: a downstream crate that
//! model-checks its own code with loom gets mtsafe's primitives on loom's atomics
//! too, so loom explores mtsafe's interleavings together with the caller's.
//!
//! The API is the intersection of both worlds: a poison-free `Mutex::lock() -> guard`
//! and an `UnsafeCell` that is only reached through `with` / `with_mut`, the shape
//! loom needs to track accesses.

// The shim's whole API is kept in both worlds, whether or not every primitive uses
// every part of it yet.
#[cfg(not(loom))]
#[allow(dead_code, unused_imports)]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use std::sync::Arc;

    /// A poison-free mutex (parking_lot underneath).
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T: ?Sized>(parking_lot::Mutex<T>);

    /// The guard of [`Mutex`].
    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(parking_lot::Mutex::new(value))
        }
    }

    impl<T: ?Sized> Mutex<T> {
        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }
    }

    /// `core::cell::UnsafeCell` behind loom's closure-based API.
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a shared pointer to the value.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a mutable pointer to the value.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
#[allow(dead_code, unused_imports)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use loom::sync::Arc;

    /// A poison-free mutex (loom's, so loom sees every lock and unlock).
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// The guard of [`Mutex`].
    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            // A panic while locked only happens when a loom model already failed.
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Self::new(T::default())
        }
    }
}

#[allow(unused_imports)]
pub(crate) use imp::*;

/// Marks an allocation that mtsafe frees by hand: under loom it is a
/// `loom::alloc::Track`, so a model that leaks the allocation fails; elsewhere it is a
/// zero-sized no-op.
#[derive(Debug)]
pub(crate) struct AllocTrack(
    #[cfg(loom)] // Held for its drop, which loom checks.
    #[allow(dead_code)]
    loom::alloc::Track<()>,
);

impl AllocTrack {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Self(
            #[cfg(loom)]
            loom::alloc::Track::new(()),
        )
    }
}

/// Aborts the process: the answer to a reference count overflow, as `std::sync::Arc`
/// gives it (unwinding could run destructors that still use the overflowed count).
#[cold]
#[inline(never)]
pub(crate) fn abort() -> ! {
    std::process::abort()
}
