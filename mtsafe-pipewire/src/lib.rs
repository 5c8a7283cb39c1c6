//! PipeWire's thread-loop locking rule, held by construction: every call that needs
//! the loop's lock takes a proof that the caller holds it, so the mistake does not
//! compile.
//!
//! # The failure this prevents
//!
//! Baresip's PipeWire module started its `pw_thread_loop` and then called
//! `pw_context_connect` and the registry functions from its own thread without
//! `pw_thread_loop_lock`. PipeWire ≥ 0.3.68 checks that at run time and prints, for
//! each such call,
//!
//! ```text
//! impl_ext_end_proxy called from wrong context, check thread and locking: Operation not permitted
//! ```
//!
//! and on PipeWire 1.4 the same race sometimes crashes the loop thread or hangs
//! `pw_thread_loop_stop`. pipewire-rs does not stop it: its calls take `&self`
//! whether or not the lock is held. Here the same code does not compile, because
//! `connect` needs a [`Locked`] token and only a held lock gives one:
//!
//! ```compile_fail
//! use mtsafe_pipewire::ThreadLoop;
//! fn start_then_connect(tl: &mut ThreadLoop) -> Result<(), pipewire::Error> {
//!     let context = tl.lock().context()?;
//!     tl.lock().start()?;
//!     let _core = context.connect()?; // error: `connect` takes the lock's proof
//!     Ok(())
//! }
//! ```
//!
//! The right order (lock, start, connect, in one locked region) compiles:
//!
//! ```no_run
//! use mtsafe_pipewire::ThreadLoop;
//! fn start_then_connect(tl: &mut ThreadLoop) -> Result<(), pipewire::Error> {
//!     let mut guard = tl.lock();
//!     guard.start()?;
//!     let context = guard.context()?;
//!     let core = context.connect(guard.locked())?;
//!     let _registry = core.registry(guard.locked())?;
//!     Ok(())
//! }
//! ```
//!
//! The [`devices`] module keeps a live device list (audio nodes, ports and links, from
//! the registry on the loop thread) in mtsafe's `CookieList`s, read from any thread
//! with the resync iterator; it detects a session manager, follows the default
//! devices through the `default` metadata ([`Registry::bind_metadata`]) and looks up
//! the device a user names.
//!
//! # The rule
//!
//! A `pw_thread_loop` runs PipeWire's event loop on a thread of its own. From the
//! moment it is started, every call into PipeWire on an object of that loop (connect,
//! get the registry, add or remove a listener, sync, create or destroy a proxy, make,
//! connect or destroy a stream) from any *other* thread must hold the loop's lock
//! (`pw_thread_loop_lock`); the start itself and the connect belong in the same locked
//! region; and the lock must be released on every path out, errors included.
//! Breaking it prints `... called from wrong context, check thread and locking` on
//! PipeWire ≥ 0.3.85 and, on 1.4, crashes or hangs some runs. pipewire-rs does not
//! stop it: its calls take `&self` whether or not the lock is held, and its callbacks
//! need not be `Send` although they run on the loop thread.
//!
//! # The proof
//!
//! Here the lock is a value the compiler checks:
//!
//! | PipeWire                                    | here                                                       |
//! |---------------------------------------------|------------------------------------------------------------|
//! | `pw_thread_loop_lock` / `unlock`            | [`ThreadLoop::lock`] → [`LoopGuard`]; unlock is its drop, so `?` and panics unlock too |
//! | "the caller holds the lock"                 | [`Locked<'_>`]: a token borrowed from the guard, `Copy`, not `Send`, and unforgeable outside this module |
//! | a call that needs the lock                  | a method that takes a `Locked<'_>`: without a guard there is no token, and no call |
//! | an event on the loop thread (lock held)     | the callback receives a `Locked<'_>` for the length of the call |
//! | the real-time `process` event (data thread, lock *not* held) | the callback receives a [`Process`], which can dequeue buffers and nothing else |
//! | destroying a proxy, stream or listener      | its `Drop` takes the (recursive) lock itself                |
//! | `pw_thread_loop_stop` (must be unlocked)    | [`ThreadLoop::stop`] takes `&mut self`, which no guard can coexist with |
//! | `pw_thread_loop_wait`                       | [`LoopGuard::wait_until`]: only with the guard, never nested (`lock` takes `&mut`) |
//!
//! - The token's lifetime is the guard's borrow (or the callback's call), so it
//!   cannot outlive the lock; `!Send`, so it cannot move to a thread that does not
//!   hold the lock; it names the loop it proves, checked on every call.
//! - Waiting releases the lock, so [`LoopGuard::wait_until`] takes the guard by
//!   `&mut`: no token borrowed from it can be alive across a wait.
//! - Callbacks must be `Send + 'static`: they run on the loop's thread (or the data
//!   thread), so they may not capture this thread's `Rc`s — including every object of
//!   this module, which are all `!Send`.
//!
//! With a guard, a call compiles:
//!
//! ```no_run
//! use mtsafe_pipewire::{Core, LoopGuard};
//! fn round_trip(core: &Core, guard: &LoopGuard<'_>) -> Result<i32, pipewire::Error> {
//!     core.sync(guard.locked())
//! }
//! ```
//!
//! Without one it does not (the token is a required argument):
//!
//! ```compile_fail
//! fn round_trip(core: &mtsafe_pipewire::Core) {
//!     let _ = core.sync();
//! }
//! ```
//!
//! A token cannot outlive its guard...
//!
//! ```compile_fail
//! use mtsafe_pipewire::{Locked, ThreadLoop};
//! fn leak(tl: &mut ThreadLoop) -> Locked<'static> {
//!     let guard = tl.lock();
//!     guard.locked()
//! }
//! ```
//!
//! (used while the guard lives, it compiles:)
//!
//! ```no_run
//! use mtsafe_pipewire::ThreadLoop;
//! fn within(tl: &mut ThreadLoop) {
//!     let guard = tl.lock();
//!     guard.locked().signal();
//! }
//! ```
//!
//! ...nor go to another thread, which does not hold the lock:
//!
//! ```compile_fail
//! use mtsafe_pipewire::LoopGuard;
//! fn escape(guard: &LoopGuard<'_>) {
//!     let locked = guard.locked();
//!     std::thread::scope(|s| {
//!         s.spawn(move || locked.signal());
//!     });
//! }
//! ```
//!
//! (on the thread that holds the lock, it compiles:)
//!
//! ```no_run
//! use mtsafe_pipewire::LoopGuard;
//! fn here(guard: &LoopGuard<'_>) {
//!     let locked = guard.locked();
//!     locked.signal();
//! }
//! ```
//!
//! ...nor live across a wait, which releases the lock:
//!
//! ```compile_fail
//! use mtsafe_pipewire::ThreadLoop;
//! fn across_wait(tl: &mut ThreadLoop) {
//!     let mut guard = tl.lock();
//!     let locked = guard.locked();
//!     guard.wait_until(std::time::Instant::now());
//!     locked.signal();
//! }
//! ```
//!
//! (a token taken again after the wait compiles:)
//!
//! ```no_run
//! use mtsafe_pipewire::ThreadLoop;
//! fn after_wait(tl: &mut ThreadLoop) {
//!     let mut guard = tl.lock();
//!     guard.wait_until(std::time::Instant::now());
//!     guard.locked().signal();
//! }
//! ```
//!
//! `stop` cannot run while this thread holds the lock (it would deadlock):
//!
//! ```compile_fail
//! use mtsafe_pipewire::ThreadLoop;
//! fn stop_locked(tl: &mut ThreadLoop) {
//!     let guard = tl.lock();
//!     tl.stop();
//!     drop(guard);
//! }
//! ```
//!
//! (with the guard dropped first, it compiles:)
//!
//! ```no_run
//! use mtsafe_pipewire::ThreadLoop;
//! fn stop_unlocked(tl: &mut ThreadLoop) {
//!     let guard = tl.lock();
//!     drop(guard);
//!     tl.stop();
//! }
//! ```
//!
//! and a callback cannot capture this thread's `Rc`s (it runs on the loop thread):
//!
//! ```compile_fail
//! use mtsafe_pipewire::{LoopGuard, Registry};
//! fn listen(registry: &Registry, guard: &LoopGuard<'_>) {
//!     let mine = std::rc::Rc::new(0);
//!     let _l = registry.listen(guard.locked(), move |_, _| drop(mine.clone()), |_, _| {});
//! }
//! ```
//!
//! while one that captures `Send` state compiles:
//!
//! ```no_run
//! use mtsafe_pipewire::{LoopGuard, Registry};
//! use std::sync::{atomic::{AtomicU32, Ordering}, Arc};
//! fn listen(registry: &Registry, guard: &LoopGuard<'_>) {
//!     let seen = Arc::new(AtomicU32::new(0));
//!     let _l = registry.listen(
//!         guard.locked(),
//!         move |_, _| { seen.fetch_add(1, Ordering::Relaxed); },
//!         |_, _| {},
//!     );
//! }
//! ```
//!
//! The wrong way, for comparison, is the PipeWire example's `unlocked_demo.rs` (in
//! mtsafe's repository), which bypasses this crate on purpose and makes PipeWire
//! print the warning above.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, rust_2018_idioms, clippy::undocumented_unsafe_blocks)]

