//! The live device list: audio nodes (and their ports, and the links between them)
//! kept in `CookieList`s by the registry listener on the loop thread, read by any
//! thread with the resync iterator. Devices plugged in or removed while it runs show
//! up as a changed cookie (and a `Resync` in a pass that was walking the list).
//!
//! It also says whether a session manager runs ([`Lists::session_manager`]: then
//! streams should autoconnect and leave the linking to it), which devices are the
//! defaults ([`Lists::track_defaults`] binds the `default` metadata object and follows
//! `default.audio.sink` and `default.audio.source`), and finds the device a user
//! names ([`Lists::lookup`]: by `node.name` or id, a sink's monitor for capture; an
//! unknown name is an error listing the devices there are).
//!
//! ```no_run
//! use std::sync::Arc;
//! use mtsafe_pipewire::devices::Lists;
//! use mtsafe_pipewire::ThreadLoop;
//!
//! fn list_devices() -> Result<(), pipewire::Error> {
//!     let mut tl = ThreadLoop::new("devices")?;
//!     let lists = Arc::new(Lists::default());
//!     let (_context, _core, _registry) = {
//!         let mut guard = tl.lock();
//!         guard.start()?;
//!         let context = guard.context()?;
//!         let core = context.connect(guard.locked())?;
//!         let registry = core.registry(guard.locked())?;
//!         Lists::watch(&lists, &registry, guard.locked());
//!         (context, core, registry)
//!     };
//!     std::thread::sleep(std::time::Duration::from_millis(100));
//!     let (devices, _resyncs) = lists.read_devices(); // no lock: the resync iterator
//!     for device in devices {
//!         println!("{device}");
//!     }
//!     Ok(())
//! }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mtsafe::{CookieList, CowShared, Resync, ResyncIterator};
use pipewire as pw;

use crate::{Global, Locked, Metadata, Registry};

/// An audio node: a device, a virtual device, or a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// The global id.
    pub id: u32,
    /// `node.name`.
    pub name: String,
    /// `node.description` (or `node.nick`, or empty).
    pub description: String,
    /// `media.class`: `Audio/Sink`, `Audio/Source`, `Stream/Output/Audio`, ...
    pub media_class: String,
    /// The channel positions of its (non-monitor) audio ports, in port order.
    pub channels: Vec<String>,
}

/// A port of an audio node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// The global id.
    pub id: u32,
    /// The node it belongs to.
    pub node: u32,
    /// `port.id` within the node (orders the channels).
    pub index: u32,
    /// `port.name`: `playback_FL`, `monitor_FR`, `input_FL`, ...
    pub name: String,
    /// `true` for an output port.
    pub output: bool,
    /// `audio.channel`: `FL`, `FR`, ... (empty when absent).
    pub channel: String,
    /// `port.monitor = true`.
    pub monitor: bool,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>4}  {:<22} {:<20} {:<30} {}",
            self.id,
            self.name,
            self.media_class,
            format!("\"{}\"", self.description),
            if self.channels.is_empty() {
                "-".to_string()
            } else {
                format!("{} ch ({})", self.channels.len(), self.channels.join(" "))
            }
        )
    }
}

/// A link between two ports (a `PipeWire:Interface:Link` global).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The global id.
    pub id: u32,
    /// The node the link reads from.
    pub output_node: u32,
    /// The port it reads from.
    pub output_port: u32,
    /// The node the link writes to.
    pub input_node: u32,
    /// The port it writes to.
    pub input_port: u32,
}

/// A metadata object (a `PipeWire:Interface:Metadata` global).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataObject {
    /// The global id.
    pub id: u32,
    /// `metadata.name`: `default`, `sm-settings`, ...
    pub name: String,
    /// `client.id`: the client that published it (a session manager), `None` when
    /// the daemon made it from its own config.
    pub client: Option<u32>,
}

/// The default devices, as the `default` metadata object names them
/// (`default.audio.sink`, `default.audio.source`), once it is bound
/// ([`Lists::track_defaults`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    /// `node.name` of the default sink.
    pub sink: Option<String>,
    /// `node.name` of the default source.
    pub source: Option<String>,
    /// Changes seen to either (not counting the values read when bound).
    pub changes: u64,
}

