//! The pipeline: connect (one locked region), show the device list, set up the audio
//! path, run with a live status line, optionally hot-plug a sink, shut down in order,
//! and report.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mtsafe::buffer::BufferPool;
use mtsafe::CowShared;
use pipewire as pw;
use pw::spa;

use crate::alloc_count::{self, Section};
use crate::audio::{self, GainReport, MeterLive, MeterReport, RtStats, CHANNELS, RATE};
use crate::devices::{Defaults, Device, Lists, Role};
use crate::pw_lock::{self, LoopGuard, Proxy, Stream, ThreadLoop};
use crate::route;

/// Set by SIGINT/SIGTERM. Relaxed: a flag polled every 100 ms.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long the audio runs.
    pub seconds: f64,
    /// Add and remove a virtual sink during the run.
    pub hotplug: bool,
    /// The gain stage's factor.
    pub gain: f32,
    /// The live status line (when stdout is a terminal).
    pub status_line: bool,
    /// `--sink NAME|ID`: the sink to play to (`None`: the default, followed).
    pub sink: Option<String>,
    /// `--source NAME|ID`: the source to capture, a sink for its monitor (`None`: the
    /// monitor of the sink the tone plays to).
    pub source: Option<String>,
}

/// Events the loop thread reports to the main thread.
#[derive(Default)]
struct Shared {
    /// The last `done` sequence number seen for the core.
    done: AtomicI32,
    /// A fatal error: the connection failed, a stream failed.
    fatal: Mutex<Option<String>>,
    /// Errors of objects we made (links, nodes): proxy id and message.
    object_errors: Mutex<Vec<(u32, String)>>,
}

impl Shared {
    fn fatal(&self) -> Option<String> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn set_fatal(&self, msg: String) {
        let mut f = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        f.get_or_insert(msg);
    }
}

/// Everything measured, for the summary.
#[derive(Debug, Default)]
pub struct Report {
    /// Seconds from the first captured signal to the end.
    pub capture_seconds: f64,
    /// The meter's result.
    pub meter: MeterReport,
    /// The gain stage's result.
    pub gain: GainReport,
    /// The gain factor.
    pub gain_factor: f32,
    /// Real-time counters.
    pub tone_calls: u64,
    /// Capture process calls.
    pub capture_calls: u64,
    /// Frames captured.
    pub frames: u64,
    /// Pool buffers filled.
    pub buffers: u64,
    /// Buffers that came back to the pool on their last release.
    pub pool_returned: u64,
    /// Periods dropped: no free pool buffer.
    pub pool_exhausted: u64,
    /// Periods dropped because the meter's queue was full.
    pub queue_full: u64,
    /// Pool size.
    pub pool_capacity: usize,
    /// Allocations in the process callbacks during warm-up.
    pub rt_allocs_warmup: u64,
    /// Allocations in the process callbacks after warm-up.
    pub rt_allocs_steady: u64,
    /// Devices at the end.
    pub devices: Vec<CowShared<Device>>,
    /// Resyncs the device-list reads needed.
    pub resyncs: u64,
    /// Registry events handled.
    pub registry_events: u64,
    /// The hot-plugged sink was seen in the list.
    pub hotplug_added: bool,
    /// ...and seen gone again.
    pub hotplug_removed: bool,
    /// The sink was made by this program (no `mtsafe-sink` on the daemon).
    pub own_sink: bool,
    /// The session manager, when one runs (then the streams autoconnect).
    pub session_manager: Option<String>,
    /// No `--sink`: the tone follows the default sink.
    pub follow_default: bool,
    /// The sink the tone played to at the end (from the registry's links).
    pub sink: Option<String>,
    /// The node the capture read from at the end.
    pub source: Option<String>,
    /// The stream's moves from one sink to another.
    pub moves: Vec<Move>,
    /// Changes of the default devices seen during the run.
    pub default_changes: u64,
    /// The default devices at the end.
    pub defaults: Defaults,
    /// Links made from code (no session manager).
    pub links_made: u64,
    /// Links the daemon refused.
    pub links_refused: Vec<String>,
    /// Why the run failed: an error, or too little audio moved. `None`: success.
    pub failure: Option<String>,
}

/// The tone moved from one sink to another.
#[derive(Clone, Debug)]
pub struct Move {
    /// Seconds into the run.
    pub at: f64,
    /// The sink it played to.
    pub from: String,
    /// The sink it plays to now.
    pub to: String,
    /// Why: the default changed, the target went, ...
    pub why: String,
}

