//! std's own primitives, in every build, loom's included: for process-wide
//! bookkeeping that is not one of the interleavings the loom models are about (the
//! object model's default-name counters and, under loom, its tree-lock order
//! numbers). loom's primitives cannot be statics shared by every execution of a
//! model, and exploring the interleavings of such bookkeeping would only slow the
//! models down; each user states why its use is outside the models.

pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
pub(crate) use std::sync::Mutex;