/// The lists the registry listener keeps, shared with the main thread.
#[derive(Default)]
pub struct Lists {
    /// Audio nodes, in the order they appeared.
    pub devices: CookieList<CowShared<Device>>,
    /// Ports of audio nodes.
    pub ports: CookieList<CowShared<Port>>,
    /// Links between ports of audio nodes.
    pub links: CookieList<CowShared<Link>>,
    /// Metadata objects.
    pub metadata: CookieList<CowShared<MetadataObject>>,
    /// Clients that are session managers (id, `application.name`).
    pub managers: CookieList<CowShared<(u32, String)>>,
    /// The default devices, from the `default` metadata (written by its listener on
    /// the loop thread, read anywhere).
    defaults: Mutex<Defaults>,
    /// Registry events handled (for the summary). Relaxed: a counter.
    pub events: AtomicU64,
}

/// What a device is wanted for, in [`Lists::lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Somewhere to play to: an `Audio/Sink`.
    Playback,
    /// Something to capture from: an `Audio/Source` (`Audio/Source/Virtual`, ...), or
    /// the monitor of an `Audio/Sink`.
    Capture,
}

/// A device found by [`Lists::lookup`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The device.
    pub device: CowShared<Device>,
    /// `true` when capturing a sink's monitor (what is played to the sink).
    pub monitor: bool,
}

/// Whether a client's properties are a session manager's: WirePlumber (its main and
/// `[export]` connections) or the older pipewire-media-session.
pub fn is_session_manager(application_name: &str) -> bool {
    application_name.starts_with("WirePlumber") || application_name == "pipewire-media-session"
}

/// The `name` of a default-device value: PipeWire stores it as JSON,
/// `{ "name": "desk-sink" }`. `None` when `value` holds no name.
pub fn default_name(value: &str) -> Option<String> {
    let rest = &value[value.find("\"name\"")? + "\"name\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let mut name = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(name),
            '\\' => name.push(chars.next()?),
            c => name.push(c),
        }
    }
    None
}

impl Lists {
    /// Keeps `lists` up to date from `registry`: its `global` and `global_remove`
    /// events, on the loop thread with the lock held, call [`global`](Self::global)
    /// and [`global_remove`](Self::global_remove). The listener lives as long as the
    /// registry.
    pub fn watch(lists: &Arc<Self>, registry: &Registry, locked: Locked<'_>) {
        let (on_global, on_remove) = (Arc::clone(lists), Arc::clone(lists));
        registry.listen(
            locked,
            move |locked, global| on_global.global(locked, global),
            move |locked, id| on_remove.global_remove(locked, id),
        );
    }

