//! The run loop's pass, in steps: the device list and the default devices followed,
//! the streams routed and where the tone plays tracked, the audio watched, and the
//! hot-plug sink added and removed.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mtsafe::CowShared;
use pipewire as pw;

use super::report::{why_no_audio, Move, Report};
use super::setup::{null_sink_props, AudioObjects};
use super::term::{diff, say};
use super::{Options, Shared};
use crate::audio::RtStats;
use crate::devices::{Defaults, Device, Lists};
use crate::pw_lock::{self, Proxy, ThreadLoop};
use crate::route;

/// What every pass works with, the same for the whole run.
pub(super) struct Env<'a> {
    pub(super) opts: &'a Options,
    pub(super) lists: &'a Arc<Lists>,
    pub(super) shared: &'a Shared,
    pub(super) stats: &'a RtStats,
    pub(super) core: &'a pw_lock::Core,
    pub(super) registry: &'a pw_lock::Registry,
    pub(super) choice: &'a route::Choice,
    /// A session manager runs (it links the streams).
    pub(super) session: bool,
    /// When the audio path was set up (the capture's clock).
    pub(super) start: Instant,
}

/// What the run loop keeps from one pass to the next.
pub(super) struct Watch {
    /// The device list as last read.
    pub(super) known: Vec<CowShared<Device>>,
    last_cookie: u64,
    /// The `default` metadata, once the daemon has it.
    pub(super) defaults_md: Option<pw_lock::Metadata>,
    default_changes: u64,
    pub(super) linker: route::Linker,
    /// The sink the tone plays to, from the links the registry announced.
    pub(super) playing_to: Option<CowShared<Device>>,
    /// Why the tone is about to move, when that is known before it moves.
    pending_why: Option<String>,
    /// The default sink both streams were last pointed at.
    moved_for_default: Option<String>,
    pub(super) hotplug: Option<Proxy<pw::node::Node>>,
    /// 0: not yet, 1: added, 2: removed, 3: seen gone.
    hotplug_phase: u8,
}

impl Watch {
    /// `known` was read when the list's cookie was `last_cookie`; the default
    /// devices' changes count from now.
    pub(super) fn new(
        known: Vec<CowShared<Device>>,
        last_cookie: u64,
        defaults_md: Option<pw_lock::Metadata>,
        lists: &Lists,
    ) -> Self {
        Self {
            known,
            last_cookie,
            defaults_md,
            default_changes: lists.defaults().changes,
            linker: route::Linker::default(),
            playing_to: None,
            pending_why: None,
            moved_for_default: None,
            hotplug: None,
            hotplug_phase: 0,
        }
    }

    /// One pass of the run loop. `Ok(settling)`: the streams are not yet where they
    /// should be (look again soon); `Err`: why the run failed.
    pub(super) fn pass(
        &mut self,
        env: &Env<'_>,
        tl: &mut ThreadLoop,
        audio: Option<&AudioObjects>,
        elapsed: Duration,
        report: &mut Report,
    ) -> Result<bool, String> {
        self.devices(env, report);
        let defaults = self.defaults(env, tl, report)?;
        let mut settling = false;
        if let Some(a) = audio {
            let tone_id;
            (settling, tone_id) = self.route(env, tl, a, &defaults)?;
            self.track(env, tone_id, elapsed, report);
        }
        self.watchdog(env, elapsed)?;
        if env.opts.hotplug {
            self.hotplug(env, tl, elapsed, report)?;
        }
        Ok(settling)
    }

    /// The hot-plug sink was added, removed, and seen gone.
    pub(super) fn hotplug_done(&self) -> bool {
        self.hotplug_phase == 3
    }

    /// The device list, when it changed: read with the resync iterator, diffed.
    fn devices(&mut self, env: &Env<'_>, report: &mut Report) {
        let cookie = env.lists.devices.cookie();
        if cookie != self.last_cookie {
            self.last_cookie = cookie;
            let (rows, resyncs) = env.lists.read_devices();
            report.resyncs += resyncs;
            for line in diff(&self.known, &rows) {
                say(env.opts.status_line, &line);
            }
            self.known = rows;
        }
    }