impl Report {
    /// The frames the meter measured, in percent of those expected for the time the
    /// signal ran (0 when no signal arrived).
    pub fn frames_pct(&self) -> f64 {
        let expected = self.capture_seconds * f64::from(RATE);
        if expected > 0.0 {
            100.0 * self.meter.frames as f64 / expected
        } else {
            0.0
        }
    }
}

fn pw_err(what: &str) -> impl Fn(pw::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Properties for a virtual null sink with ports that exist without a session
/// manager and a fully fixed format.
fn null_sink_props(name: &str, description: &str) -> pw::properties::PropertiesBox {
    pw_lock::props([
        ("factory.name", "support.null-audio-sink"),
        ("node.name", name),
        ("node.description", description),
        ("media.class", "Audio/Sink"),
        ("object.linger", "false"),
        ("audio.format", "F32P"),
        ("audio.rate", "48000"),
        ("audio.channels", "2"),
        ("audio.position", "[ FL FR ]"),
        (
            "adapter.auto-port-config",
            "{ mode = dsp monitor = true position = preserve }",
        ),
    ])
}

/// The streams' format: F32LE interleaved, 48 kHz, FL FR.
fn format_pod() -> Result<Vec<u8>, String> {
    let mut info = spa::param::audio::AudioInfoRaw::new();
    info.set_format(spa::param::audio::AudioFormat::F32LE);
    info.set_rate(RATE);
    info.set_channels(CHANNELS as u32);
    let mut position = [0; spa::param::audio::MAX_CHANNELS];
    position[0] = spa::sys::SPA_AUDIO_CHANNEL_FL;
    position[1] = spa::sys::SPA_AUDIO_CHANNEL_FR;
    info.set_position(position);
    let object = spa::pod::Value::Object(spa::pod::Object {
        type_: spa::sys::SPA_TYPE_OBJECT_Format,
        id: spa::sys::SPA_PARAM_EnumFormat,
        properties: info.into(),
    });
    spa::pod::serialize::PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &object)
        .map(|(c, _)| c.into_inner())
        .map_err(|e| format!("cannot build the audio format: {e:?}"))
}

/// A stream's properties. With a session manager it autoconnects and the session
/// manager configures its ports; without one its ports are configured here
/// (`adapter.auto-port-config`) and it is linked from code.
fn stream_props(
    name: &str,
    description: &str,
    category: &str,
    session: bool,
) -> pw::properties::PropertiesBox {
    let mut p = pw_lock::props([
        ("media.type", "Audio"),
        ("media.category", category),
        ("media.role", "Music"),
        ("node.name", name),
        ("node.description", description),
        ("node.latency", "1024/48000"),
    ]);
    if !session {
        p.insert("node.autoconnect", "false");
        p.insert(
            "adapter.auto-port-config",
            "{ mode = dsp monitor = false position = preserve }",
        );
    }
    p
}

