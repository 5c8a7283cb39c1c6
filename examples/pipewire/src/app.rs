//! The pipeline: connect (one locked region), show the device list, set up the audio
//! path, run with a live status line, optionally hot-plug a sink, shut down in order,
//! and report.

mod report;
mod setup;
mod term;
mod watch;

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mtsafe::buffer::BufferPool;
use pipewire as pw;

use crate::alloc_count::{self, Section};
use crate::audio::{self, GainReport, MeterLive, MeterReport, RtStats, CHANNELS};
use crate::devices::{Lists, Role};
use crate::pw_lock::{self, LoopGuard, ThreadLoop};
use crate::route;
use report::judge;
pub use report::{Move, Report, MIN_FRAMES_PCT};
use setup::{format_pod, setup_audio, AudioObjects};
pub use term::{device_table, device_table_marked};
use term::{say, status_line};
use watch::{Env, Watch};

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

fn pw_err(what: &str) -> impl Fn(pw::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
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
        defaults: defaults_md,
    } = connect(&lists, &shared)?;

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
    let last_cookie = lists.devices.cookie();

    // ---- The user's choice, from the live list.
    let choice = match choose(&lists, opts) {
        Ok(choice) => choice,
        Err(e) => {
            shutdown(&mut tl, None, Some((defaults_md, registry, core)));
            drop::<pw_lock::Context>(ctx);
            return Err(e);
        }
    };
    report.follow_default = choice.sink.is_none();

    // ---- The audio path.
    let start = Instant::now();
    let (consumers, meter_tx) = Consumers::start(opts.gain)?;
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
            consumers.stop.store(true, Ordering::Relaxed);
            shutdown(&mut tl, None, Some((defaults_md, registry, core)));
            drop(ctx);
            let _ = consumers.join();
            return Err(Error::Runtime(e));
        }
    };
    report.own_sink = audio_objects.as_ref().is_some_and(|a| a.own_sink.is_some());
    say(sl, &audio_line(&choice, session.as_deref()));

    // ---- Run: status line, device-list changes, routing, hot-plug, watchdogs.
    let env = Env {
        opts,
        lists: &lists,
        shared: &shared,
        stats: &stats,
        core: &core,
        registry: &registry,
        choice: &choice,
        session: session.is_some(),
        start,
    };
    let mut watch = Watch::new(rows, last_cookie, defaults_md, &lists);
    let run_start = Instant::now();
    let total = Duration::from_secs_f64(opts.seconds);
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
        let settling = match watch.pass(&env, &mut tl, audio_objects.as_ref(), elapsed, &mut report)
        {
            Ok(settling) => settling,
            Err(f) => {
                failure = Some(f);
                break;
            }
        };
        if sl {
            status_line(&stats, &consumers.live);
        }
        if elapsed >= total && (!opts.hotplug || watch.hotplug_done() || elapsed >= total * 2) {
            break;
        }
        // Every 100 ms; every 20 ms while the streams are (re)linked.
        std::thread::sleep(Duration::from_millis(
            if settling || watch.playing_to.is_none() {
                20
            } else {
                100
            },
        ));
    }
    if sl {
        say(sl, "");
    }
    let end = Instant::now();
    report.sink = watch.playing_to.as_ref().map(|d| d.name.clone());
    report.source = audio_objects.as_ref().and_then(|a| {
        let guard = tl.lock();
        let c = a.capture.node_id(guard.locked())?;
        drop(guard);
        let id = lists.linked_peer(c, false)?;
        lists.find_device(|d| d.id == id).map(|d| d.name.clone())
    });
    report.links_made = watch.linker.made;
    report.links_refused = watch.linker.refused.clone();

    // ---- Shut down in order: the consumers are told to finish; under the lock the
    // hot-plug node, links, streams (disconnected before their callbacks go),
    // metadata, registry and core go; then the loop stops, then the context goes.
    consumers.stop.store(true, Ordering::Relaxed);
    drop(watch.hotplug.take());
    {
        let _guard = tl.lock();
        watch.linker.clear();
    }
    shutdown(
        &mut tl,
        audio_objects.take(),
        Some((watch.defaults_md.take(), registry, core)),
    );
    drop(ctx);
    let (meter, gain) = consumers.join();
    let meter = meter.map_err(|_| "the meter thread panicked".to_string())?;
    let gain = gain.map_err(|_| "the gain thread panicked".to_string())?;

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
    report.devices = std::mem::take(&mut watch.known);
    report.defaults = lists.defaults();
    report.registry_events = lists.events.load(Ordering::Relaxed);
    report.failure = failure.or_else(|| judge(&report, &watch.linker, session.is_some()));
    Ok(report)
}

