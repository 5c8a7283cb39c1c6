//! The one place that names `std::sync`, `parking_lot` or `loom`.
//!
//! Every other module takes its atomics, cells, `Arc` and `Mutex` from here, so a
//! single switch decides what they run on:
//!
//! | build                     | atomics, `Arc`                | `Mutex`                 | `UnsafeCell`                | `ArcSwap`                              |
//! |---------------------------|-------------------------------|-------------------------|-----------------------------|----------------------------------------|
//! | normal                    | `std::sync`                   | `parking_lot::Mutex` (std's under Miri) | `core::cell::UnsafeCell`    | `arc_swap::ArcSwap`                    |
//! | `RUSTFLAGS="--cfg loom"`  | `loom::sync`                  | `loom::sync::Mutex`     | `loom::cell::UnsafeCell`    | `loom::sync::Mutex<loom::sync::Arc<T>>` |
//!
//! The switch is the plain `--cfg loom`, on purpose: a downstream crate that
//! model-checks its own code with loom gets mtsafe's primitives on loom's atomics
//! too, so loom explores mtsafe's interleavings together with the caller's.
//!
//! The API is the intersection of both worlds: a poison-free `Mutex::lock() -> guard`
//! and an `UnsafeCell` that is only reached through `with` / `with_mut`, the shape
//! loom needs to track accesses.
//!
//! `ArcSwap<T>` (an `Arc<T>` that readers load and writers replace) is `arc-swap`'s
//! lock-free `ArcSwap` normally. arc-swap cannot run under loom (its debt lists and
//! thread-locals are invisible to loom's scheduler), so under `--cfg loom` the shim
//! substitutes a loom-visible equivalent with the same contract: a `loom::sync::Mutex`
//! around a `loom::sync::Arc<T>`. The contract both keep, and that callers may rely on:
//! every `load_full`, `with` and `swap` is linearizable (arc-swap gives each operation
//! a `SeqCst` read-modify-write; the mutex gives a total order of critical sections),
//! and a load that returns the `Arc` a `swap` stored synchronizes with that `swap`, so
//! everything written before the `swap` (the value itself included) is visible to the
//! loader. What loom does not check is arc-swap's own lock-freedom: under loom a load
//! may block behind a swap, which only adds interleavings.

// The shim's whole API is kept in both worlds, whether or not every primitive uses
// every part of it yet.
#[cfg(not(loom))]
#[allow(dead_code, unused_imports)]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use std::sync::Arc;

    /// A poison-free mutex: parking_lot, or std's under Miri (parking_lot's parking
    /// casts integers to pointers, which strict-provenance Miri refuses, and the
    /// stress tests would otherwise have to skip Miri).
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T: ?Sized>(
        #[cfg(not(miri))] parking_lot::Mutex<T>,
        #[cfg(miri)] std::sync::Mutex<T>,
    );

    /// The guard of [`Mutex`].
    #[cfg(not(miri))]
    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
    /// The guard of [`Mutex`].
    #[cfg(miri)]
    pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            #[cfg(not(miri))]
            return Self(parking_lot::Mutex::new(value));
            #[cfg(miri)]
            return Self(std::sync::Mutex::new(value));
        }
    }

    impl<T: ?Sized> Mutex<T> {
        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            #[cfg(not(miri))]
            return self.0.lock();
            // Poison-free like parking_lot's: a panic while locked is already a failure.
            #[cfg(miri)]
            return self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
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

// ---------------------------------------------------------------------------------
// `ArcSwap<T>`: an atomically replaceable `Arc<T>` (arc-swap, or a mutex under loom).
// ---------------------------------------------------------------------------------

#[cfg(not(loom))]
mod swap_imp {
    use super::imp::Arc;

    /// An `Arc<T>` that readers load without a lock and writers replace atomically:
    /// `arc_swap::ArcSwap<T>`. See the module docs for the contract it shares with
    /// the loom build.
    #[derive(Debug)]
    pub(crate) struct ArcSwap<T>(arc_swap::ArcSwap<T>);

    impl<T> ArcSwap<T> {
        pub(crate) fn new(value: Arc<T>) -> Self {
            Self(arc_swap::ArcSwap::new(value))
        }

        /// A new `Arc` to the current value.
        #[inline]
        pub(crate) fn load_full(&self) -> Arc<T> {
            self.0.load_full()
        }

        /// Runs `f` on the current value, without touching its reference count.
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
            f(&self.0.load())
        }

        /// Stores `new` and returns the value it replaced.
        #[inline]
        pub(crate) fn swap(&self, new: Arc<T>) -> Arc<T> {
            self.0.swap(new)
        }
    }

    /// `Arc<[T]>` from a `Vec<T>` (one allocation, the items moved in).
    #[inline]
    pub(crate) fn arc_slice<T>(items: Vec<T>) -> Arc<[T]> {
        Arc::from(items)
    }
}

#[cfg(loom)]
mod swap_imp {
    use super::imp::{Arc, Mutex};

    /// The loom build's `ArcSwap<T>`: a loom mutex around a loom `Arc<T>`, so that loom
    /// sees (and permutes) every load and swap. Same contract as arc-swap's (module
    /// docs), blocking instead of lock-free.
    #[derive(Debug)]
    pub(crate) struct ArcSwap<T>(Mutex<Arc<T>>);

    impl<T> ArcSwap<T> {
        pub(crate) fn new(value: Arc<T>) -> Self {
            Self(Mutex::new(value))
        }

        /// A new `Arc` to the current value.
        pub(crate) fn load_full(&self) -> Arc<T> {
            Arc::clone(&self.0.lock())
        }

        /// Runs `f` on the current value. The lock is released before `f` runs, as
        /// arc-swap's guard holds no lock either.
        pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
            f(&self.load_full())
        }

        /// Stores `new` and returns the value it replaced.
        pub(crate) fn swap(&self, new: Arc<T>) -> Arc<T> {
            core::mem::replace(&mut *self.0.lock(), new)
        }
    }

    /// `Arc<[T]>` from a `Vec<T>`; loom's `Arc` has no unsized coercion, so it adopts a
    /// fresh `std` one.
    pub(crate) fn arc_slice<T>(items: Vec<T>) -> Arc<[T]> {
        Arc::from_std(std::sync::Arc::from(items))
    }
}

pub(crate) use swap_imp::{arc_slice, ArcSwap};

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