    /// The registry's `global` event (loop thread, lock held): an audio node goes into
    /// the device list, a port of one into the port list (and the node's channels are
    /// updated).
    pub fn global(&self, _locked: Locked<'_>, g: &Global<'_>) {
        let Some(props) = g.props else { return };
        match g.type_ {
            pw::types::ObjectType::Node => {
                let class = props.get("media.class").unwrap_or("");
                if !class.contains("Audio") {
                    return;
                }
                let description = props
                    .get("node.description")
                    .or_else(|| props.get("node.nick"))
                    .unwrap_or("");
                self.devices.push(CowShared::new(Device {
                    id: g.id,
                    name: props.get("node.name").unwrap_or("").to_owned(),
                    description: description.to_owned(),
                    media_class: class.to_owned(),
                    channels: Vec::new(),
                }));
            }
            pw::types::ObjectType::Port => {
                let Some(node) = props.get("node.id").and_then(|n| n.parse().ok()) else {
                    return;
                };
                if !self.has_device(node) {
                    return;
                }
                self.ports.push(CowShared::new(Port {
                    id: g.id,
                    node,
                    index: props
                        .get("port.id")
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0),
                    name: props.get("port.name").unwrap_or("").to_owned(),
                    output: props.get("port.direction") == Some("out"),
                    channel: props.get("audio.channel").unwrap_or("").to_owned(),
                    monitor: props.get("port.monitor") == Some("true"),
                }));
                self.update_channels(node);
            }
            pw::types::ObjectType::Link => {
                let get = |k: &str| props.get(k).and_then(|n| n.parse::<u32>().ok());
                let (Some(on), Some(op), Some(inn), Some(ip)) = (
                    get("link.output.node"),
                    get("link.output.port"),
                    get("link.input.node"),
                    get("link.input.port"),
                ) else {
                    return;
                };
                if !self.has_device(on) && !self.has_device(inn) {
                    return;
                }
                self.links.push(CowShared::new(Link {
                    id: g.id,
                    output_node: on,
                    output_port: op,
                    input_node: inn,
                    input_port: ip,
                }));
            }
            pw::types::ObjectType::Metadata => {
                self.metadata.push(CowShared::new(MetadataObject {
                    id: g.id,
                    name: props.get("metadata.name").unwrap_or("").to_owned(),
                    client: props.get("client.id").and_then(|n| n.parse().ok()),
                }));
            }
            pw::types::ObjectType::Client => {
                let name = props.get("application.name").unwrap_or("");
                if !is_session_manager(name) {
                    return;
                }
                self.managers.push(CowShared::new((g.id, name.to_owned())));
            }
            _ => return,
        }
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    /// The registry's `global_remove` event (loop thread, lock held).
    pub fn global_remove(&self, _locked: Locked<'_>, id: u32) {
        if self.devices.remove_where(|d| d.id == id).is_some() {
            self.ports.retain(|p| p.node != id);
            self.links
                .retain(|l| l.output_node != id && l.input_node != id);
        } else if let Some(port) = self.ports.remove_where(|p| p.id == id) {
            self.update_channels(port.node);
        } else if let Some(m) = self.metadata.remove_where(|m| m.id == id) {
            if m.name == "default" {
                let mut d = self.defaults.lock().unwrap_or_else(|e| e.into_inner());
                d.sink = None;
                d.source = None;
            }
        } else if self.links.remove_where(|l| l.id == id).is_none()
            && self.managers.remove_where(|c| c.0 == id).is_none()
        {
            return;
        }
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    /// The session manager's name (`application.name` of its client), when one runs:
    /// a WirePlumber (or pipewire-media-session) client on the registry, or a
    /// `default` metadata object published by a client rather than made by the
    /// daemon from its config.
    pub fn session_manager(&self) -> Option<String> {
        if let Some(c) = self.managers.iter().find(|_| true) {
            return Some(c.1.clone());
        }
        self.metadata
            .iter()
            .find(|m| m.name == "default" && m.client.is_some())
            .map(|m| {
                format!(
                    "client {} (publishes the default metadata)",
                    m.client.unwrap_or(0)
                )
            })
    }

    /// The default devices, as last read from the `default` metadata.
    pub fn defaults(&self) -> Defaults {
        self.defaults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The `default` metadata object's property event (loop thread, lock held):
    /// keeps [`defaults`](Self::defaults) up to date; every change of a default
    /// counts in [`Defaults::changes`] (the values read when the object is bound
    /// too: compare the count from a known point on).
    pub fn default_property(
        &self,
        _locked: Locked<'_>,
        subject: u32,
        key: Option<&str>,
        value: Option<&str>,
    ) {
        if subject != 0 {
            return; // a stream's own keys (target.object, ...)
        }
        let mut d = self.defaults.lock().unwrap_or_else(|e| e.into_inner());
        let name = value.and_then(default_name);
        let slot = match key {
            None => {
                let changed = d.sink.is_some() || d.source.is_some();
                d.sink = None;
                d.source = None;
                if changed {
                    d.changes += 1;
                }
                return;
            }
            Some("default.audio.sink") => &mut d.sink,
            Some("default.audio.source") => &mut d.source,
            Some(_) => return,
        };
        if *slot != name {
            *slot = name;
            d.changes += 1;
        }
    }

    /// Binds the `default` metadata object, once the registry has announced it, and
    /// keeps [`defaults`](Self::defaults) up to date from it. `None` when the daemon
    /// has none (yet): call again later. The returned object must be kept (dropping
    /// it stops the tracking); it also sets per-stream keys such as `target.object`.
    pub fn track_defaults(
        lists: &Arc<Self>,
        registry: &Registry,
        locked: Locked<'_>,
    ) -> Result<Option<Metadata>, pw::Error> {
        let Some(id) = lists
            .metadata
            .iter()
            .find(|m| m.name == "default")
            .map(|m| m.id)
        else {
            return Ok(None);
        };
        let this = Arc::clone(lists);
        registry
            .bind_metadata(locked, id, move |locked, subject, key, _type, value| {
                this.default_property(locked, subject, key, value)
            })
            .map(Some)
    }

    /// Finds a device by `node.name` or global id for `role`: a sink to play to, or
    /// a source (or a sink, whose monitor is captured) to capture from. An unknown
    /// name is an error that lists the devices there are for that role.
    pub fn lookup(&self, spec: &str, role: Role) -> Result<Target, String> {
        let fits = |d: &Device| match role {
            Role::Playback => d.media_class == "Audio/Sink",
            Role::Capture => {
                d.media_class == "Audio/Sink" || d.media_class.starts_with("Audio/Source")
            }
        };
        let id: Option<u32> = spec.parse().ok();
        let (rows, _) = self.read_devices();
        let found = rows
            .iter()
            .find(|d| d.name == spec && fits(d))
            .or_else(|| rows.iter().find(|d| Some(d.id) == id && fits(d)));
        if let Some(d) = found {
            return Ok(Target {
                device: d.clone(),
                monitor: d.media_class == "Audio/Sink" && role == Role::Capture,
            });
        }
        let what = match role {
            Role::Playback => "sink",
            Role::Capture => "source (or sink, for its monitor)",
        };
        let mut msg = format!("no {what} named or numbered {spec:?}; the devices are:");
        let candidates: Vec<_> = rows.iter().filter(|d| fits(d)).collect();
        if candidates.is_empty() {
            msg.push_str(" (none)");
        }
        let defaults = self.defaults();
        for d in candidates {
            let mark = if defaults.sink.as_deref() == Some(&d.name)
                || defaults.source.as_deref() == Some(&d.name)
            {
                " (default)"
            } else {
                ""
            };
            msg.push_str(&format!("\n  {d}{mark}"));
        }
        Err(msg)
    }

    /// The node a stream's links go to (`output`: the stream's output ports feed it)
    /// or come from: the other end of the first link found with `node` at one end.
    pub fn linked_peer(&self, node: u32, output: bool) -> Option<u32> {
        self.links
            .iter()
            .find(|l| {
                if output {
                    l.output_node == node
                } else {
                    l.input_node == node
                }
            })
            .map(|l| if output { l.input_node } else { l.output_node })
    }

    fn has_device(&self, id: u32) -> bool {
        self.devices.snapshot().iter().any(|d| d.id == id)
    }

    /// Recomputes a node's channels from its ports; replaces the node's entry, in
    /// place, when they changed. Only the loop thread writes the lists, so the
    /// position found stays right between the lookup and the replacement.
    fn update_channels(&self, node: u32) {
        let mut ports: Vec<CowShared<Port>> = self
            .ports
            .snapshot()
            .iter()
            .filter(|p| p.node == node && !p.monitor && !p.channel.is_empty())
            .cloned()
            .collect();
        ports.sort_by_key(|p| p.index);
        let channels: Vec<String> = ports.iter().map(|p| p.channel.clone()).collect();
        let snapshot = self.devices.snapshot();
        let Some(index) = snapshot.iter().position(|d| d.id == node) else {
            return;
        };
        let old = &snapshot.get(index).expect("just found");
        if old.channels == channels {
            return;
        }
        let mut updated = CowShared::clone(old);
        CowShared::get_writable(&mut updated).channels = channels; // copies: shared
        if self.devices.remove_where(|d| d.id == node).is_some() {
            self.devices.insert(index, updated);
        }
    }

    /// The device list, read with the resync iterator: starts over when the list
    /// changes during the pass. Returns the rows and how many resyncs it took.
    pub fn read_devices(&self) -> (Vec<CowShared<Device>>, u64) {
        read_all(&self.devices)
    }

    /// The first port matching `pred`, found with the resync iterator (`find`
    /// resyncs by itself).
    pub fn find_port(&self, pred: impl FnMut(&CowShared<Port>) -> bool) -> Option<CowShared<Port>> {
        self.ports.iter().find(pred)
    }

    /// The first device matching `pred`.
    pub fn find_device(
        &self,
        pred: impl FnMut(&CowShared<Device>) -> bool,
    ) -> Option<CowShared<Device>> {
        self.devices.iter().find(pred)
    }
}

/// Every item of `list`, from one version of it: `GstIterator`'s loop with `RESYNC`.
pub fn read_all<T: Clone>(list: &CookieList<T>) -> (Vec<T>, u64) {
    let mut it = list.iter();
    let mut rows = Vec::new();
    let mut resyncs = 0;
    loop {
        match it.next() {
            Ok(Some(item)) => rows.push(item),
            Ok(None) => return (rows, resyncs),
            Err(Resync) => {
                // The loop thread changed the list under us: roll back, start over.
                rows.clear();
                resyncs += 1;
                it.resync();
            }
        }
    }
}

/// Shared by the registry callbacks (loop thread) and the main thread.
pub type SharedLists = Arc<Lists>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry's events, fed by hand: `global` and `global_remove` take a lock
    /// proof they do not use, and these tests run no loop.
    fn locked() -> Locked<'static> {
        Locked::new(std::ptr::null_mut())
    }

