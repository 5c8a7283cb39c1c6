//! The live device list: audio nodes (and their ports) kept in `CookieList`s by the
//! registry listener on the loop thread, read by any thread with the resync
//! iterator. Devices plugged in or removed while it runs show up as a changed cookie
//! (and a `Resync` in a pass that was walking the list).
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
use std::sync::Arc;

use mtsafe::{CookieList, CowShared, Resync, ResyncIterator};
use pipewire as pw;

use crate::{Global, Locked, Registry};

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

/// The lists the registry listener keeps, shared with the main thread.
#[derive(Default)]
pub struct Lists {
    /// Audio nodes, in the order they appeared.
    pub devices: CookieList<CowShared<Device>>,
    /// Ports of audio nodes.
    pub ports: CookieList<CowShared<Port>>,
    /// Registry events handled (for the summary). Relaxed: a counter.
    pub events: AtomicU64,
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
            _ => return,
        }
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    /// The registry's `global_remove` event (loop thread, lock held).
    pub fn global_remove(&self, _locked: Locked<'_>, id: u32) {
        if self.devices.remove_where(|d| d.id == id).is_some() {
            self.ports.retain(|p| p.node != id);
            self.events.fetch_add(1, Ordering::Relaxed);
        } else if let Some(port) = self.ports.remove_where(|p| p.id == id) {
            self.update_channels(port.node);
            self.events.fetch_add(1, Ordering::Relaxed);
        }
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
