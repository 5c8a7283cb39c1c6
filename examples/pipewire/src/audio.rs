//! The audio path: a sine tone played into the virtual sink, the sink's monitor
//! captured into pooled copy-on-write buffers, and two consumers on threads of their
//! own, in a chain: a level meter that only reads, then a gain stage that writes.
//!
//! ```text
//!  tone stream ──► mtsafe-sink ──monitor──► capture stream
//!  (process, RT)                            (process, RT): period ─► BufferPool buffer
//!                                                  │ the only handle, moved on
//!                                           level meter (reads: never copies)
//!                                                  │ its handle, moved on
//!                                           gain stage (writes: in place, as the
//!                                                  │  last and only holder)
//!                                           dropped: the buffer goes back to the pool
//! ```
//!
//! Readers never copy and the last writer never copies: the pool holds no handle to a
//! buffer that is out, and each stage hands its handle on instead of cloning it, so
//! the gain stage holds each period alone and `PooledBuffer::memory_mut` writes the
//! pool's buffer in place. Its last handle's drop puts the buffer back in the pool.

use std::f64::consts::TAU;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mtsafe::buffer::{BufferPool, PooledBuffer};
use mtsafe::CowShared;

use crate::alloc_count::Section;
use crate::pw_lock::Process;

/// The rate the graph runs at (fixed in the private daemon's config and in the
/// streams' formats).
pub const RATE: u32 = 48_000;
/// Stereo: FL, FR.
pub const CHANNELS: usize = 2;
/// The tone's frequency.
pub const FREQ: f64 = 440.0;
/// The tone's amplitude; its RMS is this over √2.
pub const AMPLITUDE: f64 = 0.5;
/// Samples per block: the largest period the capture takes in one buffer.
pub const MAX_FRAMES: usize = 8192;
/// Buffers in the capture pool.
pub const POOL_BUFFERS: usize = 16;
/// Periods a consumer's queue holds before the capture drops periods for it.
pub const QUEUE: usize = 8;
/// Process calls of each stream that count as warm-up for the allocation count.
pub const WARMUP_CALLS: u64 = 16;
/// A period counts as signal (the tone reached the capture) above this peak.
pub const SIGNAL_THRESHOLD: f32 = 1e-3;

/// One captured period for a consumer: a handle to a pool buffer (one block per
/// channel) and how many frames of each block are valid.
pub struct Period {
    /// The samples, one block per channel.
    pub buffer: PooledBuffer<f32>,
    /// Valid frames at the start of each block.
    pub frames: usize,
}

/// Counters of the real-time side, written by the process callbacks, read by the
/// main thread. Relaxed throughout: counters and a live display; the final values are
/// read after the streams are disconnected (the lock's release/acquire orders them).
#[derive(Default)]
pub struct RtStats {
    /// Tone process calls.
    pub tone_calls: AtomicU64,
    /// Frames of tone produced.
    pub tone_frames: AtomicU64,
    /// Capture process calls.
    pub capture_calls: AtomicU64,
    /// Frames captured into pool buffers.
    pub frames: AtomicU64,
    /// Pool buffers filled and handed to the consumers.
    pub buffers: AtomicU64,
    /// Buffers that came back to the pool on their last release.
    pub pool_returned: AtomicU64,
    /// Periods dropped because every pool buffer was still held.
    pub pool_exhausted: AtomicU64,
    /// Periods the meter's full queue made the capture drop.
    pub queue_full: AtomicU64,
    /// Capture periods longer than a block (truncated).
    pub truncated: AtomicU64,
    /// When the capture last delivered a period (ms since `start`), for the watchdog.
    pub last_capture_ms: AtomicU64,
}