    fn add(lists: &Lists, id: u32, type_: pw::types::ObjectType, pairs: &[(&str, &str)]) {
        let props = crate::props(pairs.iter().copied());
        let g = Global {
            id,
            permissions: pw::permissions::PermissionFlags::empty(),
            type_,
            version: 3,
            props: Some(props.as_ref()),
        };
        lists.global(locked(), &g);
    }

    fn node(lists: &Lists, id: u32, name: &str, class: &str) {
        add(
            lists,
            id,
            pw::types::ObjectType::Node,
            &[
                ("node.name", name),
                ("media.class", class),
                ("node.description", name),
            ],
        );
    }

    fn port(lists: &Lists, id: u32, node: u32, name: &str, out: bool, ch: &str, monitor: bool) {
        let n = node.to_string();
        add(
            lists,
            id,
            pw::types::ObjectType::Port,
            &[
                ("node.id", n.as_str()),
                ("port.name", name),
                ("port.direction", if out { "out" } else { "in" }),
                ("audio.channel", ch),
                ("port.monitor", if monitor { "true" } else { "false" }),
            ],
        );
    }

    fn desk() -> Lists {
        let lists = Lists::default();
        node(&lists, 40, "desk-sink", "Audio/Sink");
        node(&lists, 41, "mic", "Audio/Source");
        node(&lists, 42, "tone", "Stream/Output/Audio");
        node(&lists, 43, "Midi-Bridge", "Midi/Bridge");
        lists
    }