pub mod devices;
mod metadata;
mod stream;

pub use metadata::Metadata;
pub use stream::{Process, StateFn, Stream};

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use pipewire as pw;
use pw::spa;

/// A PipeWire event loop on a thread of its own, whose lock is a [`LoopGuard`].
///
/// Not `Send`: it, and every object made on it, stay on the thread that made them;
/// the loop's own thread reaches them only through the callbacks registered here.
pub struct ThreadLoop {
    tl: pw::thread_loop::ThreadLoopRc,
    running: Cell<bool>,
}

impl ThreadLoop {
    /// A new, stopped thread loop (initializes PipeWire).
    pub fn new(name: &str) -> Result<Self, pw::Error> {
        // SAFETY: `pw_thread_loop_new` has no precondition beyond `pw_init`, which
        // this call makes. pipewire-rs marks it unsafe because everything made on the
        // loop must afterwards be used under its lock or on its thread: the rule this
        // module enforces for every object it hands out.
        let tl = unsafe { pw::thread_loop::ThreadLoopRc::new(Some(name), None)? };
        Ok(Self {
            tl,
            running: Cell::new(false),
        })
    }

    /// Takes the loop's lock. `&mut self`: one guard at a time, so that
    /// [`LoopGuard::wait_until`] (which releases the lock once) never runs nested.
    pub fn lock(&mut self) -> LoopGuard<'_> {
        let this: &ThreadLoop = self;
        LoopGuard {
            _guard: this.tl.lock(),
            owner: this,
            _not_send: PhantomData,
        }
    }

    /// Stops the loop's thread and joins it. `pw_thread_loop_stop` must not be called
    /// with the lock held (the thread could not finish its iteration): `&mut self`
    /// proves that no [`LoopGuard`] of this loop exists on this thread, and no other
    /// thread can hold one (guards are `!Send`, the loop is `!Send`). The objects'
    /// own drops take the lock briefly and release it before they return.
    pub fn stop(&mut self) {
        if self.running.replace(false) {
            self.tl.stop();
        }
    }

    /// Whether the loop's thread runs.
    pub fn is_running(&self) -> bool {
        self.running.get()
    }
}

