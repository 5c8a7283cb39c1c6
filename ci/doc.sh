#!/usr/bin/env bash
# The docs build, warnings (broken links included) as errors.
source "$(dirname "$0")/lib.sh"
step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p mtsafe
