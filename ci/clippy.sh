#!/usr/bin/env bash
# clippy, warnings as errors, over the crate and its loom models (the workspace
# members that link PipeWire and GStreamer get theirs in ci/pipewire.sh and
# ci/gstreamer.sh).
source "$(dirname "$0")/lib.sh"
step "cargo clippy -p mtsafe --all-targets -D warnings"
cargo clippy -p mtsafe --all-targets -- -D warnings
step "cargo clippy on the loom models (--cfg loom)"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR="$root/target/loom" \
    cargo clippy -p mtsafe-loom-tests --tests -- -D warnings