impl Drop for ThreadLoop {
    fn drop(&mut self) {
        // `&mut self`: no guard exists, as for `stop`.
        self.stop();
    }
}

/// The thread loop's lock, held until this is dropped (on every path: `?`, early
/// returns and panics unlock too). Hands out [`Locked`] tokens.
pub struct LoopGuard<'l> {
    _guard: pw::thread_loop::ThreadLoopLockGuard<'l>,
    owner: &'l ThreadLoop,
    _not_send: PhantomData<*const ()>,
}

impl<'l> LoopGuard<'l> {
    /// The proof that the lock is held, for as long as this guard is borrowed.
    pub fn locked(&self) -> Locked<'_> {
        Locked::new(self.owner.tl.as_raw_ptr())
    }

    /// Starts the loop's thread *inside* the locked region, as the rule asks: the
    /// thread starts, then waits for the lock until this region ends (or waits).
    pub fn start(&mut self) -> Result<(), pw::Error> {
        if !self.owner.running.replace(true) {
            self.owner.tl.start();
        }
        Ok(())
    }

    /// Makes a PipeWire context on this loop (`pw_context_new`, which adds sources to
    /// the running loop: it needs the lock, hence the guard).
    pub fn context(&self) -> Result<Context, pw::Error> {
        let ctx = pw::context::ContextRc::new(&self.owner.tl, None)?;
        Ok(Context(Held::new(ctx, &self.owner.tl)))
    }

    /// Releases the lock and waits until a callback signals ([`Locked::signal`]) or
    /// `deadline` passes (or a short while: wake-ups may be spurious, re-check the
    /// condition); the lock is held again when this returns. `false` once `deadline`
    /// has passed.
    pub fn wait_until(&mut self, deadline: Instant) -> bool {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        // At most 100 ms at a time, so a lost signal costs little.
        let slice = (deadline - now).min(Duration::from_millis(100));
        let abstime = self.owner.tl.get_time(slice.as_nanos() as i64);
        self.owner.tl.timed_wait_full(abstime);
        true
    }

    /// Waits (releasing the lock meanwhile) until `done()` holds, or fails with
    /// `what` after `timeout`.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while !done() {
            if !self.wait_until(deadline) {
                return Err(format!("timed out after {timeout:?} waiting for {what}"));
            }
        }
        Ok(())
    }
}

