//! Holder crate for mtsafe's loom models; the models live in `tests/loom_<concept>.rs`.
//!
//! Run them with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p mtsafe-loom-tests --release`
//! (use a target directory of its own, so the loom build does not evict the normal one).
