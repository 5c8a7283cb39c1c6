//! The shared allocation and every handle to it: GStreamer's `GstMiniObject`
//! refcount, its parents, and `make_writable`, as Rust types.
//!
//! One allocation holds a header (`header.rs`: two counts and the function that frees it)
//! and the value. The header's fields are private to `header.rs`, the one file that
//! changes the counts; everything else goes through its methods, each of which gives
//! the reason for its ordering.
//!
//! | handle              | counts in     | may write through `&mut`        | weak handles |
//! |---------------------|---------------|---------------------------------|--------------|
//! | [`CowShared`]       | `strong`      | when its count is one (`get_writable`, `get_mut`) | none |
//! | [`UniqueShared`]    | `strong` (one) | always (`DerefMut`); [`shareable`](UniqueShared::shareable) makes it a `CowShared` | none |
//! | [`StrongShared`]    | `strong`      | never                           | [`WeakShared`], counted in `links` |
//! | [`ParentLink`]      | `links`       | (a child's link to its parent; reads the parent's count) | — |
//!
//! A value that weak handles may reach has a strong type of its own with no way to
//! `&mut`: an upgrade may raise its count from one at any moment, so no code may
//! decide to write on the strength of that count. A value that is written has no
//! weak handle, so a count of one stays one while its handle is borrowed.
//!
//! A [`ParentLink`] counts in the parent's `links`, like a weak handle, but never
//! upgrades: it only reads the parent's strong count. The last count on an
//! allocation frees it with the function kept in its header, so a link needs to know
//! nothing of the parent's type.

mod cow;
mod header;
mod link;
mod unique;
mod weak;

pub use cow::CowShared;
pub use link::{LinkError, ParentLink, ParentRef};
pub(crate) use unique::UniqueShared;
pub(crate) use weak::{StrongShared, WeakShared};