    #[test]
    fn default_names_are_read_from_the_json_value() {
        assert_eq!(
            default_name(r#"{ "name": "desk-sink" }"#).as_deref(),
            Some("desk-sink")
        );
        assert_eq!(
            default_name(r#"{"name":"a \"b\""}"#).as_deref(),
            Some("a \"b\"")
        );
        assert_eq!(default_name(r#"{ "nick": "x" }"#), None);
        assert_eq!(default_name(r#"{ "name": "unterminated }"#), None);
    }

    #[test]
    fn lookup_by_name_or_id_with_the_monitor_of_a_sink() {
        let lists = desk();
        let t = lists.lookup("desk-sink", Role::Playback).unwrap();
        assert_eq!((t.device.id, t.monitor), (40, false));
        let t = lists.lookup("40", Role::Playback).unwrap();
        assert_eq!(t.device.name, "desk-sink");
        let t = lists.lookup("desk-sink", Role::Capture).unwrap();
        assert_eq!((t.device.id, t.monitor), (40, true));
        let t = lists.lookup("mic", Role::Capture).unwrap();
        assert_eq!((t.device.id, t.monitor), (41, false));
        // A source is nowhere to play to; a stream is no device; a MIDI node is no
        // audio node at all.
        assert!(lists.lookup("mic", Role::Playback).is_err());
        assert!(lists.lookup("tone", Role::Capture).is_err());
        assert!(lists.lookup("43", Role::Capture).is_err());
    }

    #[test]
    fn an_unknown_device_is_an_error_listing_those_there_are() {
        let lists = desk();
        let err = lists.lookup("speakers", Role::Playback).unwrap_err();
        assert!(err.contains("\"speakers\""), "{err}");
        assert!(err.contains("desk-sink"), "{err}");
        assert!(!err.contains("mic"), "only sinks for playback: {err}");
        let err = lists.lookup("speakers", Role::Capture).unwrap_err();
        assert!(err.contains("desk-sink") && err.contains("mic"), "{err}");
        assert!(!err.contains("tone"), "{err}");
    }

    #[test]
    fn a_session_manager_is_a_wireplumber_client_or_owns_the_default_metadata() {
        let lists = desk();
        add(
            &lists,
            30,
            pw::types::ObjectType::Metadata,
            &[("metadata.name", "default")],
        );
        add(
            &lists,
            31,
            pw::types::ObjectType::Client,
            &[("application.name", "pw-cli")],
        );
        assert_eq!(
            lists.session_manager(),
            None,
            "the daemon's own default metadata"
        );
        add(
            &lists,
            34,
            pw::types::ObjectType::Client,
            &[("application.name", "WirePlumber")],
        );
        assert_eq!(lists.session_manager().as_deref(), Some("WirePlumber"));
        lists.global_remove(locked(), 34);
        assert_eq!(lists.session_manager(), None);
        lists.global_remove(locked(), 30);
        add(
            &lists,
            38,
            pw::types::ObjectType::Metadata,
            &[("metadata.name", "default"), ("client.id", "77")],
        );
        assert!(lists.session_manager().is_some_and(|s| s.contains("77")));
    }

    #[test]
    fn defaults_follow_the_metadata_and_count_changes() {
        let lists = desk();
        let set = |key: Option<&str>, value: Option<&str>| {
            lists.default_property(locked(), 0, key, value)
        };
        set(
            Some("default.audio.sink"),
            Some(r#"{ "name": "desk-sink" }"#),
        );
        assert_eq!(lists.defaults().sink.as_deref(), Some("desk-sink"));
        assert_eq!(lists.defaults().changes, 1);
        set(
            Some("default.audio.sink"),
            Some(r#"{ "name": "desk-sink" }"#),
        );
        assert_eq!(lists.defaults().changes, 1, "the same value is no change");
        // A stream's own key (subject != 0) is not a default.
        lists.default_property(
            locked(),
            42,
            Some("default.audio.sink"),
            Some(r#"{"name":"x"}"#),
        );
        assert_eq!(lists.defaults().sink.as_deref(), Some("desk-sink"));
        set(
            Some("default.audio.sink"),
            Some(r#"{ "name": "hot-sink" }"#),
        );
        assert_eq!(
            (lists.defaults().sink.as_deref(), lists.defaults().changes),
            (Some("hot-sink"), 2)
        );
        set(Some("default.audio.sink"), None);
        assert_eq!((lists.defaults().sink, lists.defaults().changes), (None, 3));
        set(Some("default.audio.source"), Some(r#"{ "name": "mic" }"#));
        set(None, None);
        assert_eq!(
            lists.defaults(),
            Defaults {
                sink: None,
                source: None,
                changes: 5
            }
        );
    }

    #[test]
    fn links_and_ports_go_with_their_node() {
        let lists = desk();
        port(&lists, 50, 42, "output_FL", true, "FL", false);
        port(&lists, 51, 40, "playback_FL", false, "FL", false);
        port(&lists, 52, 40, "monitor_FL", true, "FL", true);
        let link = |id: u32, on: u32, op: u32, inn: u32, ip: u32| {
            let v = [on, op, inn, ip].map(|n| n.to_string());
            add(
                &lists,
                id,
                pw::types::ObjectType::Link,
                &[
                    ("link.output.node", v[0].as_str()),
                    ("link.output.port", v[1].as_str()),
                    ("link.input.node", v[2].as_str()),
                    ("link.input.port", v[3].as_str()),
                ],
            );
        };
        link(60, 42, 50, 40, 51);
        assert_eq!(lists.linked_peer(42, true), Some(40));
        assert_eq!(lists.linked_peer(40, false), Some(42));
        assert_eq!(lists.linked_peer(40, true), None);
        assert_eq!(
            lists
                .devices
                .snapshot()
                .iter()
                .find(|d| d.id == 40)
                .unwrap()
                .channels,
            ["FL"]
        );
        lists.global_remove(locked(), 40);
        assert_eq!(
            lists.linked_peer(42, true),
            None,
            "the sink's links went with it"
        );
        assert!(lists.find_port(|p| p.node == 40).is_none());
        assert!(lists.find_port(|p| p.id == 50).is_some());
    }
}