    /// The default devices: the `default` metadata followed once it appears, and a
    /// new default sink announced (and, with no `--sink`, the reason the tone moves).
    fn defaults(
        &mut self,
        env: &Env<'_>,
        tl: &mut ThreadLoop,
        report: &mut Report,
    ) -> Result<Defaults, String> {
        if self.defaults_md.is_none() {
            // The `default` metadata appeared after the start (a session manager
            // started after this program): follow it from now on.
            let guard = tl.lock();
            match Lists::track_defaults(env.lists, env.registry, guard.locked()) {
                Ok(md) => self.defaults_md = md,
                Err(e) => {
                    let failure = format!("cannot bind the default metadata: {e}");
                    drop(guard);
                    return Err(failure);
                }
            }
        }
        let defaults = env.lists.defaults();
        if defaults.changes != self.default_changes {
            self.default_changes = defaults.changes;
            report.default_changes += 1;
            say(
                env.opts.status_line,
                &format!(
                    "default sink is now {}",
                    defaults.sink.as_deref().unwrap_or("(none)")
                ),
            );
            if env.choice.sink.is_none() {
                self.pending_why = Some("the default sink changed".into());
            }
        }
        Ok(defaults)
    }

    /// Routing, under the lock: with a session manager, both streams pointed at a new
    /// default sink through the metadata (once per new default); without one, the
    /// links made from code kept in step with the lists. Returns whether the streams
    /// are settling, and the tone's node id.
    fn route(
        &mut self,
        env: &Env<'_>,
        tl: &mut ThreadLoop,
        a: &AudioObjects,
        defaults: &Defaults,
    ) -> Result<(bool, Option<u32>), String> {
        let guard = tl.lock();
        let tone_id = a.tone.node_id(guard.locked());
        let capture_id = a.capture.node_id(guard.locked());
        let choice = env.choice;
        let wanted = route::wanted_sink(env.lists, choice);
        // The tone is not (yet) where it should be.
        let mut settling = wanted.as_ref().map(|w| w.id) != self.playing_to.as_ref().map(|p| p.id);
        if let Some(want) = &wanted {
            if choice.sink.as_deref().is_some_and(|s| s != want.name) && self.pending_why.is_none()
            {
                self.pending_why = Some(format!("{} went", choice.sink.as_deref().unwrap_or("")));
            }
        }
        if env.session {
            // Nothing is linked from code: any error is another object's.
            let errors = std::mem::take(
                &mut *env
                    .shared
                    .object_errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            self.linker
                .other_errors
                .extend(errors.into_iter().map(|(_, message)| message));
            // Follow the default: point both streams at it through the metadata
            // (as a desktop's mixer moves a stream), once per new default.
            if let (Some(md), Some(want), Some(t), Some(c)) =
                (&self.defaults_md, &wanted, tone_id, capture_id)
            {
                if choice.sink.is_none()
                    && defaults.sink.as_deref() == Some(want.name.as_str())
                    && self.moved_for_default.as_deref() != Some(want.name.as_str())
                    && self.playing_to.is_some()
                {
                    if self
                        .playing_to
                        .as_ref()
                        .is_some_and(|p| p.name != want.name)
                    {
                        md.set_property(
                            guard.locked(),
                            t,
                            "target.object",
                            Some("Spa:Id"),
                            Some(&want.name),
                        );
                        if choice.source.is_none() {
                            md.set_property(
                                guard.locked(),
                                c,
                                "target.object",
                                Some("Spa:Id"),
                                Some(&want.name),
                            );
                        }
                    }
                    self.moved_for_default = Some(want.name.clone());
                }
            }
        } else if let (Some(t), Some(c)) = (tone_id, capture_id) {
            let mut errors = std::mem::take(
                &mut *env
                    .shared
                    .object_errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            let r = self.linker.reconcile(
                guard.locked(),
                env.core,
                env.lists,
                t,
                c,
                wanted.as_deref(),
                choice.source.as_ref(),
                &mut errors,
            );
            match r {
                // Not linked yet (ports settling): look again soon.
                Ok(linked) => settling |= !linked,
                Err(e) => {
                    drop(guard);
                    return Err(e);
                }
            }
            if self.linker.refused.len() > 20 {
                let failure = format!(
                    "the daemon refused the links: {}",
                    self.linker.refused.join("; ")
                );
                drop(guard);
                return Err(failure);
            }
        }
        drop(guard);
        Ok((settling, tone_id))
    }

    /// Where the tone plays now, from the links the registry announced: a first link,
    /// or a move (and why) announced and recorded.
    fn track(
        &mut self,
        env: &Env<'_>,
        tone_id: Option<u32>,
        elapsed: Duration,
        report: &mut Report,
    ) {
        let lists = env.lists;
        let now = tone_id
            .and_then(|t| lists.linked_peer(t, true))
            .and_then(|id| lists.find_device(|d| d.id == id));
        if now.as_ref().map(|d| d.id) == self.playing_to.as_ref().map(|d| d.id) {
            return;
        }
        if let Some(to) = &now {
            let why = match &self.playing_to {
                None => None,
                Some(from) if lists.find_device(|d| d.id == from.id).is_none() => {
                    Some(format!("{} went", from.name))
                }
                Some(_) => Some(
                    self.pending_why
                        .take()
                        .unwrap_or_else(|| "the session manager moved it".into()),
                ),
            };
            match (why, &self.playing_to) {
                (Some(why), Some(from)) => {
                    say(
                        env.opts.status_line,
                        &format!(
                            "moved: the tone now plays to {} (was {}): {why}",
                            to.name, from.name
                        ),
                    );
                    report.moves.push(Move {
                        at: elapsed.as_secs_f64(),
                        from: from.name.clone(),
                        to: to.name.clone(),
                        why,
                    });
                }
                _ => say(
                    env.opts.status_line,
                    &format!("linked: the tone plays to {}", to.name),
                ),
            }
            self.pending_why = None;
            self.playing_to = now;
        } else if let Some(from) = &self.playing_to {
            if lists.find_device(|d| d.id == from.id).is_none() {
                self.pending_why = Some(format!("{} went", from.name));
            }
        }
    }

    /// Watchdog: audio must flow, and keep flowing.
    fn watchdog(&self, env: &Env<'_>, elapsed: Duration) -> Result<(), String> {
        let stats = env.stats;
        let last = stats.last_capture_ms.load(Ordering::Relaxed);
        let now_ms = env.start.elapsed().as_millis() as u64;
        let buffers = stats.buffers.load(Ordering::Relaxed);
        if buffers == 0 && elapsed > Duration::from_secs(5) {
            return Err(format!(
                "no audio reached the capture within 5 s: {}",
                why_no_audio(stats, &self.linker, self.playing_to.is_some(), env.session)
            ));
        }
        if buffers > 0 && now_ms.saturating_sub(last) > 3000 {
            return Err(format!(
                "the audio stopped: no period captured for {:.1} s (did the daemon die, or the target go?)",
                (now_ms - last) as f64 / 1000.0
            ));
        }
        Ok(())
    }

    /// `--hotplug`: a virtual sink added a quarter into the run; once the list shows
    /// it, removed at 60 %; then seen gone.
    fn hotplug(
        &mut self,
        env: &Env<'_>,
        tl: &mut ThreadLoop,
        elapsed: Duration,
        report: &mut Report,
    ) -> Result<(), String> {
        let sl = env.opts.status_line;
        let seen = |name: &str| self.known.iter().any(|d| d.name == name);
        let t = elapsed.as_secs_f64() / env.opts.seconds;
        if self.hotplug_phase == 0 && t >= 0.25 {
            let guard = tl.lock();
            let props = null_sink_props("mtsafe-hotplug", "mtsafe hot-plugged sink");
            match env
                .core
                .create_object::<pw::node::Node>(guard.locked(), "adapter", &props)
            {
                Ok(node) => {
                    say(sl, "hotplug: adding a virtual sink (mtsafe-hotplug)");
                    self.hotplug = Some(node);
                }
                Err(e) => {
                    let failure = format!("cannot add the hot-plug sink: {e}");
                    drop(guard);
                    return Err(failure);
                }
            }
            drop(guard);
            self.hotplug_phase = 1;
        } else if self.hotplug_phase == 1 && seen("mtsafe-hotplug") {
            report.hotplug_added = true;
            if t >= 0.6 {
                say(sl, "hotplug: removing the virtual sink (mtsafe-hotplug)");
                let guard = tl.lock();
                drop(self.hotplug.take()); // destroys the proxy (and the node) under the lock
                drop(guard);
                self.hotplug_phase = 2;
            }
        } else if self.hotplug_phase == 2 && !seen("mtsafe-hotplug") {
            report.hotplug_removed = true;
            self.hotplug_phase = 3;
        }
        Ok(())
    }
}