/// The user's `--sink` and `--source`, looked up in the live list (a name or id that
/// names no device is a usage error, which lists them).
fn choose(lists: &Lists, opts: &Options) -> Result<route::Choice, Error> {
    let mut choice = route::Choice::default();
    if let Some(spec) = &opts.sink {
        match lists.lookup(spec, Role::Playback) {
            Ok(t) => choice.sink = Some(t.device.name.clone()),
            Err(e) => return Err(Error::Usage(format!("--sink: {e}"))),
        }
    }
    if let Some(spec) = &opts.source {
        match lists.lookup(spec, Role::Capture) {
            Ok(t) => choice.source = Some(t),
            Err(e) => return Err(Error::Usage(format!("--source: {e}"))),
        }
    }
    Ok(choice)
}

/// The line that says what plays where, and who links it.
fn audio_line(choice: &route::Choice, session: Option<&str>) -> String {
    let target_desc = match (&choice.sink, session) {
        (Some(name), _) => name.clone(),
        (None, Some(_)) => "the default sink (followed)".into(),
        (None, None) => "the default sink if set, else mtsafe-sink (followed)".into(),
    };
    let source_desc = match &choice.source {
        Some(t) if t.monitor => format!("the monitor of {}", t.device.name),
        Some(t) => t.device.name.clone(),
        None => "the monitor of that sink".into(),
    };
    format!(
        "audio: 440 Hz sine, amplitude 0.5 -> {target_desc}; capture <- {source_desc}; {}",
        match session {
            Some(sm) => format!(
                "session manager {sm}: streams AUTOCONNECT with target.object, linked by it"
            ),
            None => "no session manager: links made from code by port name (link-factory)".into(),
        }
    )
}

/// The captured audio's consumers, each on a thread of its own: the level meter and,
/// after it, the gain stage. They run until `stop` and their queues are drained.
struct Consumers {
    stop: Arc<AtomicBool>,
    live: Arc<MeterLive>,
    meter: JoinHandle<MeterReport>,
    gain: JoinHandle<GainReport>,
}

impl Consumers {
    /// Starts both threads; returns them and the meter's queue, which the capture
    /// fills.
    fn start(gain: f32) -> Result<(Self, SyncSender<audio::Period>), String> {
        let (meter_tx, meter_rx) = sync_channel(audio::QUEUE);
        let (gain_tx, gain_rx) = sync_channel(audio::QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(MeterLive::default());
        let meter = {
            let (live, stop) = (Arc::clone(&live), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("level-meter".into())
                .spawn(move || audio::meter(meter_rx, gain_tx, live, stop))
                .map_err(|e| format!("cannot start the meter thread: {e}"))?
        };
        let gain = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("gain-stage".into())
                .spawn(move || audio::gain_stage(gain_rx, gain, stop))
                .map_err(|e| format!("cannot start the gain thread: {e}"))?
        };
        let consumers = Self {
            stop,
            live,
            meter,
            gain,
        };
        Ok((consumers, meter_tx))
    }

    /// Waits for both threads (after `stop`): the meter's and the gain stage's
    /// results, `Err` for a thread that panicked.
    fn join(
        self,
    ) -> (
        std::thread::Result<MeterReport>,
        std::thread::Result<GainReport>,
    ) {
        (self.meter.join(), self.gain.join())
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
