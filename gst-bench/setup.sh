#!/usr/bin/env bash
# Installs what the GStreamer benches need where it is missing, then runs them.
#
#   gst-bench/setup.sh                 install if needed, then `cargo bench -p mtsafe-gst-bench`
#   gst-bench/setup.sh --install-only  install if needed, run nothing
#   gst-bench/setup.sh -- ARGS...      pass ARGS to criterion (e.g. -- --warm-up-time 1 --measurement-time 2)
#
# Needs: pkg-config and Debian's libgstreamer1.0-dev (GStreamer 1.22 headers; it pulls
# libglib2.0-dev). The `identity` and `fakesink` elements come from the coreelements
# plugin, which Debian ships in libgstreamer1.0-0 itself, so no plugin package is
# needed. GStreamer runs with a registry file of its own (GST_REGISTRY, below) rather
# than ~/.cache, and needs no display and no D-Bus session.
set -euo pipefail
cd "$(dirname "$0")/.."

install_only=false
if [ "${1:-}" = "--install-only" ]; then
    install_only=true
    shift
fi
[ "${1:-}" = "--" ] && shift

missing=()
command -v pkg-config >/dev/null || missing+=(pkg-config)
if ! pkg-config --exists 'gstreamer-1.0 >= 1.22' 2>/dev/null; then
    missing+=(libgstreamer1.0-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "gst-bench: installing ${missing[*]} (GStreamer's development files, for the gstreamer crate)"
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "gst-bench: cannot install ${missing[*]}: needs root and apt-get (Debian 12)." >&2
        echo "gst-bench: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    # A fresh package list first: a stale one asks for versions the mirror dropped.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "gst-bench: GStreamer $(pkg-config --modversion gstreamer-1.0) development files present"
$install_only && exit 0

target=${CARGO_TARGET_DIR:-$(pwd)/target}
export GST_REGISTRY=${GST_REGISTRY:-$target/gst-bench-registry.bin}
echo "gst-bench: GST_REGISTRY=$GST_REGISTRY"
exec cargo bench -p mtsafe-gst-bench --bench side_by_side -- "$@"
