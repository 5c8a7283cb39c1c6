#!/usr/bin/env bash
# Runs mtsafe's PipeWire example on this machine, installing what it needs first:
# the PipeWire packages (scripts/pipewire/install.sh), then a release build of
# `pw-pipeline`, then a run (10 s by default) with a hot-plugged sink.
#
# It uses the PipeWire daemon of the session if one answers; otherwise the program
# starts a private one with the project's config and stops it at exit.
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

echo "demo: building pw-pipeline (release; the first build takes a minute or two)" >&2
cargo build --release -p mtsafe-pipewire-example --bin pw-pipeline
bin="${CARGO_TARGET_DIR:-$root/target}/release/pw-pipeline"

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