/// Proof that the calling thread holds the lock of one thread loop: from
/// [`LoopGuard::locked`], or handed to a callback that the loop's thread runs with its
/// lock held.
///
/// `Copy` within its lifetime; neither `Send` nor `Sync`; made only in this module.
#[derive(Clone, Copy)]
pub struct Locked<'a> {
    tl: *mut pw::sys::pw_thread_loop,
    _lock: PhantomData<&'a ()>,
}

impl Locked<'_> {
    fn new(tl: *mut pw::sys::pw_thread_loop) -> Self {
        Self {
            tl,
            _lock: PhantomData,
        }
    }

    /// Panics unless this proves the lock of `tl`: a proof for one loop is no proof
    /// for another.
    fn check(self, tl: &pw::thread_loop::ThreadLoopRc) {
        assert_eq!(
            self.tl,
            tl.as_raw_ptr(),
            "a lock proof of another thread loop"
        );
    }

    /// Wakes the thread waiting in [`LoopGuard::wait_until`]
    /// (`pw_thread_loop_signal`, which needs the lock).
    pub fn signal(self) {
        // SAFETY: `tl` is a live thread loop: a token exists only while its guard, or
        // the loop's own dispatch of a callback, does; and the lock is held.
        unsafe { pw::sys::pw_thread_loop_signal(self.tl, false) };
    }
}

/// A raw thread-loop pointer carried into callbacks, to make their tokens.
#[derive(Clone, Copy)]
struct LoopPtr(*mut pw::sys::pw_thread_loop);

impl LoopPtr {
    fn of(tl: &pw::thread_loop::ThreadLoopRc) -> Self {
        Self(tl.as_raw_ptr())
    }

    /// The token for a callback that the loop's thread runs.
    ///
    /// # Safety
    /// The caller runs on the loop's thread, inside its dispatch of an event (where
    /// `pw_thread_loop` holds the lock), or inside a call made with a token.
    unsafe fn locked<'a>(self) -> Locked<'a> {
        Locked::new(self.0)
    }
}

/// An object of a thread loop that is used only with the lock held and destroyed
/// under the lock: its `Drop` takes the (recursive) lock itself.
struct Held<T> {
    inner: Option<T>,
    tl: pw::thread_loop::ThreadLoopRc,
}

impl<T> Held<T> {
    fn new(inner: T, tl: &pw::thread_loop::ThreadLoopRc) -> Self {
        Self {
            inner: Some(inner),
            tl: tl.clone(),
        }
    }

    fn get(&self, locked: Locked<'_>) -> &T {
        locked.check(&self.tl);
        self.inner.as_ref().expect("taken only by drop")
    }
}

