//! The audio path's objects: the example's own sink when it needs one, and the tone
//! and capture streams with their format and properties.

use std::sync::Arc;
use std::time::Instant;

use mtsafe::buffer::BufferPool;
use pipewire as pw;
use pw::spa;

use super::{pw_err, round_trip, Shared};
use crate::audio::{self, RtStats, CHANNELS, RATE};
use crate::devices::Lists;
use crate::pw_lock::{self, Proxy, Stream, ThreadLoop};
use crate::route;

/// Properties for a virtual null sink with ports that exist without a session
/// manager and a fully fixed format.
pub(super) fn null_sink_props(name: &str, description: &str) -> pw::properties::PropertiesBox {
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
pub(super) fn format_pod() -> Result<Vec<u8>, String> {
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

/// The objects of the audio path.
pub(super) struct AudioObjects {
    pub(super) tone: Stream,
    pub(super) capture: Stream,
    pub(super) own_sink: Option<Proxy<pw::node::Node>>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn setup_audio(
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
