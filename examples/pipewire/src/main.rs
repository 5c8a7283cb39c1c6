//! `pw-pipeline`: mtsafe's PipeWire audio pipeline example. See `--help`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use pw_pipeline::alloc_count::CountingAlloc;
use pw_pipeline::app::{self, Options, Report};
use pw_pipeline::audio::{AMPLITUDE, RATE};
use pw_pipeline::daemon::{self, PrivateDaemon};
use pw_pipeline::{pw_lock, unlocked_demo};

/// Counts what the real-time callbacks and the meter allocate.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "\
usage: pw-pipeline [options]

mtsafe's PipeWire example: plays a 440 Hz sine (amplitude 0.5) into a virtual sink,
captures the sink's monitor into pooled copy-on-write buffers read by a level meter
and written by a gain stage, and keeps a live list of audio devices. Every PipeWire
call that needs the thread-loop lock takes a compile-time proof that it is held.

options:
  --seconds N        run the audio for N seconds (default 10)
  --sink NAME|ID     play to this sink (node.name or id; default: the default sink,
                     followed when it changes)
  --source NAME|ID   capture this source, or the monitor of this sink (default: the
                     monitor of the sink the tone plays to)
  --list-devices     print the live device list (the default marked *) and exit
  --hotplug          add, then remove, a virtual sink during the run
  --gain G           the gain stage's factor (default 0.5)
  --daemon MODE      auto (default): a running daemon if one answers, else a private
                     one; private: always start a private daemon; running: only use
                     a running daemon
  --json             print the summary as one JSON object (last line of stdout)
  --no-status        no live status line (it is shown only on a terminal anyway)
  --unlocked-demo    DELIBERATELY WRONG: run a child process that calls PipeWire
                     without the thread-loop lock, to show the warning this
                     example's design makes impossible
  -h, --help         this text

With a session manager (WirePlumber) the streams connect with AUTOCONNECT and
target.object and the session manager links them; without one (a bare or private
daemon) the program links them itself, by port name, once their ports have settled.
A run that moved no audio, or less than 90% of the frames expected, fails.

exit status: 0 success, 1 runtime error or too little audio, 2 bad arguments (an
unknown --sink/--source too), 130 interrupted";

#[derive(PartialEq)]
enum DaemonMode {
    Auto,
    Private,
    Running,
}

struct Args {
    opts: Options,
    json: bool,
    daemon: DaemonMode,
    unlocked_demo: bool,
    list_devices: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        opts: Options {
            seconds: 10.0,
            hotplug: false,
            gain: 0.5,
            status_line: std::io::stdout().is_terminal(),
            sink: None,
            source: None,
        },
        json: false,
        daemon: DaemonMode::Auto,
        unlocked_demo: false,
        list_devices: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seconds" => {
                let v = value("--seconds")?;
                a.opts.seconds = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
                    .ok_or(format!("--seconds: not a positive number of seconds: {v}"))?;
            }
            "--gain" => {
                let v = value("--gain")?;
                a.opts.gain = v
                    .parse()
                    .ok()
                    .filter(|g: &f32| g.is_finite() && *g > 0.0 && *g <= 16.0)
                    .ok_or(format!("--gain: not a factor in (0, 16]: {v}"))?;
            }
            "--daemon" => {
                a.daemon = match value("--daemon")?.as_str() {
                    "auto" => DaemonMode::Auto,
                    "private" => DaemonMode::Private,
                    "running" => DaemonMode::Running,
                    other => {
                        return Err(format!("--daemon: auto, private or running, not {other}"))
                    }
                }
            }
            "--sink" => a.opts.sink = Some(value("--sink")?),
            "--source" => a.opts.source = Some(value("--source")?),
            "--list-devices" => a.list_devices = true,
            "--hotplug" => a.opts.hotplug = true,
            "--json" => a.json = true,
            "--no-status" => a.opts.status_line = false,
            "--unlocked-demo" => a.unlocked_demo = true,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(a)
}