impl<T> Drop for Held<T> {
    fn drop(&mut self) {
        // The lock is recursive: this is right inside a locked region too.
        let _guard = self.tl.lock();
        drop(self.inner.take());
    }
}

/// Listeners an object owns: removed (under the lock) before the object goes, so no
/// hook outlives the list it is in. Declared before the object in each wrapper:
/// fields drop in order.
#[derive(Default)]
struct Listeners(RefCell<Vec<Held<Box<dyn Any>>>>);

impl Listeners {
    fn add<L: 'static>(&self, listener: L, tl: &pw::thread_loop::ThreadLoopRc) {
        self.0.borrow_mut().push(Held::new(Box::new(listener), tl));
    }
}

/// A PipeWire context (`pw_context`).
pub struct Context(Held<pw::context::ContextRc>);

impl Context {
    /// Connects to the daemon (`pw_context_connect`), with the lock held, as the rule
    /// asks of the connect.
    pub fn connect(&self, locked: Locked<'_>) -> Result<Core, pw::Error> {
        let core = self.0.get(locked).connect_rc(None)?;
        Ok(Core {
            listeners: Listeners::default(),
            core: Held::new(core, &self.0.tl),
        })
    }
}

/// The connection to the daemon (`pw_core`). The objects made through it keep it
/// alive (pipewire-rs's `Rc`s, and [`Proxy`]'s own reference), so it is never
/// disconnected under them.
pub struct Core {
    listeners: Listeners,
    core: Held<pw::core::CoreRc>,
}

