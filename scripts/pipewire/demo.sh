#!/usr/bin/env bash
# Runs mtsafe's PipeWire example on this machine, installing what it needs first:
# the PipeWire packages (scripts/pipewire/install.sh), then a release build of
# `pw-pipeline`, then a run (10 s by default) with a hot-plugged sink.
#
# It uses the PipeWire daemon of the session if one answers; otherwise the program
# starts a private one with the project's config and stops it at exit. On a desktop
# session (PipeWire with WirePlumber) the streams autoconnect and the session manager
# links them: the tone plays to the default sink (your speakers, if that is the
# default) and follows it; `--list-devices` shows the devices, `--sink NAME` picks one.
# On a bare machine the program links the streams itself.
#
# MTSAFE_DEMO_PROFILE=debug builds and runs the debug binary instead of the release one.
#
#   scripts/pipewire/demo.sh                 # 10 s, with --hotplug
#   scripts/pipewire/demo.sh --seconds 30    # any pw-pipeline option (see --help)
#   scripts/pipewire/demo.sh --unlocked-demo # the deliberately wrong mode
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

if ! command -v cargo >/dev/null 2>&1; then
    echo "demo: cargo not found: install Rust first (https://rustup.rs)" >&2
    exit 1
fi
if ! bash scripts/pipewire/install.sh; then
    echo "demo: the PipeWire packages are missing and could not be installed (see above)" >&2
    exit 1
fi

profile=${MTSAFE_DEMO_PROFILE:-release}
case "$profile" in
release)
    echo "demo: building pw-pipeline (release; the first build takes a minute or two)" >&2
    cargo build --release -p mtsafe-pipewire-example --bin pw-pipeline
    ;;
debug)
    echo "demo: building pw-pipeline (debug)" >&2
    cargo build -p mtsafe-pipewire-example --bin pw-pipeline
    ;;
*)
    echo "demo: MTSAFE_DEMO_PROFILE is release or debug, not $profile" >&2
    exit 2
    ;;
esac
bin="${CARGO_TARGET_DIR:-$root/target}/$profile/pw-pipeline"

# The binary links libpipewire; say what is missing rather than the loader's error.
if command -v ldd >/dev/null 2>&1 && ldd "$bin" | grep -q 'not found'; then
    echo "demo: pw-pipeline cannot load: $(ldd "$bin" | grep 'not found' | tr -s ' \t' ' ')" >&2
    echo "demo: install the PipeWire library: bash scripts/pipewire/install.sh" >&2
    exit 1
fi

args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    args=(--seconds 10 --hotplug)
fi
exec "$bin" "${args[@]}"