/// Prints a line above the live status line (clearing it first).
fn say(status_line: bool, line: &str) {
    let mut out = std::io::stdout().lock();
    if status_line {
        let _ = write!(out, "\r\x1b[2K");
    }
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The device list as a table.
pub fn device_table(rows: &[CowShared<Device>]) -> String {
    device_table_marked(rows, &Defaults::default())
}

/// The device list as a table, the default sink and source marked with `*`.
pub fn device_table_marked(rows: &[CowShared<Device>], defaults: &Defaults) -> String {
    let mut s = format!(
        "    {:>4}  {:<22} {:<20} {:<30} channels\n",
        "id", "name", "media class", "description"
    );
    for d in rows {
        let default = (d.media_class == "Audio/Sink" && defaults.sink.as_deref() == Some(&d.name))
            || (d.media_class.starts_with("Audio/Source")
                && defaults.source.as_deref() == Some(&d.name));
        let _ = writeln!(s, "  {} {d}", if default { '*' } else { ' ' });
    }
    if defaults.sink.is_some() || defaults.source.is_some() {
        let _ = writeln!(
            s,
            "  (* default; default.audio.sink {}, default.audio.source {})",
            defaults.sink.as_deref().unwrap_or("unset"),
            defaults.source.as_deref().unwrap_or("unset")
        );
    }
    s
}

/// Why a run could not start: a bad choice of device (exit status 2, like a bad
/// argument) or a runtime error (1).
#[derive(Debug)]
pub enum Error {
    /// `--sink`/`--source` names no device of the live list (the message lists them).
    Usage(String),
    /// Anything else.
    Runtime(String),
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::Runtime(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error::Runtime(s.to_owned())
    }
}

/// The connection: thread loop, context, core, registry (with the device list's
/// listener), and the `default` metadata when the daemon has one.
struct Conn {
    tl: ThreadLoop,
    ctx: pw_lock::Context,
    core: pw_lock::Core,
    registry: pw_lock::Registry,
    defaults: Option<pw_lock::Metadata>,
}

/// Connects in one locked region: start, context, connect, listeners, registry, a
/// round trip (the registry's objects are known), the `default` metadata bound and a
/// second round trip (its values are known). Every `?` unlocks (the guard drops)
/// before the error returns.
fn connect(lists: &Arc<Lists>, shared: &Arc<Shared>) -> Result<Conn, String> {
    let mut tl = ThreadLoop::new("mtsafe-pw").map_err(pw_err("cannot make the thread loop"))?;
    let (ctx, core, registry, defaults) = {
        let mut guard = tl.lock();
        guard
            .start()
            .map_err(pw_err("cannot start the thread loop"))?;
        let ctx = guard
            .context()
            .map_err(pw_err("cannot make a PipeWire context"))?;
        let core = ctx
            .connect(guard.locked())
            .map_err(pw_err("cannot connect to the PipeWire daemon"))?;
        let (s1, s2) = (Arc::clone(shared), Arc::clone(shared));
        core.listen(
            guard.locked(),
            Box::new(move |locked, id, seq| {
                if id == pw::sys::PW_ID_CORE {
                    s1.done.store(seq, Ordering::Relaxed);
                    locked.signal();
                }
            }),
            Box::new(move |locked, id, _seq, res, message| {
                let why = std::io::Error::from_raw_os_error(-res);
                if id == pw::sys::PW_ID_CORE {
                    s2.set_fatal(format!("the PipeWire connection failed: {message} ({why})"));
                } else {
                    s2.object_errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((id, format!("object {id}: {message} ({why})")));
                }
                locked.signal();
            }),
        );
        let registry = core
            .registry(guard.locked())
            .map_err(pw_err("cannot get the registry"))?;
        Lists::watch(lists, &registry, guard.locked());
        round_trip(&mut guard, &core, shared, "the registry")?;
        let defaults = Lists::track_defaults(lists, &registry, guard.locked())
            .map_err(pw_err("cannot bind the default metadata"))?;
        round_trip(&mut guard, &core, shared, "the default metadata")?;
        (ctx, core, registry, defaults)
    };
    Ok(Conn {
        tl,
        ctx,
        core,
        registry,
        defaults,
    })
}

/// `--list-devices`: the live list (the `CookieList`, read with the resync
/// iterator), the default sink and source marked, and whether a session manager runs.
pub fn list_devices() -> Result<String, Error> {
    let lists = Arc::new(Lists::default());
    let shared = Arc::new(Shared::default());
    let mut conn = connect(&lists, &shared)?;
    let (rows, _) = lists.read_devices();
    let out = format!(
        "{}session manager: {}\n",
        device_table_marked(&rows, &lists.defaults()),
        lists.session_manager().unwrap_or_else(|| "none".into())
    );
    shutdown(
        &mut conn.tl,
        None,
        Some((conn.defaults, conn.registry, conn.core)),
    );
    drop(conn.ctx);
    Ok(out)
}

/// Runs the pipeline. `daemon_alive` reports whether a private daemon this process
/// started is still running (`None` when using a running daemon). A run that starts
/// returns its report, failed or not ([`Report::failure`]).
pub fn run(
    opts: &Options,
    mut daemon_alive: impl FnMut() -> Option<String>,
) -> Result<Report, Error> {
    let lists = Arc::new(Lists::default());
    let shared = Arc::new(Shared::default());
    let stats = Arc::new(RtStats::default());
    let sl = opts.status_line;

    let Conn {
        mut tl,
        ctx,
        core,
        registry,
        defaults: mut defaults_md,
    } = connect(&lists, &shared)?;
    let fail_early = |tl: &mut ThreadLoop, md, registry, core, ctx, e: Error| {
        shutdown(tl, None, Some((md, registry, core)));
        drop::<pw_lock::Context>(ctx);
        Err(e)
    };

    let (rows, resyncs) = lists.read_devices();
    let session = lists.session_manager();
    let mut report = Report {
        resyncs,
        gain_factor: opts.gain,
        pool_capacity: audio::POOL_BUFFERS,
        session_manager: session.clone(),
        ..Report::default()
    };
    say(
        sl,
        &format!(
            "devices (registry, read with the resync iterator):\n{}",
            device_table_marked(&rows, &lists.defaults())
        ),
    );
    let mut known: Vec<CowShared<Device>> = rows;
    let mut last_cookie = lists.devices.cookie();

    // ---- The user's choice, from the live list.
    let mut choice = route::Choice::default();
    if let Some(spec) = &opts.sink {
        match lists.lookup(spec, Role::Playback) {
            Ok(t) => choice.sink = Some(t.device.name.clone()),
            Err(e) => {
                return fail_early(
                    &mut tl,
                    defaults_md,
                    registry,
                    core,
                    ctx,
                    Error::Usage(format!("--sink: {e}")),
                )
            }
        }
    }
    if let Some(spec) = &opts.source {
        match lists.lookup(spec, Role::Capture) {
            Ok(t) => choice.source = Some(t),
            Err(e) => {
                return fail_early(
                    &mut tl,
                    defaults_md,
                    registry,
                    core,
                    ctx,
                    Error::Usage(format!("--source: {e}")),
                )
            }
        }
    }
    report.follow_default = choice.sink.is_none();

    // ---- The audio path.
    let start = Instant::now();
    let (meter_tx, meter_rx) = sync_channel(audio::QUEUE);
    let (gain_tx, gain_rx) = sync_channel(audio::QUEUE);
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(MeterLive::default());
    let meter_thread = {
        let (live, stop) = (Arc::clone(&live), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("level-meter".into())
            .spawn(move || audio::meter(meter_rx, gain_tx, live, stop))
            .map_err(|e| format!("cannot start the meter thread: {e}"))?
    };
    let gain_thread = {
        let (stop, gain) = (Arc::clone(&stop), opts.gain);
        std::thread::Builder::new()
            .name("gain-stage".into())
            .spawn(move || audio::gain_stage(gain_rx, gain, stop))
            .map_err(|e| format!("cannot start the gain thread: {e}"))?
    };
    // All the pool's allocation happens here, before the real-time side starts.
    let pool = BufferPool::<f32>::new(audio::POOL_BUFFERS, CHANNELS, audio::MAX_FRAMES);
    let pod = format_pod()?;

    let setup = setup_audio(
        &mut tl,
        &core,
        &lists,
        &shared,
        &stats,
        &pod,
        pool,
        meter_tx,
        start,
        session.is_some(),
        &choice,
    );
    let mut audio_objects = match setup {
        Ok(objects) => Some(objects),
        Err(e) => {
            stop.store(true, Ordering::Relaxed);
            shutdown(&mut tl, None, Some((defaults_md, registry, core)));
            drop(ctx);
            let _ = meter_thread.join();
            let _ = gain_thread.join();
            return Err(Error::Runtime(e));
        }
    };
    report.own_sink = audio_objects.as_ref().is_some_and(|a| a.own_sink.is_some());
    let target_desc = match (&choice.sink, &session) {
        (Some(name), _) => name.clone(),
        (None, Some(_)) => "the default sink (followed)".into(),
        (None, None) => "the default sink if set, else mtsafe-sink (followed)".into(),
    };
    let source_desc = match &choice.source {
        Some(t) if t.monitor => format!("the monitor of {}", t.device.name),
        Some(t) => t.device.name.clone(),
        None => "the monitor of that sink".into(),
    };
    say(
        sl,
        &format!(
            "audio: 440 Hz sine, amplitude 0.5 -> {target_desc}; capture <- {source_desc}; {}",
            match &session {
                Some(sm) => format!(
                    "session manager {sm}: streams AUTOCONNECT with target.object, linked by it"
                ),
                None =>
                    "no session manager: links made from code by port name (link-factory)".into(),
            }
        ),
    );

    // ---- Run: status line, device-list changes, routing, hot-plug, watchdogs.
    let run_start = Instant::now();
    let total = Duration::from_secs_f64(opts.seconds);
    let mut hotplug: Option<Proxy<pw::node::Node>> = None;
    let mut hotplug_phase = 0; // 0: not yet, 1: added, 2: removed
    let mut linker = route::Linker::default();
    let mut playing_to: Option<CowShared<Device>> = None;
    let mut default_changes = lists.defaults().changes;
    let mut pending_why: Option<String> = None;
    let mut moved_for_default: Option<String> = None;
    let mut failure: Option<String> = None;
    loop {
        let elapsed = run_start.elapsed();
        if INTERRUPTED.load(Ordering::Relaxed) {
            say(sl, "interrupted: shutting down");
            break;
        }
        if let Some(f) = shared.fatal() {
            failure = Some(f);
            break;
        }
        if let Some(status) = daemon_alive() {
            failure = Some(format!("the private PipeWire daemon exited ({status})"));
            break;
        }

        // The device list, when it changed: read with the resync iterator, diffed.
        let cookie = lists.devices.cookie();
        if cookie != last_cookie {
            last_cookie = cookie;
            let (rows, resyncs) = lists.read_devices();
            report.resyncs += resyncs;
            for line in diff(&known, &rows) {
                say(sl, &line);
            }
            known = rows;
        }
        if defaults_md.is_none() {
            // The `default` metadata appeared after the start (a session manager
            // started after this program): follow it from now on.
            let guard = tl.lock();
            match Lists::track_defaults(&lists, &registry, guard.locked()) {
                Ok(md) => defaults_md = md,
                Err(e) => {
                    failure = Some(format!("cannot bind the default metadata: {e}"));
                    drop(guard);
                    break;
                }
            }
        }
        let defaults = lists.defaults();
        if defaults.changes != default_changes {
            default_changes = defaults.changes;
            report.default_changes += 1;
            say(
                sl,
                &format!(
                    "default sink is now {}",
                    defaults.sink.as_deref().unwrap_or("(none)")
                ),
            );
            if choice.sink.is_none() {
                pending_why = Some("the default sink changed".into());
            }
        }

        // Routing.
        let mut settling = false;
        if let Some(a) = &audio_objects {
            let guard = tl.lock();
            let tone_id = a.tone.node_id(guard.locked());
            let capture_id = a.capture.node_id(guard.locked());
            let wanted = route::wanted_sink(&lists, &choice);
            // The tone is not (yet) where it should be.
            settling = wanted.as_ref().map(|w| w.id) != playing_to.as_ref().map(|p| p.id);
            if let Some(want) = &wanted {
                if choice.sink.as_deref().is_some_and(|s| s != want.name) && pending_why.is_none() {
                    pending_why = Some(format!("{} went", choice.sink.as_deref().unwrap_or("")));
                }
            }
            if session.is_some() {
                // Nothing is linked from code: any error is another object's.
                let errors = std::mem::take(
                    &mut *shared
                        .object_errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()),
                );
                linker
                    .other_errors
                    .extend(errors.into_iter().map(|(_, message)| message));
                // Follow the default: point both streams at it through the metadata
                // (as a desktop's mixer moves a stream), once per new default.
                if let (Some(md), Some(want), Some(t), Some(c)) =
                    (&defaults_md, &wanted, tone_id, capture_id)
                {
                    if choice.sink.is_none()
                        && defaults.sink.as_deref() == Some(want.name.as_str())
                        && moved_for_default.as_deref() != Some(want.name.as_str())
                        && playing_to.is_some()
                    {
                        if playing_to.as_ref().is_some_and(|p| p.name != want.name) {
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
                        moved_for_default = Some(want.name.clone());
                    }
                }
            } else if let (Some(t), Some(c)) = (tone_id, capture_id) {
                let mut errors = std::mem::take(
                    &mut *shared
                        .object_errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()),
                );
                let r = linker.reconcile(
                    guard.locked(),
                    &core,
                    &lists,
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
                        failure = Some(e);
                        drop(guard);
                        break;
                    }
                }
                if linker.refused.len() > 20 {
                    failure = Some(format!(
                        "the daemon refused the links: {}",
                        linker.refused.join("; ")
                    ));
                    drop(guard);
                    break;
                }
            }
            drop(guard);
            // Where the tone plays now, from the links the registry announced.
            let now = tone_id
                .and_then(|t| lists.linked_peer(t, true))
                .and_then(|id| lists.find_device(|d| d.id == id));
            if now.as_ref().map(|d| d.id) != playing_to.as_ref().map(|d| d.id) {
                if let Some(to) = &now {
                    let why = match &playing_to {
                        None => None,
                        Some(from) if lists.find_device(|d| d.id == from.id).is_none() => {
                            Some(format!("{} went", from.name))
                        }
                        Some(_) => Some(
                            pending_why
                                .take()
                                .unwrap_or_else(|| "the session manager moved it".into()),
                        ),
                    };
                    match (why, &playing_to) {
                        (Some(why), Some(from)) => {
                            say(
                                sl,
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
                        _ => say(sl, &format!("linked: the tone plays to {}", to.name)),
                    }
                    pending_why = None;
                    playing_to = now;
                } else if let Some(from) = &playing_to {
                    if lists.find_device(|d| d.id == from.id).is_none() {
                        pending_why = Some(format!("{} went", from.name));
                    }
                }
            }
        }

        // Watchdog: audio must flow, and keep flowing.
        let last = stats.last_capture_ms.load(Ordering::Relaxed);
        let now_ms = start.elapsed().as_millis() as u64;
        let buffers = stats.buffers.load(Ordering::Relaxed);
        if buffers == 0 && elapsed > Duration::from_secs(5) {
            failure = Some(format!(
                "no audio reached the capture within 5 s: {}",
                why_no_audio(&stats, &linker, playing_to.is_some(), session.is_some())
            ));
            break;
        }
        if buffers > 0 && now_ms.saturating_sub(last) > 3000 {
            failure = Some(format!(
                "the audio stopped: no period captured for {:.1} s (did the daemon die, or the target go?)",
                (now_ms - last) as f64 / 1000.0
            ));
            break;
        }

        let seen = |name: &str| known.iter().any(|d| d.name == name);
        if opts.hotplug {
            let t = elapsed.as_secs_f64() / opts.seconds;
            if hotplug_phase == 0 && t >= 0.25 {
                let guard = tl.lock();
                let props = null_sink_props("mtsafe-hotplug", "mtsafe hot-plugged sink");
                match core.create_object::<pw::node::Node>(guard.locked(), "adapter", &props) {
                    Ok(node) => {
                        say(sl, "hotplug: adding a virtual sink (mtsafe-hotplug)");
                        hotplug = Some(node);
                    }
                    Err(e) => {
                        failure = Some(format!("cannot add the hot-plug sink: {e}"));
                        break;
                    }
                }
                drop(guard);
                hotplug_phase = 1;
            } else if hotplug_phase == 1 && seen("mtsafe-hotplug") {
                report.hotplug_added = true;
                if t >= 0.6 {
                    say(sl, "hotplug: removing the virtual sink (mtsafe-hotplug)");
                    let guard = tl.lock();
                    drop(hotplug.take()); // destroys the proxy (and the node) under the lock
                    drop(guard);
                    hotplug_phase = 2;
                }
            } else if hotplug_phase == 2 && !seen("mtsafe-hotplug") {
                report.hotplug_removed = true;
                hotplug_phase = 3;
            }
        }
        if sl {
            status_line(&stats, &live);
        }
        if elapsed >= total && (!opts.hotplug || hotplug_phase == 3 || elapsed >= total * 2) {
            break;
        }
        // Every 100 ms; every 20 ms while the streams are (re)linked.
        std::thread::sleep(Duration::from_millis(if settling || playing_to.is_none() {
            20
        } else {
            100
        }));
    }
    if sl {
        say(sl, "");
    }
    let end = Instant::now();
    report.sink = playing_to.map(|d| d.name.clone());
    report.source = audio_objects.as_ref().and_then(|a| {
        let guard = tl.lock();
        let c = a.capture.node_id(guard.locked())?;
        drop(guard);
        let id = lists.linked_peer(c, false)?;
        lists.find_device(|d| d.id == id).map(|d| d.name.clone())
    });
    report.links_made = linker.made;
    report.links_refused = linker.refused.clone();

    // ---- Shut down in order: the consumers are told to finish; under the lock the
    // hot-plug node, links, streams (disconnected before their callbacks go),
    // metadata, registry and core go; then the loop stops, then the context goes.
    stop.store(true, Ordering::Relaxed);
    drop(hotplug);
    {
        let _guard = tl.lock();
        linker.clear();
    }
    shutdown(
        &mut tl,
        audio_objects.take(),
        Some((defaults_md, registry, core)),
    );
    drop(ctx);
    let meter = meter_thread
        .join()
        .map_err(|_| "the meter thread panicked".to_string())?;
    let gain = gain_thread
        .join()
        .map_err(|_| "the gain thread panicked".to_string())?;

    // The streams are gone: the counters are final.
    report.capture_seconds = meter
        .signal_at
        .map(|t| end.duration_since(t).as_secs_f64())
        .unwrap_or(0.0);
    report.meter = meter;
    report.gain = gain;
    report.tone_calls = stats.tone_calls.load(Ordering::Relaxed);
    report.capture_calls = stats.capture_calls.load(Ordering::Relaxed);
    report.frames = stats.frames.load(Ordering::Relaxed);
    report.buffers = stats.buffers.load(Ordering::Relaxed);
    report.pool_returned = stats.pool_returned.load(Ordering::Relaxed);
    report.pool_exhausted = stats.pool_exhausted.load(Ordering::Relaxed);
    report.queue_full = stats.queue_full.load(Ordering::Relaxed);
    report.rt_allocs_warmup = alloc_count::count(Section::RtWarmup);
    report.rt_allocs_steady = alloc_count::count(Section::RtSteady);
    report.devices = known;
    report.defaults = lists.defaults();
    report.registry_events = lists.events.load(Ordering::Relaxed);
    report.failure = failure.or_else(|| judge(&report, &linker, session.is_some()));
    Ok(report)
}

/// The least share of the expected frames a run must capture to succeed.
pub const MIN_FRAMES_PCT: f64 = 90.0;

/// Whether a finished run moved its audio: `Some(why)` when it moved none, or less
/// than [`MIN_FRAMES_PCT`] of the frames expected while the signal ran.
fn judge(r: &Report, linker: &route::Linker, session: bool) -> Option<String> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        return None;
    }
    if r.meter.frames == 0 {
        let why = if r.tone_calls > 0 && r.capture_calls > 0 && r.buffers > 0 {
            "the capture got only silence (it is not fed by the sink the tone plays to)".into()
        } else {
            why_no_audio_counts(
                r.tone_calls,
                r.capture_calls,
                linker,
                r.sink.is_some(),
                session,
            )
        };
        return Some(format!("no audio moved: {why}"));
    }
    let pct = r.frames_pct();
    (pct < MIN_FRAMES_PCT).then(|| {
        format!(
            "only {pct:.1}% of the expected frames were captured ({} of {:.0}; at least {MIN_FRAMES_PCT}% needed)",
            r.meter.frames,
            r.capture_seconds * f64::from(RATE)
        )
    })
}