/// The core's `done(id, seq)` event: the answer to [`Core::sync`].
pub type DoneFn = dyn Fn(Locked<'_>, u32, i32) + Send;
/// The core's `error(id, seq, res, message)` event: an object failed; id 0 is the
/// connection itself.
pub type ErrorFn = dyn Fn(Locked<'_>, u32, i32, i32, &str) + Send;

impl Core {
    /// Registers the core's `done` and `error` events (`pw_core_add_listener`); they
    /// run on the loop thread with a lock proof.
    pub fn listen(&self, locked: Locked<'_>, done: Box<DoneFn>, error: Box<ErrorFn>) {
        let at = LoopPtr::of(&self.core.tl);
        let listener = self
            .core
            .get(locked)
            .add_listener_local()
            // SAFETY: the loop's thread dispatches core events with the lock held.
            .done(move |id, seq| done(unsafe { at.locked() }, id, seq.seq()))
            .error(move |id, seq, res, message| {
                // SAFETY: as for `done`.
                error(unsafe { at.locked() }, id, seq, res, message)
            })
            .register();
        self.listeners.add(listener, &self.core.tl);
    }

    /// Asks the daemon for a `done` event once it handled everything sent so far
    /// (`pw_core_sync`); returns the sequence number `done` will carry.
    pub fn sync(&self, locked: Locked<'_>) -> Result<i32, pw::Error> {
        Ok(self.core.get(locked).sync(0)?.seq())
    }

    /// The registry (`pw_core_get_registry`).
    pub fn registry(&self, locked: Locked<'_>) -> Result<Registry, pw::Error> {
        let registry = self.core.get(locked).get_registry_rc()?;
        Ok(Registry {
            listeners: Listeners::default(),
            registry: Held::new(registry, &self.core.tl),
        })
    }

    /// Creates an object on the daemon from a factory (`pw_core_create_object`); it
    /// is destroyed when the returned proxy is dropped, unless it lingers.
    pub fn create_object<P: pw::proxy::ProxyT + 'static>(
        &self,
        locked: Locked<'_>,
        factory: &str,
        props: &pw::properties::PropertiesBox,
    ) -> Result<Proxy<P>, pw::Error> {
        let core = self.core.get(locked);
        let proxy = core.create_object::<P>(factory, props)?;
        Ok(Proxy {
            proxy: Held::new(proxy, &self.core.tl),
            _core: Held::new(core.clone(), &self.core.tl),
        })
    }

    /// A new stream on this connection (`pw_stream_new`).
    pub fn stream(
        &self,
        locked: Locked<'_>,
        name: &str,
        props: pw::properties::PropertiesBox,
    ) -> Result<Stream, pw::Error> {
        let core = self.core.get(locked).clone();
        let stream = pw::stream::StreamRc::new(core, name, props)?;
        Ok(Stream {
            listeners: Listeners::default(),
            stream: Held::new(stream, &self.core.tl),
        })
    }
}

/// The registry of the daemon's objects (`pw_registry`).
pub struct Registry {
    listeners: Listeners,
    registry: Held<pw::registry::RegistryRc>,
}

/// A global object announced by the registry.
pub type Global<'a> = pw::registry::GlobalObject<&'a spa::utils::dict::DictRef>;

impl Registry {
    /// Registers `global` (an object appeared, or was there) and `global_remove` (it
    /// went); both run on the loop thread with a lock proof.
    pub fn listen(
        &self,
        locked: Locked<'_>,
        global: impl Fn(Locked<'_>, &Global<'_>) + Send + 'static,
        global_remove: impl Fn(Locked<'_>, u32) + Send + 'static,
    ) {
        let at = LoopPtr::of(&self.registry.tl);
        let listener = self
            .registry
            .get(locked)
            .add_listener_local()
            // SAFETY: the loop's thread dispatches registry events with the lock held.
            .global(move |g| global(unsafe { at.locked() }, g))
            // SAFETY: as for `global`.
            .global_remove(move |id| global_remove(unsafe { at.locked() }, id))
            .register();
        self.listeners.add(listener, &self.registry.tl);
    }

    /// Binds the metadata object with global id `id` (`pw_registry_bind`) and
    /// registers `property(subject, key, type, value)`, which the loop thread runs
    /// with a lock proof for each property the object holds when bound and for each
    /// change after (`key` `None`: every property was cleared; `value` `None`: `key`
    /// was removed).
    pub fn bind_metadata(
        &self,
        locked: Locked<'_>,
        id: u32,
        property: impl Fn(Locked<'_>, u32, Option<&str>, Option<&str>, Option<&str>) + Send + 'static,
    ) -> Result<Metadata, pw::Error> {
        let global = pw::registry::GlobalObject::<&spa::utils::dict::DictRef> {
            id,
            permissions: pw::permissions::PermissionFlags::empty(),
            type_: pw::types::ObjectType::Metadata,
            version: 3,
            props: None,
        };
        let metadata: pw::metadata::Metadata = self.registry.get(locked).bind(&global)?;
        let at = LoopPtr::of(&self.registry.tl);
        let listener = metadata
            .add_listener_local()
            .property(move |subject, key, type_, value| {
                // SAFETY: the loop's thread dispatches metadata events with the lock held.
                property(unsafe { at.locked() }, subject, key, type_, value);
                0
            })
            .register();
        let this = Metadata {
            listeners: Listeners::default(),
            metadata: Held::new(metadata, &self.registry.tl),
            _registry: Held::new(self.registry.get(locked).clone(), &self.registry.tl),
        };
        this.listeners.add(listener, &self.registry.tl);
        Ok(this)
    }
}

/// A proxy for an object made on the daemon (a node, a link); dropping it destroys
/// the proxy under the lock (and the object, unless it lingers). It keeps the core
/// alive: a core that disconnects destroys its proxies, and this one must go first.
pub struct Proxy<P> {
    proxy: Held<P>,
    _core: Held<pw::core::CoreRc>,
}

impl<P: pw::proxy::ProxyT> Proxy<P> {
    /// The proxy's id on this connection.
    pub fn id(&self, locked: Locked<'_>) -> u32 {
        self.proxy.get(locked).upcast_ref().id()
    }
}

/// The version of the PipeWire library this process runs with.
pub fn library_version() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated string (or NULL).
    let v = unsafe { pw::sys::pw_get_library_version() };
    if v.is_null() {
        return "unknown".into();
    }
    // SAFETY: non-null, static, NUL-terminated (above).
    unsafe { std::ffi::CStr::from_ptr(v) }
        .to_string_lossy()
        .into_owned()
}

/// Properties from `(key, value)` pairs.
pub fn props<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> pw::properties::PropertiesBox {
    let mut p = pw::properties::PropertiesBox::new();
    for (k, v) in pairs {
        p.insert(k, v);
    }
    p
}
