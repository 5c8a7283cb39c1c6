#!/usr/bin/env bash
# The crate's criterion benchmarks build (they are not run: no timed assertions
# anywhere; scripts/bench-readme.sh runs them).
source "$(dirname "$0")/lib.sh"
step "cargo bench --no-run"
cargo bench -p mtsafe --no-run
