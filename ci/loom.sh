#!/usr/bin/env bash
# The loom models (loom-tests/tests/loom_*.rs), in a target directory of their own.
source "$(dirname "$0")/lib.sh"
step "loom models"
tests loom env RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR="$root/target/loom" \
    cargo test -p mtsafe-loom-tests --release
