# Sourced by the scripts that start PipeWire processes for mtsafe's example
# (private-daemon.sh, desktop-session.sh): stopping one by its PID.

# Waits up to 3 s for process $1 to be gone.
wait_gone() {
    for _ in $(seq 1 30); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
}

# stop_by_pid LABEL PID: SIGTERM, then SIGKILL after 3 s, then waits until the process
# is gone (reaping it when it is the caller's child). Returns 1 if it still runs.
stop_by_pid() {
    local label=$1 pid=$2
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid"
        if kill -0 "$pid" 2>/dev/null; then
            echo "$label pid $pid ignored SIGTERM; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        # Reap it if it is our child; otherwise wait until it is gone.
        wait "$pid" 2>/dev/null || true
        wait_gone "$pid"
    fi
    if kill -0 "$pid" 2>/dev/null; then
        echo "$label pid $pid is still running" >&2
        return 1
    fi
}
