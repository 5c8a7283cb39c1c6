//! The bound metadata object ([`Metadata`]), made by [`Registry::bind_metadata`].
//!
//! [`Registry::bind_metadata`]: crate::Registry::bind_metadata

use pipewire as pw;

use crate::{Held, Listeners, Locked};

/// A bound metadata object (`pw_metadata`): the `default` one holds the default
/// devices (`default.audio.sink`, `default.audio.source`) and per-stream targets
/// (`target.object`). Dropping it removes its listener, then destroys the proxy,
/// under the lock; it keeps the registry (and so the connection) alive until then.
///
/// Setting a property needs the lock's proof:
///
/// ```compile_fail
/// fn move_stream(md: &mtsafe_pipewire::Metadata, node: u32) {
///     md.set_property(node, "target.object", Some("Spa:Id"), Some("desk-sink"));
/// }
/// ```
///
/// (with a guard, it compiles:)
///
/// ```no_run
/// use mtsafe_pipewire::{LoopGuard, Metadata};
/// fn move_stream(md: &Metadata, node: u32, guard: &LoopGuard<'_>) {
///     md.set_property(guard.locked(), node, "target.object", Some("Spa:Id"), Some("desk-sink"));
/// }
/// ```
pub struct Metadata {
    pub(crate) listeners: Listeners,
    pub(crate) metadata: Held<pw::metadata::Metadata>,
    pub(crate) _registry: Held<pw::registry::RegistryRc>,
}

impl Metadata {
    /// Sets (`value` `Some`) or removes (`None`) `key` of `subject`
    /// (`pw_metadata_set_property`); `type_` as PipeWire names it (`Spa:String:JSON`,
    /// `Spa:Id`, or `None`).
    pub fn set_property(
        &self,
        locked: Locked<'_>,
        subject: u32,
        key: &str,
        type_: Option<&str>,
        value: Option<&str>,
    ) {
        self.metadata
            .get(locked)
            .set_property(subject, key, type_, value);
    }
}
