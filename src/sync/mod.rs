//! The one place that names `std::sync`, `parking_lot`, `crossbeam_utils` or `loom`.
//!
//! Every other module takes its atomics, cells, `Arc` and `Mutex` from here, so a
//! single switch decides what they run on. The paths mirror std's
//! (`sync::atomic::AtomicUsize`, `sync::Mutex`, `sync::cell::UnsafeCell`,
//! `sync::thread::current_thread_token`). `std.rs` lists the normal build's
//! primitives (Miri's too) and `loom.rs` the `--cfg loom` build's; each stand-in has
//! its own file:
//!
//! | build                     | atomics, `Arc`                | `Mutex`, `Condvar`      | `UnsafeCell`                | `ArcSwap`                              | parking (`ObjectLock`) |
//! |---------------------------|-------------------------------|-------------------------|-----------------------------|----------------------------------------|------------------------|
//! | normal                    | `std::sync`                   | `parking_lot::Mutex` (std's under Miri; `mutex.rs`) | `core::cell::UnsafeCell` (`unsafe_cell.rs`) | `arc_swap::ArcSwap` (`arc_swap.rs`; under Miri a std mutex around an `Arc`, `arc_swap_mutex.rs`) | `parking_lot_core` (`park.rs`; under Miri one std mutex and condition variable, `park_stand_in.rs`) |
//! | `RUSTFLAGS="--cfg loom"`  | `loom::sync`                  | `loom::sync::Mutex` (`loom.rs`) | `loom::cell::UnsafeCell` (`loom.rs`) | `loom::sync::Mutex<loom::sync::Arc<T>>` (`arc_swap_mutex.rs`) | one loom mutex and condition variable (`park_stand_in.rs`) |
//!
//! Beside them: `Backoff` (crossbeam's; under loom a yield, `backoff.rs`),
//! `StallClock` (wall-clock time; under loom a count of calls, `stall_clock.rs`),
//! `AllocTrack` (nothing; under loom `loom::alloc::Track`, `alloc_track.rs`), the
//! thread token (`thread.rs`), and `unmodeled`: std's own primitives in every
//! build, for process-wide bookkeeping that loom must not see.
//!
//! The switch is the plain `--cfg loom`, on purpose: a downstream crate that
//! model-checks its own code with loom gets mtsafe's primitives on loom's atomics
//! too, so loom explores mtsafe's interleavings together with the caller's.
//!
//! The API is the intersection of both worlds: a poison-free `Mutex::lock() -> guard`
//! and an `UnsafeCell` that is only reached through a closure (`with_mut`) or a
//! pointer a guard keeps (`cell::get_mut_ptr`), the shapes loom needs to track
//! accesses. What no build uses is not kept: the compiler reports it.
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
//!
//! Under Miri the shim uses the same mutex-based `ArcSwap` (with std's `Arc` and
//! mutex): arc-swap's helping path, taken when a reader races a writer, casts
//! integers to pointers, which `-Zmiri-strict-provenance` refuses. Miri therefore
//! checks mtsafe's use of the contract, not arc-swap's internals (arc-swap's own
//! test suite covers those).

// The switch: one build's list of primitives or the other's.
#[cfg(not(loom))]
mod std;
#[cfg(not(loom))]
pub(crate) use self::std::*;

#[cfg(loom)]
mod loom;
#[cfg(loom)]
pub(crate) use self::loom::*;

// The stand-ins and wrappers the two lists choose from.
mod alloc_track;
#[cfg(all(not(loom), not(miri)))]
mod arc_swap;
#[cfg(any(loom, miri))]
mod arc_swap_mutex;
#[cfg(loom)]
mod backoff;
#[cfg(not(loom))]
mod mutex;
#[cfg(all(not(loom), not(miri)))]
mod park;
#[cfg(any(loom, miri))]
mod park_stand_in;
mod stall_clock;
pub(crate) mod thread;
pub(crate) mod unmodeled;
#[cfg(not(loom))]
mod unsafe_cell;

// The same in every build.
pub(crate) use alloc_track::AllocTrack;
pub(crate) use stall_clock::StallClock;

/// An atomic that sits alone in its cache line (`crossbeam_utils::CachePadded`): a
/// counter that some threads write often does not slow down loads of its neighbours.
/// A plain wrapper, the same in every build (loom sees the atomic inside).
pub(crate) use crossbeam_utils::CachePadded;

/// Aborts the process: the answer to a reference count overflow, as `std::sync::Arc`
/// gives it (unwinding could run destructors that still use the overflowed count).
#[cold]
#[inline(never)]
pub(crate) fn abort() -> ! {
    ::std::process::abort()
}