fn why_no_audio(stats: &RtStats, linker: &route::Linker, linked: bool, session: bool) -> String {
    why_no_audio_counts(
        stats.tone_calls.load(Ordering::Relaxed),
        stats.capture_calls.load(Ordering::Relaxed),
        linker,
        linked,
        session,
    )
}

fn why_no_audio_counts(
    tone: u64,
    capture: u64,
    linker: &route::Linker,
    linked: bool,
    session: bool,
) -> String {
    if !linker.refused.is_empty() {
        format!("links refused: {}", linker.refused.join("; "))
    } else if !linker.other_errors.is_empty() {
        format!("the daemon refused: {}", linker.other_errors.join("; "))
    } else if !linked {
        if session {
            "the session manager did not link the tone to any sink (no sink, or the target went)"
                .into()
        } else {
            "the streams' and the sink's ports never settled, so nothing was linked (no sink, or the target went)".into()
        }
    } else if tone == 0 || capture == 0 {
        format!("the graph does not run: {tone} tone and {capture} capture process calls (no driver node?)")
    } else {
        "the capture received nothing".into()
    }
}

/// A round trip with the lock held: `sync`, then wait (lock released meanwhile)
/// until the daemon's `done` arrives, a fatal error, or 5 s.
fn round_trip(
    guard: &mut LoopGuard<'_>,
    core: &pw_lock::Core,
    shared: &Shared,
    what: &str,
) -> Result<(), String> {
    let seq = core
        .sync(guard.locked())
        .map_err(pw_err("cannot sync with the daemon"))?;
    guard.wait_for(Duration::from_secs(5), what, || {
        shared.done.load(Ordering::Relaxed) >= seq || shared.fatal().is_some()
    })?;
    match shared.fatal() {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// The objects of the audio path.
struct AudioObjects {
    tone: Stream,
    capture: Stream,
    own_sink: Option<Proxy<pw::node::Node>>,
}

#[allow(clippy::too_many_arguments)]
fn setup_audio(
    tl: &mut ThreadLoop,
    core: &pw_lock::Core,
    lists: &Lists,
    shared: &Arc<Shared>,
    stats: &Arc<RtStats>,
    pod: &[u8],
    pool: BufferPool<f32>,
    meter: std::sync::mpsc::SyncSender<audio::Period>,
    start: Instant,
    session: bool,
    choice: &route::Choice,
) -> Result<AudioObjects, String> {
    let mut guard = tl.lock();
    // Something to play to: without a session manager the example's own sink (the
    // private daemon's config has it); with one, any sink will do.
    let has_sink = |name: Option<&str>| {
        lists
            .find_device(|d| d.media_class == "Audio/Sink" && name.is_none_or(|n| d.name == n))
            .is_some()
    };
    let own_sink = if (session && !has_sink(None))
        || (!session && choice.sink.is_none() && !has_sink(Some(route::OWN_SINK)))
    {
        // A running daemon without the project's config: make the sink from code.
        let props = null_sink_props(route::OWN_SINK, "mtsafe virtual sink");
        Some(
            core.create_object::<pw::node::Node>(guard.locked(), "adapter", &props)
                .map_err(pw_err("cannot create the virtual sink"))?,
        )
    } else {
        None
    };
    // With a session manager, the target: the chosen sink, or the sink made here, or
    // none (the session manager links to the default and follows it).
    let sink_target = choice
        .sink
        .clone()
        .or_else(|| own_sink.as_ref().map(|_| route::OWN_SINK.to_owned()));

    let on_state = |name: &'static str| {
        let shared = Arc::clone(shared);
        Box::new(
            move |locked: pw_lock::Locked<'_>,
                  _old: &pw::stream::StreamState,
                  new: &pw::stream::StreamState| {
                if let pw::stream::StreamState::Error(e) = new {
                    shared.set_fatal(format!("the {name} stream failed: {e}"));
                }
                locked.signal();
            },
        ) as Box<pw_lock::StateFn>
    };
    let mut flags = pw::stream::StreamFlags::MAP_BUFFERS | pw::stream::StreamFlags::RT_PROCESS;
    if session {
        flags |= pw::stream::StreamFlags::AUTOCONNECT;
    }
    let pod = spa::pod::Pod::from_bytes(pod).ok_or("bad format pod")?;

    let mut tone_props = stream_props("mtsafe-tone", "mtsafe 440 Hz tone", "Playback", session);
    let mut capture_props = stream_props(
        "mtsafe-capture",
        "mtsafe monitor capture",
        "Capture",
        session,
    );
    if session {
        if let Some(t) = &sink_target {
            tone_props.insert("target.object", t.as_str());
        }
        match &choice.source {
            Some(t) => {
                capture_props.insert("target.object", t.device.name.as_str());
                if t.monitor {
                    capture_props.insert("stream.capture.sink", "true");
                }
            }
            None => {
                capture_props.insert("stream.capture.sink", "true");
                if let Some(t) = &sink_target {
                    capture_props.insert("target.object", t.as_str());
                }
            }
        }
    }

    let tone = core
        .stream(guard.locked(), "mtsafe-tone", tone_props)
        .map_err(pw_err("cannot create the tone stream"))?;
    tone.listen(guard.locked(), on_state("tone"))
        .map_err(pw_err("tone listener"))?;
    tone.listen_process(guard.locked(), audio::tone_process(Arc::clone(stats)))
        .map_err(pw_err("tone process listener"))?;
    tone.connect(
        guard.locked(),
        spa::utils::Direction::Output,
        flags,
        &mut [pod],
    )
    .map_err(pw_err("cannot connect the tone stream"))?;

    let capture = core
        .stream(guard.locked(), "mtsafe-capture", capture_props)
        .map_err(pw_err("cannot create the capture stream"))?;
    capture
        .listen(guard.locked(), on_state("capture"))
        .map_err(pw_err("capture listener"))?;
    capture
        .listen_process(
            guard.locked(),
            audio::capture_process(Arc::clone(stats), pool, meter, start),
        )
        .map_err(pw_err("capture process listener"))?;
    capture
        .connect(
            guard.locked(),
            spa::utils::Direction::Input,
            flags,
            &mut [pod],
        )
        .map_err(pw_err("cannot connect the capture stream"))?;
    round_trip(&mut guard, core, shared, "the streams")?;
    Ok(AudioObjects {
        tone,
        capture,
        own_sink,
    })
}

/// Destroys everything under one lock, then stops the loop.
fn shutdown(
    tl: &mut ThreadLoop,
    audio: Option<AudioObjects>,
    conn: Option<(Option<pw_lock::Metadata>, pw_lock::Registry, pw_lock::Core)>,
) {
    {
        let _guard = tl.lock();
        if let Some(a) = audio {
            drop(a.tone);
            drop(a.capture);
            drop(a.own_sink);
        }
        drop(conn);
    }
    tl.stop();
}

/// Lines for what changed between two reads of the device list.
fn diff(old: &[CowShared<Device>], new: &[CowShared<Device>]) -> Vec<String> {
    let mut lines = Vec::new();
    for d in new {
        match old.iter().find(|o| o.id == d.id) {
            None => lines.push(format!("device added:   {d}")),
            Some(o) if o.channels != d.channels => lines.push(format!("device changed: {d}")),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|d| d.id == o.id) {
            lines.push(format!("device removed: {o}"));
        }
    }
    lines
}

/// One live line: a level bar and peak per channel, and the counters.
fn status_line(stats: &RtStats, live: &MeterLive) {
    let mut line = String::from("\r\x1b[2K");
    for (ch, name) in ["FL", "FR"].iter().enumerate() {
        let rms = live.rms[ch].get();
        let width = 20usize;
        // -60 dBFS .. 0 dBFS over the bar.
        let db = if rms > 0.0 {
            20.0 * rms.log10()
        } else {
            -120.0
        };
        let fill = (((db + 60.0) / 60.0).clamp(0.0, 1.0) * width as f32).round() as usize;
        let _ = write!(
            line,
            "{name} [{}{}] {:>6.1} dB pk {:.2}  ",
            "#".repeat(fill),
            "-".repeat(width - fill),
            db,
            live.peak[ch].get()
        );
    }
    let _ = write!(
        line,
        "frames {}  buffers {}  returned {}",
        stats.frames.load(Ordering::Relaxed),
        stats.buffers.load(Ordering::Relaxed),
        stats.pool_returned.load(Ordering::Relaxed),
    );
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{line}");
    let _ = out.flush();
}
