//! Send and Sync of every public type, pinned (`CookieList`'s, `CookieIter`'s, the
//! pool's and `CowShared`'s sit beside their types): each `compile_fail` block below stands
//! beside a twin that compiles, so a block fails for the reason it names, not for a
//! typo (arc-swap's `compile_fail_tests.rs` habit). Doctests only.
//!
//! An object is shared across threads exactly when its data is `Send + Sync`:
//!
//! ```
//! fn assert_send_sync<X: Send + Sync>() {}
//! assert_send_sync::<mtsafe::Object<u32>>();
//! assert_send_sync::<mtsafe::WeakObject<u32>>();
//! assert_send_sync::<mtsafe::Floating<u32>>();
//! assert_send_sync::<mtsafe::ObjectError>();
//! ```
//!
//! ```compile_fail
//! fn assert_sync<X: Sync>() {}
//! assert_sync::<mtsafe::Object<std::cell::Cell<u32>>>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! assert_send::<mtsafe::Object<std::rc::Rc<u32>>>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! assert_send::<mtsafe::WeakObject<std::rc::Rc<u32>>>();
//! ```
//!
//! ```compile_fail
//! fn assert_sync<X: Sync>() {}
//! assert_sync::<mtsafe::Floating<std::cell::Cell<u32>>>();
//! ```
//!
//! An object's guard, like every lock guard here, stays on the thread that locked:
//!
//! ```
//! fn assert_sync<X: Sync>() {}
//! assert_sync::<mtsafe::ObjectLockGuard<'static, u32>>();
//! assert_sync::<mtsafe::MappedObjectLockGuard<'static, (u32, u8), u8>>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! assert_send::<mtsafe::ObjectGuard<'static, u32>>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! assert_send::<mtsafe::MappedObjectLockGuard<'static, (u32, u8), u8>>();
//! ```
//!
//! An `ObjectLock` hands its value to one thread at a time, so it is `Sync` whenever
//! the value is `Send` (`Mutex`'s rule):
//!
//! ```
//! fn assert_send_sync<X: Send + Sync>() {}
//! assert_send_sync::<mtsafe::ObjectLock<std::cell::Cell<u32>>>();
//! ```
//!
//! ```compile_fail
//! fn assert_sync<X: Sync>() {}
//! assert_sync::<mtsafe::ObjectLock<std::rc::Rc<u32>>>();
//! ```
//!
//! Properties and their snapshots are shared values:
//!
//! ```
//! fn assert_send_sync<X: Send + Sync>() {}
//! assert_send_sync::<mtsafe::Property<String>>();
//! assert_send_sync::<mtsafe::Snapshot<String>>();
//! ```
//!
//! ```compile_fail
//! fn assert_sync<X: Sync>() {}
//! assert_sync::<mtsafe::Property<std::cell::Cell<u32>>>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! assert_send::<mtsafe::Snapshot<std::cell::Cell<u32>>>();
//! ```
//!
//! A parent link is a plain shared word; a `ParentRef` (a parent's handle, borrowed
//! for one link or check) stays on the thread that borrowed it:
//!
//! ```
//! fn assert_send_sync<X: Send + Sync>() {}
//! assert_send_sync::<mtsafe::ParentLink>();
//! assert_send_sync::<mtsafe::LinkError>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! assert_send::<mtsafe::ParentRef<'static>>();
//! ```
//!
//! ```compile_fail
//! fn assert_sync<X: Sync>() {}
//! assert_sync::<mtsafe::ParentRef<'static>>();
//! ```
//!
//! Buffers and their blocks follow their samples; the pool's settings, statistics and
//! errors are plain values (the pool and its buffers are pinned beside their types):
//!
//! ```
//! fn assert_send_sync<X: Send + Sync>() {}
//! assert_send_sync::<mtsafe::buffer::Buffer<f32>>();
//! assert_send_sync::<mtsafe::buffer::Memory<f32>>();
//! assert_send_sync::<mtsafe::buffer::PoolConfig>();
//! assert_send_sync::<mtsafe::buffer::PoolStats>();
//! assert_send_sync::<mtsafe::buffer::AcquireError>();
//! ```
//!
//! ```compile_fail
//! fn assert_sync<X: Sync>() {}
//! assert_sync::<mtsafe::buffer::Memory<std::cell::Cell<f32>>>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! assert_send::<mtsafe::buffer::Buffer<std::rc::Rc<f32>>>();
//! ```
//!
//! The cookie list's snapshots and adapters follow their items (and predicates):
//!
//! ```
//! fn assert_send_sync<X: Send + Sync>() {}
//! type Iter = mtsafe::CookieIter<'static, u32>;
//! assert_send_sync::<mtsafe::ListSnapshot<u32>>();
//! assert_send_sync::<mtsafe::SnapshotIter<'static, u32>>();
//! assert_send_sync::<mtsafe::SnapshotIntoIter<u32>>();
//! assert_send_sync::<mtsafe::ResyncFilter<Iter, fn(&u32) -> bool>>();
//! assert_send_sync::<mtsafe::ResyncResults<Iter>>();
//! assert_send_sync::<mtsafe::Resync>();
//! assert_send_sync::<mtsafe::WouldWait<u32>>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! assert_send::<mtsafe::ListSnapshot<std::rc::Rc<u32>>>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! assert_send::<mtsafe::SnapshotIntoIter<std::rc::Rc<u32>>>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<X: Send>() {}
//! type Iter = mtsafe::CookieIter<'static, u32>;
//! assert_send::<mtsafe::ResyncResults<mtsafe::ResyncFilter<Iter, std::rc::Rc<u32>>>>();
//! ```
