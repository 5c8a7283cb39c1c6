//! The terminal output: the device table, the lines for what changed, and the live
//! status line that the other lines are printed above.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::Ordering;

use mtsafe::CowShared;

use crate::audio::{MeterLive, RtStats};
use crate::devices::{Defaults, Device};

/// Prints a line above the live status line (clearing it first).
pub(super) fn say(status_line: bool, line: &str) {
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

/// Lines for what changed between two reads of the device list.
pub(super) fn diff(old: &[CowShared<Device>], new: &[CowShared<Device>]) -> Vec<String> {
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
pub(super) fn status_line(stats: &RtStats, live: &MeterLive) {
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
