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
use crate::devices::{Device, Lists};
use crate::pw_lock::{self, LoopGuard, Proxy, Stream, ThreadLoop};

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
}

/// Events the loop thread reports to the main thread.
#[derive(Default)]
struct Shared {
    /// The last `done` sequence number seen for the core.
    done: AtomicI32,
    /// A fatal error: the connection failed, a stream failed.
    fatal: Mutex<Option<String>>,
    /// Errors of objects we made (links, nodes), for the set-up checks.
    object_errors: Mutex<Vec<String>>,
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

fn stream_props(name: &str, description: &str, category: &str) -> pw::properties::PropertiesBox {
    pw_lock::props([
        ("media.type", "Audio"),
        ("media.category", category),
        ("media.role", "Music"),
        ("node.name", name),
        ("node.description", description),
        ("node.latency", "1024/48000"),
        ("node.autoconnect", "false"),
        (
            "adapter.auto-port-config",
            "{ mode = dsp monitor = false position = preserve }",
        ),
    ])
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
    let mut s = format!(
        "  {:>4}  {:<22} {:<20} {:<30} channels\n",
        "id", "name", "media class", "description"
    );
    for d in rows {
        let _ = writeln!(s, "  {d}");
    }
    s
}

/// Runs the pipeline. `daemon_alive` reports whether a private daemon this process
/// started is still running (`None` when using a running daemon).
pub fn run(
    opts: &Options,
    mut daemon_alive: impl FnMut() -> Option<String>,
) -> Result<Report, String> {
    let lists = Arc::new(Lists::default());
    let shared = Arc::new(Shared::default());
    let stats = Arc::new(RtStats::default());
    let sl = opts.status_line;

    let mut tl = ThreadLoop::new("mtsafe-pw").map_err(pw_err("cannot make the thread loop"))?;

    // ---- One locked region: start, context, connect, listeners, registry, round
    // trip. Every `?` below unlocks (the guard drops) before the error returns.
    let (ctx, core, registry) = {
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
        let (s1, s2) = (Arc::clone(&shared), Arc::clone(&shared));
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
                        .push(format!("object {id}: {message} ({why})"));
                }
                locked.signal();
            }),
        );
        let registry = core
            .registry(guard.locked())
            .map_err(pw_err("cannot get the registry"))?;
        let (l1, l2) = (Arc::clone(&lists), Arc::clone(&lists));
        registry.listen(
            guard.locked(),
            move |locked, global| l1.global(locked, global),
            move |locked, id| l2.global_remove(locked, id),
        );
        round_trip(&mut guard, &core, &shared, "the registry")?;
        (ctx, core, registry)
    };

    let (rows, resyncs) = lists.read_devices();
    let mut report = Report {
        resyncs,
        gain_factor: opts.gain,
        pool_capacity: audio::POOL_BUFFERS,
        ..Report::default()
    };
    say(
        sl,
        &format!(
            "devices (registry, read with the resync iterator):\n{}",
            device_table(&rows)
        ),
    );
    let mut known: Vec<CowShared<Device>> = rows;
    let mut last_cookie = lists.devices.cookie();

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
        &mut tl, &core, &lists, &shared, &stats, &pod, pool, meter_tx, start,
    );
    let mut audio_objects = match setup {
        Ok(objects) => Some(objects),
        Err(e) => {
            stop.store(true, Ordering::Relaxed);
            shutdown(&mut tl, None, Some((registry, core)));
            drop(ctx);
            let _ = meter_thread.join();
            let _ = gain_thread.join();
            return Err(e);
        }
    };
    report.own_sink = audio_objects.as_ref().is_some_and(|a| a.own_sink.is_some());
    say(
        sl,
        "audio: 440 Hz sine, amplitude 0.5 -> mtsafe-sink -> monitor -> capture \
         (links made from code through link-factory)",
    );

    // ---- Run: status line, device-list changes, hot-plug, watchdogs.
    let run_start = Instant::now();
    let total = Duration::from_secs_f64(opts.seconds);
    let mut hotplug: Option<Proxy<pw::node::Node>> = None;
    let mut hotplug_phase = 0; // 0: not yet, 1: added, 2: removed
    let mut result = Ok(());
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let elapsed = run_start.elapsed();
        if INTERRUPTED.load(Ordering::Relaxed) {
            say(sl, "interrupted: shutting down");
            break;
        }
        if let Some(f) = shared.fatal() {
            result = Err(f);
            break;
        }
        if let Some(status) = daemon_alive() {
            result = Err(format!("the private PipeWire daemon exited ({status})"));
            break;
        }
        // Watchdog: audio must flow, and keep flowing.
        let last = stats.last_capture_ms.load(Ordering::Relaxed);
        let now_ms = start.elapsed().as_millis() as u64;
        let buffers = stats.buffers.load(Ordering::Relaxed);
        if buffers == 0 && elapsed > Duration::from_secs(5) {
            result = Err("no audio reached the capture within 5 s".into());
            break;
        }
        if buffers > 0 && now_ms.saturating_sub(last) > 3000 {
            result = Err(format!(
                "the audio stopped: no period captured for {:.1} s (did the daemon die?)",
                (now_ms - last) as f64 / 1000.0
            ));
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
                        result = Err(format!("cannot add the hot-plug sink: {e}"));
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
    }
    if sl {
        say(sl, "");
    }
    let end = Instant::now();

    // ---- Shut down in order: the consumers are told to finish; under the lock the
    // hot-plug node, links, streams (disconnected before their callbacks go),
    // registry and core go; then the loop stops, then the context goes.
    stop.store(true, Ordering::Relaxed);
    drop(hotplug);
    shutdown(&mut tl, audio_objects.take(), Some((registry, core)));
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
    report.registry_events = lists.events.load(Ordering::Relaxed);
    result.map(|()| report)
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
    links: Vec<Proxy<pw::link::Link>>,
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
) -> Result<AudioObjects, String> {
    let mut guard = tl.lock();
    let is_sink = |d: &CowShared<Device>| d.name == "mtsafe-sink" && d.media_class == "Audio/Sink";
    let own_sink = if lists.find_device(is_sink).is_none() {
        // A running daemon without the project's config: make the sink from code.
        let props = null_sink_props("mtsafe-sink", "mtsafe virtual sink");
        Some(
            core.create_object::<pw::node::Node>(guard.locked(), "adapter", &props)
                .map_err(pw_err("cannot create the virtual sink"))?,
        )
    } else {
        None
    };

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
    let flags = pw::stream::StreamFlags::MAP_BUFFERS | pw::stream::StreamFlags::RT_PROCESS;
    let pod = spa::pod::Pod::from_bytes(pod).ok_or("bad format pod")?;

    let tone = core
        .stream(
            guard.locked(),
            "mtsafe-tone",
            stream_props("mtsafe-tone", "mtsafe 440 Hz tone", "Playback"),
        )
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
        .stream(
            guard.locked(),
            "mtsafe-capture",
            stream_props("mtsafe-capture", "mtsafe monitor capture", "Capture"),
        )
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

    // Wait (lock released while waiting) until every port to link exists.
    let deadline = Instant::now() + Duration::from_secs(5);
    let port = |node: u32, name: &str| {
        lists
            .find_port(|p| p.node == node && p.name == name)
            .map(|p| p.id)
    };
    let ids = loop {
        if let Some(f) = shared.fatal() {
            return Err(f);
        }
        let sink = lists.find_device(is_sink).map(|d| d.id);
        let tone_id = tone.node_id(guard.locked());
        let capture_id = capture.node_id(guard.locked());
        if let (Some(sink), Some(t), Some(c)) = (sink, tone_id, capture_id) {
            let found = [
                (t, "output_FL", sink, "playback_FL"),
                (t, "output_FR", sink, "playback_FR"),
                (sink, "monitor_FL", c, "input_FL"),
                (sink, "monitor_FR", c, "input_FR"),
            ]
            .map(|(on, op, inn, ip)| Some((on, port(on, op)?, inn, port(inn, ip)?)));
            if found.iter().all(Option::is_some) {
                break found.map(Option::unwrap);
            }
        }
        if !guard.wait_until(deadline) {
            return Err(
                "timed out after 5 s waiting for the streams' and the sink's ports \
                        (is link-factory / adapter loaded, auto-port-config honoured?)"
                    .into(),
            );
        }
    };
    let mut links = Vec::new();
    for (out_node, out_port, in_node, in_port) in ids {
        let (a, b, c, d) = (
            out_node.to_string(),
            out_port.to_string(),
            in_node.to_string(),
            in_port.to_string(),
        );
        let props = pw_lock::props([
            ("link.output.node", a.as_str()),
            ("link.output.port", b.as_str()),
            ("link.input.node", c.as_str()),
            ("link.input.port", d.as_str()),
            ("object.linger", "false"),
        ]);
        links.push(
            core.create_object::<pw::link::Link>(guard.locked(), "link-factory", &props)
                .map_err(pw_err("cannot create a link"))?,
        );
    }
    round_trip(&mut guard, core, shared, "the links")?;
    let errors = shared
        .object_errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if !errors.is_empty() {
        return Err(format!("the daemon refused objects: {}", errors.join("; ")));
    }
    Ok(AudioObjects {
        links,
        tone,
        capture,
        own_sink,
    })
}

/// Destroys everything under one lock, then stops the loop.
fn shutdown(
    tl: &mut ThreadLoop,
    audio: Option<AudioObjects>,
    conn: Option<(pw_lock::Registry, pw_lock::Core)>,
) {
    {
        let _guard = tl.lock();
        if let Some(a) = audio {
            drop(a.links);
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
