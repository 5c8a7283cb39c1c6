//! Streams ([`Stream`]), made by [`Core::stream`], and what their real-time
//! `process` callback may do ([`Process`]).
//!
//! [`Core::stream`]: crate::Core::stream

use pipewire as pw;
use pw::spa;

use crate::{Held, Listeners, Locked, LoopPtr};

/// A stream (`pw_stream`). Dropping it disconnects it first (after which the data
/// thread no longer runs its `process`), then removes its listeners, then destroys
/// it: all under the lock.
pub struct Stream {
    pub(crate) listeners: Listeners,
    pub(crate) stream: Held<pw::stream::StreamRc>,
}

/// What the real-time `process` callback may do: dequeue a buffer (queued back when
/// it is dropped). It runs on the data thread *without* the loop lock, so it gets no
/// [`Locked`] token and can make no call that needs one.
pub struct Process<'a> {
    stream: &'a pw::stream::Stream,
}

impl Process<'_> {
    /// The next buffer to fill (playback) or read (capture), if any.
    pub fn dequeue(&mut self) -> Option<pw::buffer::Buffer<'_>> {
        self.stream.dequeue_buffer()
    }
}

/// A stream's `state_changed(old, new)` event.
pub type StateFn = dyn FnMut(Locked<'_>, &pw::stream::StreamState, &pw::stream::StreamState) + Send;

impl Stream {
    /// Registers `state_changed(old, new)`, which the loop thread delivers with a lock
    /// proof.
    pub fn listen(
        &self,
        locked: Locked<'_>,
        mut state_changed: Box<StateFn>,
    ) -> Result<(), pw::Error> {
        let at = LoopPtr::of(&self.stream.tl);
        let listener = self
            .stream
            .get(locked)
            .add_local_listener_with_user_data(())
            .state_changed(move |_, _, old, new| {
                // SAFETY: stream state changes are emitted on the loop's thread with
                // the lock held, or inside a call made with a token.
                state_changed(unsafe { at.locked() }, &old, &new)
            })
            .register()?;
        self.listeners.add(listener, &self.stream.tl);
        Ok(())
    }

    /// Registers the real-time `process` callback, which runs on the data thread (the
    /// stream is connected with `RT_PROCESS`) with no loop lock: it gets a
    /// [`Process`], not a token. A listener of its own, so that no other callback's
    /// state is ever touched from two threads.
    pub fn listen_process(
        &self,
        locked: Locked<'_>,
        mut process: impl FnMut(&mut Process<'_>) + Send + 'static,
    ) -> Result<(), pw::Error> {
        let listener = self
            .stream
            .get(locked)
            .add_local_listener_with_user_data(())
            .process(move |stream, _| process(&mut Process { stream }))
            .register()?;
        self.listeners.add(listener, &self.stream.tl);
        Ok(())
    }

    /// Connects the stream (`pw_stream_connect`) with `params` (its formats). With
    /// `AUTOCONNECT` in `flags` a session manager links it (to the node its
    /// `target.object` property names, or to the default device); without, or with no
    /// session manager, it is linked from code.
    pub fn connect(
        &self,
        locked: Locked<'_>,
        direction: spa::utils::Direction,
        flags: pw::stream::StreamFlags,
        params: &mut [&spa::pod::Pod],
    ) -> Result<(), pw::Error> {
        self.stream
            .get(locked)
            .connect(direction, None, flags, params)
    }

    /// The id of the stream's node on the daemon, once it is known.
    pub fn node_id(&self, locked: Locked<'_>) -> Option<u32> {
        let id = self.stream.get(locked).node_id();
        (id != pw::constants::ID_ANY).then_some(id)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _guard = self.stream.tl.lock();
        if let Some(stream) = &self.stream.inner {
            // Stops the data thread's calls into `process` before its closure goes.
            let _ = stream.disconnect();
        }
        // Then the fields: listeners, then the stream, each under the lock.
    }
}