extern "C" fn on_signal(_: libc::c_int) {
    // Relaxed: a flag the main loop polls; an atomic store is async-signal-safe.
    app::INTERRUPTED.store(true, Ordering::Relaxed);
}

fn main() -> ExitCode {
    let mut raw = std::env::args().skip(1).peekable();
    if raw.peek().map(String::as_str) == Some("--unlocked-demo-child") {
        return ExitCode::from(unlocked_demo::child() as u8);
    }
    if raw.peek().is_some_and(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse(raw) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pw-pipeline: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only stores to an atomic (async-signal-safe);
        // `on_signal` has the C ABI `signal` expects.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }

    // Which daemon. A private one is started before any thread exists (it sets the
    // environment the PipeWire client reads).
    let socket = daemon::socket_from_env();
    let reachable = socket.as_deref().is_some_and(daemon::answers);
    let mut private = None;
    let daemon_desc = match args.daemon {
        DaemonMode::Running | DaemonMode::Auto if reachable => {
            format!("running daemon at {}", socket.unwrap_or_default().display())
        }
        DaemonMode::Running => {
            eprintln!(
                "pw-pipeline: error: no PipeWire daemon answers at {} (use --daemon auto or private)",
                socket.map(|s| s.display().to_string()).unwrap_or("(no runtime dir set)".into())
            );
            return ExitCode::from(1);
        }
        DaemonMode::Auto | DaemonMode::Private => match PrivateDaemon::start() {
            Ok(d) => {
                let desc = format!("private daemon, pid {}, in {}", d.pid(), d.dir().display());
                private = Some(d);
                desc
            }
            Err(e) => {
                eprintln!("pw-pipeline: error: {e}");
                return ExitCode::from(1);
            }
        },
    };
    let pid = private.as_ref().map(PrivateDaemon::pid);
    println!(
        "pw-pipeline: PipeWire library {}, {daemon_desc}",
        pw_lock::library_version()
    );

    if args.unlocked_demo {
        println!(
            "\n!!! --unlocked-demo: DELIBERATELY WRONG CODE, in a child process !!!\n\
             The child calls core.sync() and destroys a proxy from the main thread WITHOUT\n\
             the thread-loop lock (bypassing pw_lock, where this does not compile).\n"
        );
        let code = match unlocked_demo::run_child() {
            Ok((warnings, status)) => {
                println!("\nunlocked-demo: child {status}; wrong_context_lines={warnings}");
                if warnings > 0 {
                    println!("unlocked-demo: PipeWire caught the unlocked calls at run time; pw_lock rules them out at compile time");
                } else {
                    println!(
                        "unlocked-demo: no warning printed (PipeWire < 0.3.85 has no such check)"
                    );
                }
                0
            }
            Err(e) => {
                eprintln!("pw-pipeline: error: {e}");
                1
            }
        };
        let stopped = private.as_mut().map(PrivateDaemon::stop);
        if let (Some(pid), Some(stopped)) = (pid, stopped) {
            println!("private daemon pid {pid} stopped: {stopped}");
        }
        return ExitCode::from(code);
    }

    if args.list_devices {
        let listed = app::list_devices();
        let stopped = private.as_mut().map(PrivateDaemon::stop);
        if let (Some(pid), Some(stopped)) = (pid, stopped) {
            println!("private daemon pid {pid} stopped: {stopped}");
        }
        return match listed {
            Ok(table) => {
                print!("{table}");
                ExitCode::SUCCESS
            }
            Err(app::Error::Usage(e) | app::Error::Runtime(e)) => {
                eprintln!("pw-pipeline: error: {e}");
                ExitCode::from(1)
            }
        };
    }

    let mut alive = || private.as_mut().and_then(PrivateDaemon::exited);
    let result = app::run(&args.opts, &mut alive);
    if let Ok(report) = &result {
        print_summary(report);
    }
    let stopped = private.as_mut().map(PrivateDaemon::stop);
    if let (Some(pid), Some(stopped)) = (pid, stopped) {
        println!("private daemon pid {pid} stopped: {stopped}");
    }
    match result {
        Ok(report) => {
            if args.json {
                println!("{}", json(&report, &args.opts, pid, stopped));
            }
            if app::INTERRUPTED.load(Ordering::Relaxed) {
                ExitCode::from(130)
            } else if let Some(why) = &report.failure {
                eprintln!("pw-pipeline: error: {why}");
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(app::Error::Usage(e)) => {
            eprintln!("pw-pipeline: error: {e}");
            ExitCode::from(2)
        }
        Err(app::Error::Runtime(e)) => {
            eprintln!("pw-pipeline: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn expected_rms() -> f64 {
    AMPLITUDE / std::f64::consts::SQRT_2
}

fn print_summary(r: &Report) {
    let expected = r.capture_seconds * f64::from(RATE);
    let pct = r.frames_pct();
    println!(
        "\ndevices at the end:\n{}",
        app::device_table_marked(&r.devices, &r.defaults)
    );
    println!("summary:");
    println!(
        "  routing        {}; tone -> {}{}, capture <- {}",
        match &r.session_manager {
            Some(sm) =>
                format!("session manager {sm} linked the streams (AUTOCONNECT + target.object)"),
            None => format!(
                "no session manager: {} links made from code by port name, {} refused",
                r.links_made,
                r.links_refused.len()
            ),
        },
        r.sink.as_deref().unwrap_or("(nothing)"),
        if r.follow_default {
            " (following the default)"
        } else {
            ""
        },
        r.source.as_deref().unwrap_or("(nothing)"),
    );
    for m in &r.moves {
        println!(
            "  moved          at {:.2} s: {} -> {} ({})",
            m.at, m.from, m.to, m.why
        );
    }
    println!(
        "  capture        {} frames in {} buffers ({} process calls); {:.2} s of signal, {:.1}% of the {:.0} frames expected at {} Hz",
        r.frames, r.buffers, r.capture_calls, r.capture_seconds, pct, expected, RATE
    );
    println!(
        "  buffer pool    {} buffers, {} came back on their last release, {} periods dropped (none free), {} + {} queue-full drops (meter, gain)",
        r.pool_capacity, r.pool_returned, r.pool_exhausted, r.queue_full, r.meter.gain_queue_full
    );
    let m = &r.meter;
    println!(
        "  level meter    {} periods read, copies {}, allocations {}; RMS FL {:.4} FR {:.4} (sine: {:.4}); peak FL {:.4} FR {:.4}",
        m.periods, m.copies, m.allocations, m.rms[0], m.rms[1], expected_rms(), m.peak[0], m.peak[1]
    );
    let g = &r.gain;
    println!(
        "  gain stage     x{} on {} periods: {} in place (held alone: the meter hands its handle on), {} buffer copies ({} blocks); out RMS FL {:.4} FR {:.4}",
        r.gain_factor, g.periods, g.in_place, g.buffer_copies, g.block_copies, g.rms[0], g.rms[1]
    );
    println!(
        "  process        {} tone + {} capture calls: {} allocations in steady state ({} in the first {} calls of each)",
        r.tone_calls, r.capture_calls, r.rt_allocs_steady, r.rt_allocs_warmup,
        pw_pipeline::audio::WARMUP_CALLS
    );
    println!(
        "  device list    {} registry events, {} resyncs while reading{}",
        r.registry_events,
        r.resyncs,
        if r.hotplug_added || r.hotplug_removed {
            format!(
                "; hot-plugged sink seen added: {}, removed: {}",
                r.hotplug_added, r.hotplug_removed
            )
        } else {
            String::new()
        }
    );
}

fn json(r: &Report, o: &Options, pid: Option<u32>, stopped: Option<bool>) -> String {
    let expected = r.capture_seconds * f64::from(RATE);
    let pct = r.frames_pct();
    let opt = |s: &Option<String>| s.as_ref().map_or("null".into(), |s| format!("{s:?}"));
    let moves: Vec<String> = r
        .moves
        .iter()
        .map(|m| {
            format!(
                "{{\"at\":{:.3},\"from\":{:?},\"to\":{:?},\"why\":{:?}}}",
                m.at, m.from, m.to, m.why
            )
        })
        .collect();
    let refused: Vec<String> = r.links_refused.iter().map(|e| format!("{e:?}")).collect();
    let devices: Vec<String> = r
        .devices
        .iter()
        .map(|d| {
            format!(
                "{{\"id\":{},\"name\":{:?},\"class\":{:?},\"channels\":{}}}",
                d.id,
                d.name,
                d.media_class,
                d.channels.len()
            )
        })
        .collect();
    format!(
        concat!(
            "{{\"ok\":{},\"error\":{},\"library\":{:?},\"daemon_pid\":{},\"daemon_stopped\":{},",
            "\"session_manager\":{},\"follow_default\":{},\"sink\":{},\"source\":{},",
            "\"default_sink\":{},\"default_changes\":{},\"moves\":[{}],\"links_made\":{},\"links_refused\":[{}],",
            "\"seconds\":{},\"hotplug\":{},\"rate\":{},\"frames\":{},\"buffers\":{},",
            "\"capture_seconds\":{:.3},\"meter_frames\":{},\"expected_frames\":{:.0},\"frames_pct\":{:.2},",
            "\"pool_capacity\":{},\"pool_returned\":{},\"pool_exhausted\":{},\"queue_full\":{},\"gain_queue_full\":{},",
            "\"meter_periods\":{},\"meter_copies\":{},\"meter_allocs\":{},",
            "\"rms\":[{:.5},{:.5}],\"peak\":[{:.5},{:.5}],\"expected_rms\":{:.5},",
            "\"gain\":{},\"gain_periods\":{},\"gain_buffer_copies\":{},\"gain_block_copies\":{},",
            "\"gain_in_place\":{},\"gain_rms\":[{:.5},{:.5}],",
            "\"tone_calls\":{},\"capture_calls\":{},\"rt_allocs_warmup\":{},\"rt_allocs_steady\":{},",
            "\"registry_events\":{},\"resyncs\":{},\"hotplug_added\":{},\"hotplug_removed\":{},",
            "\"own_sink\":{},\"devices\":[{}]}}"
        ),
        r.failure.is_none(),
        opt(&r.failure),
        pw_lock::library_version(),
        pid.map_or("null".into(), |p| p.to_string()),
        stopped.map_or("null".into(), |s| s.to_string()),
        opt(&r.session_manager), r.follow_default, opt(&r.sink), opt(&r.source),
        opt(&r.defaults.sink), r.default_changes, moves.join(","), r.links_made, refused.join(","),
        o.seconds, o.hotplug, RATE, r.frames, r.buffers,
        r.capture_seconds, r.meter.frames, expected, pct,
        r.pool_capacity, r.pool_returned, r.pool_exhausted, r.queue_full, r.meter.gain_queue_full,
        r.meter.periods, r.meter.copies, r.meter.allocations,
        r.meter.rms[0], r.meter.rms[1], r.meter.peak[0], r.meter.peak[1], expected_rms(),
        r.gain_factor, r.gain.periods, r.gain.buffer_copies, r.gain.block_copies,
        r.gain.in_place, r.gain.rms[0], r.gain.rms[1],
        r.tone_calls, r.capture_calls, r.rt_allocs_warmup, r.rt_allocs_steady,
        r.registry_events, r.resyncs, r.hotplug_added, r.hotplug_removed,
        r.own_sink, devices.join(",")
    )
}
