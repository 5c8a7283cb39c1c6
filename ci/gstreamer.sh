#!/usr/bin/env bash
# gst-bench (GStreamer side by side): its development files (installed when root),
# clippy, and a build of its benches. Without the files and without root: SKIPPED.
source "$(dirname "$0")/lib.sh"
step "GStreamer side-by-side benches (gst-bench)"
if ! pkg-config --exists 'gstreamer-1.0 >= 1.22' 2>/dev/null && ! can_install; then
    skip "gst-bench" "GStreamer's development files are missing and this is not root with apt-get (gst-bench/setup.sh --install-only installs them)"
    exit 0
fi
gst-bench/setup.sh --install-only
step "cargo clippy -p mtsafe-gst-bench --all-targets -D warnings"
cargo clippy -p mtsafe-gst-bench --all-targets -- -D warnings
step "cargo bench -p mtsafe-gst-bench --no-run"
cargo bench -p mtsafe-gst-bench --no-run
