#!/usr/bin/env bash
# Starts or stops a private PipeWire daemon for mtsafe's PipeWire example, in a private
# runtime directory, with the project's own config (scripts/pipewire/pipewire.conf).
#
#   scripts/pipewire/private-daemon.sh start DIR   starts the daemon in DIR (created,
#       mode 700), waits until it answers, and writes DIR/env: the variables a client
#       needs (source it) and MTSAFE_PW_DAEMON_PID, the daemon's PID.
#   scripts/pipewire/private-daemon.sh stop DIR    stops the daemon by the PID recorded
#       in DIR/pid (SIGTERM, then SIGKILL after 3 s) and waits until it is gone.
#
# The daemon's log goes to DIR/daemon.log.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

. "$here/stop-pid.sh"

case "$cmd" in
start)
    if ! command -v pipewire >/dev/null 2>&1; then
        echo "private-daemon: the PipeWire daemon binary 'pipewire' is not installed" >&2
        echo "private-daemon: run scripts/pipewire/install.sh (Debian: apt-get install -t bookworm-backports pipewire pipewire-bin)" >&2
        exit 1
    fi
    mkdir -p "$dir/runtime" "$dir/config"
    chmod 700 "$dir" "$dir/runtime"
    dir=$(cd "$dir" && pwd)
    cp "$here/pipewire.conf" "$dir/config/pipewire.conf"
    rm -f "$dir/runtime/pipewire-0" "$dir/runtime/pipewire-0.lock"
    XDG_RUNTIME_DIR="$dir/runtime" PIPEWIRE_RUNTIME_DIR="$dir/runtime" \
        PIPEWIRE_CONFIG_DIR="$dir/config" PIPEWIRE_REMOTE=pipewire-0 \
        DBUS_SESSION_BUS_ADDRESS=disabled: \
        setsid pipewire >"$dir/daemon.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/pid"
    # Wait for the socket, then for an answer (normally well under a second).
    for _ in $(seq 1 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "private-daemon: pipewire exited at start; its log:" >&2
            cat "$dir/daemon.log" >&2
            exit 1
        fi
        if [ -S "$dir/runtime/pipewire-0" ] &&
            XDG_RUNTIME_DIR="$dir/runtime" PIPEWIRE_RUNTIME_DIR="$dir/runtime" PIPEWIRE_REMOTE=pipewire-0 \
                timeout 2 pw-cli info 0 >/dev/null 2>&1; then
            cat >"$dir/env" <<ENV
export XDG_RUNTIME_DIR='$dir/runtime'
export PIPEWIRE_RUNTIME_DIR='$dir/runtime'
export PIPEWIRE_REMOTE=pipewire-0
export MTSAFE_PW_DAEMON_PID=$pid
ENV
            echo "private-daemon: pipewire running, pid $pid, runtime dir $dir/runtime" >&2
            exit 0
        fi
        sleep 0.1
    done
    echo "private-daemon: pipewire (pid $pid) did not answer within 10 s; stopping it" >&2
    kill -TERM "$pid" 2>/dev/null || true
    exit 1
    ;;
stop)
    [ -f "$dir/pid" ] || { echo "private-daemon: no $dir/pid" >&2; exit 1; }
    pid=$(cat "$dir/pid")
    stop_by_pid private-daemon: "$pid" || exit 1
    rm -f "$dir/pid"
    echo "private-daemon: stopped pid $pid" >&2
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
