//! The report of a run and its verdict: did audio move, and if not, why.

use std::sync::atomic::Ordering;

use mtsafe::CowShared;

use super::INTERRUPTED;
use crate::audio::{GainReport, MeterReport, RtStats, RATE};
use crate::devices::{Defaults, Device};
use crate::route;

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

/// The least share of the expected frames a run must capture to succeed.
pub const MIN_FRAMES_PCT: f64 = 90.0;

/// Whether a finished run moved its audio: `Some(why)` when it moved none, or less
/// than [`MIN_FRAMES_PCT`] of the frames expected while the signal ran.
pub(super) fn judge(r: &Report, linker: &route::Linker, session: bool) -> Option<String> {
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

pub(super) fn why_no_audio(
    stats: &RtStats,
    linker: &route::Linker,
    linked: bool,
    session: bool,
) -> String {
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
