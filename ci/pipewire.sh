#!/usr/bin/env bash
# The PipeWire lock crate (mtsafe-pipewire) and the example: their packages (installed when root, from bookworm-backports),
# clippy, the crate's tests and docs, and the end-to-end run (scripts/pipewire/e2e.sh)
# against a private daemon and against PipeWire + WirePlumber + D-Bus in a private
# runtime dir: lock-proof compile-fail tests, hot-plug, audio level and frame count,
# no false success, links by port name without a session manager and none with one,
# --sink/--list-devices, the default followed, no copy in the meter, no allocation in
# the process callbacks, no "wrong context" line, the unlocked demo's warning, daemon
# death, daemons stopped by PID. Without the packages and without root: SKIPPED;
# with root, a failed install fails.
source "$(dirname "$0")/lib.sh"
step "PipeWire packages for the PipeWire example"
if ! bash scripts/pipewire/install.sh --check >/dev/null 2>&1 && ! can_install; then
    skip "PipeWire example" "PipeWire's packages are missing and this is not root with apt-get (scripts/pipewire/install.sh installs them)"
    exit 0
fi
bash scripts/pipewire/install.sh
step "cargo clippy -p mtsafe-pipewire -p mtsafe-pipewire-example --all-targets -D warnings"
cargo clippy -p mtsafe-pipewire -p mtsafe-pipewire-example --all-targets -- -D warnings
step "mtsafe-pipewire: the lock proofs (compile_fail doctests, each beside a twin that compiles)"
tests mtsafe-pipewire cargo test -p mtsafe-pipewire
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p mtsafe-pipewire
step "PipeWire example end to end (scripts/pipewire/e2e.sh)"
tests pipewire bash scripts/pipewire/e2e.sh
