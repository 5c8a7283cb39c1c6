//! Where the audio goes: the example's policy on top of the crate's device list.
//!
//! - With a session manager (WirePlumber): the streams connect with `AUTOCONNECT`
//!   and a `target.object` naming the device the user chose (none: the default), and
//!   the session manager links them. The example only watches the links the registry
//!   announces, to report where the tone plays, and, when it follows the default,
//!   moves its streams by setting their `target.object` in the `default` metadata
//!   when `default.audio.sink` changes (WirePlumber 0.5 also moves streams without
//!   a target of their own to a new default by itself).
//! - Without one (a bare daemon): the example links the streams itself through
//!   `link-factory`, by port *names*, once the ports it wants have stayed the same for
//!   two looks in a row (a port added, removed or reconfigured changes what it
//!   wants). Every look re-reads the live lists, so a link follows its ports: one
//!   whose port went (or changed) is dropped and made again from the new port.

use std::collections::BTreeMap;

use mtsafe::CowShared;
use pipewire as pw;

use crate::devices::{Device, Lists, Port, Target};
use crate::pw_lock::{self, Core, Locked, Proxy};

/// The sink the example makes when none is there to play to.
pub const OWN_SINK: &str = "mtsafe-sink";

/// What the user asked for (`--sink`, `--source`), resolved against the live list
/// when the run starts.
#[derive(Clone, Debug, Default)]
pub struct Choice {
    /// The sink to play to; `None`: the default sink (followed when it changes).
    pub sink: Option<String>,
    /// The source to capture; `None`: the monitor of the sink the tone plays to.
    pub source: Option<Target>,
}

/// The sink the tone should play to now: the chosen one while it exists, else the
/// default sink (when it exists), else the example's own sink, else any sink.
pub fn wanted_sink(lists: &Lists, choice: &Choice) -> Option<CowShared<Device>> {
    let is_sink =
        |d: &CowShared<Device>, name: &str| d.name == name && d.media_class == "Audio/Sink";
    if let Some(name) = &choice.sink {
        if let Some(d) = lists.find_device(|d| is_sink(d, name)) {
            return Some(d);
        }
    }
    if let Some(name) = lists.defaults().sink {
        if let Some(d) = lists.find_device(|d| is_sink(d, &name)) {
            return Some(d);
        }
    }
    lists
        .find_device(|d| is_sink(d, OWN_SINK))
        .or_else(|| lists.find_device(|d| d.media_class == "Audio/Sink"))
}

/// One link the example wants: output port → input port, the nodes by their current
/// ids and the ports by name (with their current ids, so that a port made again is a
/// different link).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Want {
    out_node: u32,
    out_port: String,
    out_port_id: u32,
    in_node: u32,
    in_port: String,
    in_port_id: u32,
}

/// The ports of `node` in one direction, by channel.
fn ports_by_channel(
    lists: &Lists,
    node: u32,
    output: bool,
    monitor: bool,
) -> BTreeMap<String, CowShared<Port>> {
    let (ports, _) = crate::devices::read_all(&lists.ports);
    ports
        .into_iter()
        .filter(|p| {
            p.node == node && p.output == output && p.monitor == monitor && !p.channel.is_empty()
        })
        .map(|p| (p.channel.clone(), p))
        .collect()
}

/// Links `from`'s output ports to `to`'s input ports channel by channel; `None`
/// unless both have ports for every channel of the stream (FL, FR).
fn pair(lists: &Lists, from: u32, from_monitor: bool, to: u32) -> Option<Vec<Want>> {
    let outs = ports_by_channel(lists, from, true, from_monitor);
    let ins = ports_by_channel(lists, to, false, false);
    ["FL", "FR"]
        .iter()
        .map(|ch| {
            let (o, i) = (outs.get(*ch)?, ins.get(*ch)?);
            Some(Want {
                out_node: from,
                out_port: o.name.clone(),
                out_port_id: o.id,
                in_node: to,
                in_port: i.name.clone(),
                in_port_id: i.id,
            })
        })
        .collect()
}

/// Links made from code (no session manager), kept in step with the live lists.
#[derive(Default)]
pub struct Linker {
    links: BTreeMap<Want, (Proxy<pw::link::Link>, u32)>,
    last: Option<Vec<Want>>,
    /// Links made through link-factory.
    pub made: u64,
    /// Links the daemon refused (its error message).
    pub refused: Vec<String>,
    /// Errors the daemon reported for other objects this program made (a sink).
    pub other_errors: Vec<String>,
}

impl Linker {
    /// One look: what is wanted now (tone → `sink`, `source` → capture); made once it
    /// is the same as at the previous look; links no longer wanted (or whose ports
    /// went) are dropped, and links the daemon refused (`errors`, by proxy id) are
    /// dropped and made again at a later look. Returns whether every wanted link
    /// exists.
    #[allow(clippy::too_many_arguments)]
    pub fn reconcile(
        &mut self,
        locked: Locked<'_>,
        core: &Core,
        lists: &Lists,
        tone: u32,
        capture: u32,
        sink: Option<&Device>,
        source: Option<&Target>,
        errors: &mut Vec<(u32, String)>,
    ) -> Result<bool, String> {
        // Refused links go (made again from the ports as they are then).
        for (id, message) in errors.drain(..) {
            if let Some(key) = self
                .links
                .iter()
                .find(|(_, (_, pid))| *pid == id)
                .map(|(k, _)| k.clone())
            {
                self.links.remove(&key);
                self.refused.push(message);
            } else {
                self.other_errors.push(message);
            }
        }
        let wanted = sink.and_then(|sink| {
            let mut w = pair(lists, tone, false, sink.id)?;
            let (from, monitor) = match source {
                Some(t) => (t.device.id, t.monitor),
                None => (sink.id, true),
            };
            w.extend(pair(lists, from, monitor, capture)?);
            w.sort();
            Some(w)
        });
        let settled = wanted.is_some() && wanted == self.last;
        self.last = wanted.clone();
        let wanted = wanted.unwrap_or_default();
        // What is no longer wanted goes, once the new set has settled (or when its
        // ports went: the daemon destroyed it already).
        let port_exists = |id: u32| lists.find_port(|p| p.id == id).is_some();
        self.links.retain(|k, _| {
            (wanted.contains(k) || !settled)
                && port_exists(k.out_port_id)
                && port_exists(k.in_port_id)
        });
        if !settled {
            return Ok(false);
        }
        for w in wanted {
            if self.links.contains_key(&w) {
                continue;
            }
            let (a, c) = (w.out_node.to_string(), w.in_node.to_string());
            let props = pw_lock::props([
                ("link.output.node", a.as_str()),
                ("link.output.port", w.out_port.as_str()),
                ("link.input.node", c.as_str()),
                ("link.input.port", w.in_port.as_str()),
                ("object.linger", "false"),
            ]);
            let link = core
                .create_object::<pw::link::Link>(locked, "link-factory", &props)
                .map_err(|e| format!("cannot create a link: {e}"))?;
            let id = link.id(locked);
            self.made += 1;
            self.links.insert(w, (link, id));
        }
        Ok(true)
    }

    /// Drops every link (under the caller's lock).
    pub fn clear(&mut self) {
        self.links.clear();
    }
}
