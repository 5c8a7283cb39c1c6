#!/usr/bin/env bash
# Starts or stops a desktop-like PipeWire session for mtsafe's PipeWire example: a
# D-Bus session bus, the PipeWire daemon with its stock config and the WirePlumber
# session manager, all in a private runtime directory (no root session needed).
#
#   scripts/pipewire/desktop-session.sh start DIR   starts dbus-daemon, pipewire and
#       wireplumber in DIR (created, mode 700), waits until WirePlumber has published
#       the `default` metadata, and writes DIR/env: the variables a client needs
#       (source it) and the three PIDs.
#   scripts/pipewire/desktop-session.sh stop DIR    stops them by the PIDs recorded in
#       DIR (WirePlumber first, then PipeWire, then D-Bus; SIGTERM, then SIGKILL after
#       3 s) and waits until they are gone.
#
# Logs go to DIR/{dbus,pipewire,wireplumber}.log.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

. "$(cd "$(dirname "$0")" && pwd)/stop-pid.sh"

stop_pid() { # NAME
    local f="$dir/$1.pid" pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    stop_by_pid "desktop-session: $1" "$pid" || return 1
    rm -f "$f"
    echo "desktop-session: stopped $1 pid $pid" >&2
}

case "$cmd" in
start)
    for bin in dbus-daemon pipewire wireplumber pw-cli pw-metadata; do
        if ! command -v "$bin" >/dev/null 2>&1; then
            echo "desktop-session: $bin is not installed: run scripts/pipewire/install.sh" >&2
            exit 1
        fi
    done
    mkdir -p "$dir/runtime" "$dir/state" "$dir/config"
    chmod 700 "$dir" "$dir/runtime"
    dir=$(cd "$dir" && pwd)
    export XDG_RUNTIME_DIR="$dir/runtime" PIPEWIRE_RUNTIME_DIR="$dir/runtime"
    export XDG_STATE_HOME="$dir/state" XDG_CONFIG_HOME="$dir/config"
    export DBUS_SESSION_BUS_ADDRESS="unix:path=$dir/runtime/bus"
    unset PIPEWIRE_REMOTE PIPEWIRE_CONFIG_DIR
    setsid dbus-daemon --session --address="$DBUS_SESSION_BUS_ADDRESS" --nofork --nopidfile \
        >"$dir/dbus.log" 2>&1 </dev/null &
    echo $! >"$dir/dbus.pid"
    for _ in $(seq 1 50); do [ -S "$dir/runtime/bus" ] && break; sleep 0.1; done
    setsid pipewire >"$dir/pipewire.log" 2>&1 </dev/null &
    echo $! >"$dir/pipewire.pid"
    for _ in $(seq 1 100); do
        [ -S "$dir/runtime/pipewire-0" ] && timeout 2 pw-cli info 0 >/dev/null 2>&1 && break
        sleep 0.1
    done
    setsid wireplumber >"$dir/wireplumber.log" 2>&1 </dev/null &
    echo $! >"$dir/wireplumber.pid"
    # Ready when WirePlumber's own metadata (sm-settings) is published.
    ok=false
    for _ in $(seq 1 100); do
        for p in dbus pipewire wireplumber; do
            if ! kill -0 "$(cat "$dir/$p.pid")" 2>/dev/null; then
                echo "desktop-session: $p exited at start; its log:" >&2
                cat "$dir/$p.log" >&2
                "$0" stop "$dir" || true
                exit 1
            fi
        done
        if timeout 2 pw-cli ls Metadata 2>/dev/null | grep -q 'metadata.name = "sm-settings"'; then
            ok=true
            break
        fi
        sleep 0.1
    done
    if ! $ok; then
        echo "desktop-session: WirePlumber did not come up within 10 s; stopping" >&2
        "$0" stop "$dir" || true
        exit 1
    fi
    cat >"$dir/env" <<ENV
export XDG_RUNTIME_DIR='$dir/runtime'
export PIPEWIRE_RUNTIME_DIR='$dir/runtime'
export XDG_STATE_HOME='$dir/state'
export XDG_CONFIG_HOME='$dir/config'
export DBUS_SESSION_BUS_ADDRESS='unix:path=$dir/runtime/bus'
unset PIPEWIRE_REMOTE PIPEWIRE_CONFIG_DIR
export MTSAFE_DBUS_PID=$(cat "$dir/dbus.pid")
export MTSAFE_PW_DAEMON_PID=$(cat "$dir/pipewire.pid")
export MTSAFE_WP_PID=$(cat "$dir/wireplumber.pid")
ENV
    echo "desktop-session: dbus $(cat "$dir/dbus.pid"), pipewire $(cat "$dir/pipewire.pid"), wireplumber $(cat "$dir/wireplumber.pid") in $dir/runtime" >&2
    ;;
stop)
    rc=0
    for p in wireplumber pipewire dbus; do stop_pid "$p" || rc=1; done
    exit $rc
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
