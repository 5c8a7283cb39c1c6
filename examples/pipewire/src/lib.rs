//! mtsafe's PipeWire example: a live device list in a [`mtsafe::CookieList`], captured
//! audio in pooled copy-on-write buffers ([`mtsafe::buffer::BufferPool`]) read by a
//! level meter and then written in place by a gain stage (the last holder), and
//! PipeWire's thread-loop locking rule held by construction by the `mtsafe-pipewire`
//! crate (re-exported here as [`pw_lock`], with its [`devices`] list).
//!
//! The binary is `pw-pipeline`; `pw-pipeline --help` lists its options, and
//! `docs/pipewire.md` (in mtsafe's repository) shows a run in its "What it prints"
//! section.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, rust_2018_idioms, clippy::undocumented_unsafe_blocks)]

pub mod alloc_count;
pub mod app;
pub mod audio;
pub mod daemon;
pub mod route;
pub use mtsafe_pipewire as pw_lock;
pub use mtsafe_pipewire::devices;
pub mod unlocked_demo;