/// The tone generator: fills each playback buffer with the sine, interleaved F32LE.
pub fn tone_process(stats: Arc<RtStats>) -> impl FnMut(&mut Process<'_>) + Send + 'static {
    let mut phase = 0.0f64;
    let step = TAU * FREQ / f64::from(RATE);
    move |p| {
        let calls = stats.tone_calls.fetch_add(1, Ordering::Relaxed) + 1;
        let _section = rt_section(calls).enter();
        let Some(mut buffer) = p.dequeue() else {
            return;
        };
        let requested = buffer.requested() as usize;
        let stride = CHANNELS * 4;
        let datas = buffer.datas_mut();
        let Some(data) = datas.first_mut() else {
            return;
        };
        let mut frames = 0;
        if let Some(bytes) = data.data() {
            frames = bytes.len() / stride;
            if requested > 0 {
                frames = frames.min(requested);
            }
            for frame in bytes.chunks_exact_mut(stride).take(frames) {
                let v = (phase.sin() * AMPLITUDE) as f32;
                phase += step;
                if phase >= TAU {
                    phase -= TAU;
                }
                for sample in frame.chunks_exact_mut(4) {
                    sample.copy_from_slice(&v.to_le_bytes());
                }
            }
        }
        let chunk = data.chunk_mut();
        *chunk.offset_mut() = 0;
        *chunk.stride_mut() = stride as i32;
        *chunk.size_mut() = (frames * stride) as u32;
        stats
            .tone_frames
            .fetch_add(frames as u64, Ordering::Relaxed);
    }
}

/// Where a real-time callback's allocations are counted: warm-up for its first calls.
fn rt_section(calls: u64) -> Section {
    if calls <= WARMUP_CALLS {
        Section::RtWarmup
    } else {
        Section::RtSteady
    }
}

/// The capture: deinterleaves each period into a free pool buffer (one block per
/// channel) and moves its only handle to the meter. Allocates nothing after `pool`
/// was made: `try_acquire` pops a free buffer without a lock, the buffer is filled in
/// place, the queue is bounded (preallocated) and never blocks, and a period dropped
/// here because the queue is full goes back to the pool without allocating or
/// freeing.
pub fn capture_process(
    stats: Arc<RtStats>,
    pool: BufferPool<f32>,
    meter: SyncSender<Period>,
    start: Instant,
) -> impl FnMut(&mut Process<'_>) + Send + 'static {
    let mut position = 0u64;
    move |p| {
        let calls = stats.capture_calls.fetch_add(1, Ordering::Relaxed) + 1;
        let _section = rt_section(calls).enter();
        let Some(mut buffer) = p.dequeue() else {
            return;
        };
        let datas = buffer.datas_mut();
        let Some(data) = datas.first_mut() else {
            return;
        };
        let (offset, size) = {
            let chunk = data.chunk();
            (chunk.offset() as usize, chunk.size() as usize)
        };
        let Some(bytes) = data.data() else {
            return;
        };
        let end = offset.saturating_add(size).min(bytes.len());
        let bytes = &bytes[offset.min(end)..end];
        let stride = CHANNELS * 4;
        let mut frames = bytes.len() / stride;
        if frames == 0 {
            return;
        }
        if frames > MAX_FRAMES {
            stats.truncated.fetch_add(1, Ordering::Relaxed);
            frames = MAX_FRAMES;
        }
        let mut period = match pool.try_acquire() {
            Ok(period) => period,
            // Every buffer is still out (the pool never flushes here): drop the period.
            Err(_) => {
                stats
                    .pool_exhausted
                    .store(pool.stats().exhausted, Ordering::Relaxed);
                return;
            }
        };
        for ch in 0..CHANNELS {
            // In place: a buffer fresh from the pool has no other handle.
            let block = PooledBuffer::memory_mut(&mut period, ch);
            for (out, frame) in block
                .iter_mut()
                .zip(bytes.chunks_exact(stride))
                .take(frames)
            {
                let at = ch * 4;
                *out = f32::from_le_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]]);
            }
        }
        PooledBuffer::set_offset(&mut period, position);
        position += frames as u64;
        let period = Period {
            buffer: period,
            frames,
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = meter.try_send(period) {
            // The period dropped here was the buffer's only handle: it goes back to the
            // pool (a push on a lock-free list; nothing allocated or freed).
            stats.queue_full.fetch_add(1, Ordering::Relaxed);
        }
        let ps = pool.stats();
        stats.frames.fetch_add(frames as u64, Ordering::Relaxed);
        stats.buffers.fetch_add(1, Ordering::Relaxed);
        stats.pool_returned.store(ps.returned, Ordering::Relaxed);
        stats.pool_exhausted.store(ps.exhausted, Ordering::Relaxed);
        stats
            .last_capture_ms
            .store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

/// A float published for the live display (its bits in an atomic).
#[derive(Default)]
pub struct AtomicF32(AtomicU32);

impl AtomicF32 {
    /// Stores `v`. Relaxed: a display value; nothing else is read on its strength.
    pub fn set(&self, v: f32) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    /// Loads the value (Relaxed, as `set`).
    pub fn get(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// What the level meter publishes while it runs.
#[derive(Default)]
pub struct MeterLive {
    /// RMS of the last period, per channel.
    pub rms: [AtomicF32; CHANNELS],
    /// Peak of the last period, per channel.
    pub peak: [AtomicF32; CHANNELS],
}

/// The level meter's result.
#[derive(Clone, Debug, Default)]
pub struct MeterReport {
    /// Periods measured.
    pub periods: u64,
    /// Frames measured since the signal arrived.
    pub frames: u64,
    /// When the first period with signal arrived.
    pub signal_at: Option<Instant>,
    /// When the last period arrived.
    pub last_at: Option<Instant>,
    /// RMS per channel since the signal arrived.
    pub rms: [f64; CHANNELS],
    /// Peak per channel since the signal arrived.
    pub peak: [f32; CHANNELS],
    /// Buffers the meter copied: a handle whose address changed while the meter held
    /// it (it cannot happen: the meter only reads).
    pub copies: u64,
    /// Allocations the meter made while processing periods (after its first period).
    pub allocations: u64,
    /// Periods the gain stage's full queue made the meter drop.
    pub gain_queue_full: u64,
}

/// The level meter: reads each period (RMS and peak per channel), never writes, so
/// it never copies and never allocates; then moves its handle on to the gain stage
/// (`gain`), so that stage holds the period alone. Runs until `stop` and its queue is
/// drained.
pub fn meter(
    rx: Receiver<Period>,
    gain: SyncSender<Period>,
    live: Arc<MeterLive>,
    stop: Arc<AtomicBool>,
) -> MeterReport {
    let mut report = MeterReport::default();
    let mut sumsq = [0.0f64; CHANNELS];
    loop {
        let period = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(p) => p,
            Err(RecvTimeoutError::Timeout) if !stop.load(Ordering::Relaxed) => continue,
            Err(_) => break,
        };
        let address = PooledBuffer::as_ptr(&period.buffer);
        // Reading a period must not allocate (a copy would): counted from the second
        // period on (the first may meet first-use set-up), and only around the reads;
        // the handle is dropped outside, as a drop is not a copy.
        let section = (report.periods > 0).then(|| Section::Meter.enter());
        let mut period_peak = 0.0f32;
        for (ch, block) in period.buffer.memories().iter().take(CHANNELS).enumerate() {
            let samples = &block[..period.frames.min(block.len())];
            let mut sq = 0.0f64;
            let mut peak = 0.0f32;
            for &s in samples {
                sq += f64::from(s) * f64::from(s);
                peak = peak.max(s.abs());
            }
            let n = samples.len().max(1) as f64;
            live.rms[ch].set((sq / n).sqrt() as f32);
            live.peak[ch].set(peak);
            period_peak = period_peak.max(peak);
            if report.signal_at.is_some() || peak > SIGNAL_THRESHOLD {
                sumsq[ch] += sq;
                report.peak[ch] = report.peak[ch].max(peak);
            }
        }
        drop(section);
        let now = Instant::now();
        if report.signal_at.is_none() && period_peak > SIGNAL_THRESHOLD {
            report.signal_at = Some(now);
        }
        if report.signal_at.is_some() {
            report.frames += period.frames as u64;
        }
        report.last_at = Some(now);
        report.periods += 1;
        if PooledBuffer::as_ptr(&period.buffer) != address {
            report.copies += 1;
        }
        // Handed on, not cloned: the gain stage becomes its only holder.
        if gain.try_send(period).is_err() {
            report.gain_queue_full += 1; // dropped here: back to the pool
        }
    }
    let n = report.frames.max(1) as f64;
    report.rms = sumsq.map(|sq| (sq / n).sqrt());
    report.allocations = crate::alloc_count::count(Section::Meter);
    report
}

/// The gain stage's result.
#[derive(Clone, Debug, Default)]
pub struct GainReport {
    /// Periods processed.
    pub periods: u64,
    /// Periods whose buffer was shared when written, so the write copied its block
    /// list off the pool.
    pub buffer_copies: u64,
    /// Blocks copied by those writes.
    pub block_copies: u64,
    /// Periods written in place: the gain stage held the pool's buffer alone.
    pub in_place: u64,
    /// RMS per channel of the output since the signal arrived.
    pub rms: [f64; CHANNELS],
}

/// The gain stage, last in the chain: multiplies each period by `gain` through
/// `PooledBuffer::memory_mut`, which writes the pool's buffer in place when this
/// stage holds it alone (the meter moved its handle here) and copies otherwise. The
/// period's drop then returns the buffer to the pool.
pub fn gain_stage(rx: Receiver<Period>, gain: f32, stop: Arc<AtomicBool>) -> GainReport {
    let mut report = GainReport::default();
    let mut sumsq = [0.0f64; CHANNELS];
    let mut frames = 0u64;
    let mut signal = false;
    loop {
        let mut period = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(p) => p,
            Err(RecvTimeoutError::Timeout) if !stop.load(Ordering::Relaxed) => continue,
            Err(_) => break,
        };
        let before = PooledBuffer::as_ptr(&period.buffer);
        let mut blocks_before = [core::ptr::null(); CHANNELS];
        for (slot, block) in blocks_before.iter_mut().zip(period.buffer.memories()) {
            *slot = CowShared::as_ptr(block);
        }
        if PooledBuffer::is_writable(&period.buffer) {
            report.in_place += 1;
        }
        let n = period.frames;
        let mut peak = 0.0f32;
        let mut period_sq = [0.0f64; CHANNELS];
        for (ch, sq) in period_sq
            .iter_mut()
            .enumerate()
            .take(period.buffer.n_memory())
        {
            let block = PooledBuffer::memory_mut(&mut period.buffer, ch);
            for s in &mut block[..n.min(MAX_FRAMES)] {
                *s *= gain;
                *sq += f64::from(*s) * f64::from(*s);
                peak = peak.max(s.abs());
            }
        }
        signal |= peak > SIGNAL_THRESHOLD * gain;
        if signal {
            frames += n as u64;
            for (acc, sq) in sumsq.iter_mut().zip(period_sq) {
                *acc += sq;
            }
        }
        if PooledBuffer::as_ptr(&period.buffer) != before {
            report.buffer_copies += 1;
        }
        report.block_copies += period
            .buffer
            .memories()
            .iter()
            .zip(&blocks_before)
            .filter(|(m, &b)| CowShared::as_ptr(m) != b)
            .count() as u64;
        report.periods += 1;
    }
    let n = frames.max(1) as f64;
    report.rms = sumsq.map(|sq| (sq / n).sqrt());
    report
}
