//! mtsafe measured side by side with GStreamer 1.22 (through the `gstreamer` crate),
//! std, triomphe, arc-swap and parking_lot, in one criterion run per group.
//!
//! Everything lives in `benches/side_by_side/`; this library is empty because a
//! package needs a target other than its benches. Run `gst-bench/setup.sh`, which
//! installs Debian's `libgstreamer1.0-dev` where it is missing and then runs the
//! benches, or `scripts/bench-readme.sh` for every benchmark and README's tables.
