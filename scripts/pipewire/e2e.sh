#!/usr/bin/env bash
# End-to-end test of mtsafe's PipeWire example against a private PipeWire daemon.
# Run by .ci/run; fails (never skips) when PipeWire is missing.
#
# Checks, each a claim of the example:
#   1. the compile-time lock proofs (pw_lock's compile_fail doctests) hold;
#   2. a hot-plugged sink appears in the device list and disappears again;
#   3. audio flows: captured RMS within 5% of the sine's 0.3536 on both channels and
#      >= 95% of the frames expected for the time the signal ran;
#   4. the level meter made no copy and no allocation; the real-time process
#      callbacks made no allocation after warm-up; the gain stage, last in the
#      chain, wrote >= 90% of the periods in place (the pool holds no handle to a
#      buffer that is out; the meter hands its handle on) and copied only the rest;
#   5. zero "called from wrong context" lines on stderr across 10 runs of the
#      correct mode;
#   6. --unlocked-demo's child DOES print that warning on the installed PipeWire
#      (so the check above is known to be live);
#   7. the daemon dying mid-run ends the program with an error within 5 s;
#   8. with no daemon reachable the program starts a private one and stops it by
#      its PID; a missing daemon binary and bad arguments give clear errors;
#   9. the test's own daemon is stopped by its PID at the end.
#
# Usage: scripts/pipewire/e2e.sh   (CARGO_TARGET_DIR is honoured)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
here="$root/scripts/pipewire"
started=$(date +%s)
failures=0
pass() { printf '  ok    %s\n' "$*"; }
fail() { printf '  FAIL  %s\n' "$*"; failures=$((failures + 1)); }

if ! bash "$here/install.sh" --check; then
    echo "e2e: FAILED: the PipeWire packages are not installed (scripts/pipewire/install.sh)" >&2
    exit 1
fi
for tool in python3 pw-cli; do
    command -v "$tool" >/dev/null || { echo "e2e: FAILED: $tool not found" >&2; exit 1; }
done

echo "e2e: building pw-pipeline and running its tests (compile-time lock proofs)"
cargo build -p mtsafe-pipewire-example --bin pw-pipeline
cargo test -p mtsafe-pipewire-example
bin="${CARGO_TARGET_DIR:-$root/target}/debug/pw-pipeline"

work=$(mktemp -d /tmp/mtsafe-e2e.XXXXXX)
daemons=()
cleanup() {
    for d in "${daemons[@]}"; do
        [ -f "$d/pid" ] && bash "$here/private-daemon.sh" stop "$d" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# A clean environment: no session daemon leaks in.
unset XDG_RUNTIME_DIR PIPEWIRE_RUNTIME_DIR PIPEWIRE_REMOTE PIPEWIRE_CONFIG_DIR

start_daemon() { # DIR
    bash "$here/private-daemon.sh" start "$1"
    daemons+=("$1")
}

# Checks one run's JSON summary (last line of stdout) against the audio claims.
# Prints "ok" lines or "FAIL" lines; exits non-zero on a failed claim.
check_json() { # OUT HOTPLUG
    python3 - "$1" "$2" <<'PY'
import json, sys
out, hotplug = sys.argv[1], sys.argv[2] == "1"
lines = [l for l in open(out) if l.startswith('{"ok"')]
if not lines:
    print("  FAIL  no JSON summary in", out); sys.exit(1)
s = json.loads(lines[-1])
bad = []
exp = s["expected_rms"]
for ch, rms in zip(("FL", "FR"), s["rms"]):
    if abs(rms - exp) > 0.05 * exp:
        bad.append(f"RMS {ch} {rms:.4f} not within 5% of {exp:.4f}")
if s["frames_pct"] < 95.0:
    bad.append(f"frames {s['meter_frames']} are {s['frames_pct']:.1f}% of the {s['expected_frames']:.0f} expected (< 95%)")
if s["meter_copies"] != 0 or s["meter_allocs"] != 0:
    bad.append(f"meter copies {s['meter_copies']}, allocations {s['meter_allocs']} (want 0, 0)")
if s["rt_allocs_steady"] != 0:
    bad.append(f"process callbacks allocated {s['rt_allocs_steady']} times in steady state")
if s["gain_periods"] == 0 or s["gain_buffer_copies"] != s["gain_periods"] - s["gain_in_place"]:
    bad.append(f"gain stage: {s['gain_periods']} periods, {s['gain_buffer_copies']} copies, {s['gain_in_place']} in place")
elif s["gain_in_place"] < 0.9 * s["gain_periods"]:
    bad.append(f"gain stage wrote {s['gain_in_place']} of {s['gain_periods']} periods in place (< 90%)")
if hotplug and not (s["hotplug_added"] and s["hotplug_removed"]):
    bad.append(f"hot-plug: added {s['hotplug_added']}, removed {s['hotplug_removed']}")
for b in bad:
    print("  FAIL ", b)
print(f"  run: RMS {s['rms'][0]:.4f}/{s['rms'][1]:.4f}, frames {s['frames_pct']:.1f}%, "
      f"buffers {s['buffers']} (returned {s['pool_returned']}), meter copies {s['meter_copies']} "
      f"allocs {s['meter_allocs']}, rt allocs {s['rt_allocs_steady']} (warm-up {s['rt_allocs_warmup']}), "
      f"gain in place {s['gain_in_place']} of {s['gain_periods']}, copies {s['gain_buffer_copies']}")
sys.exit(1 if bad else 0)
PY
}

echo "e2e: the test's own private daemon"
start_daemon "$work/d1"
# shellcheck disable=SC1091
. "$work/d1/env"
daemon_pid=$MTSAFE_PW_DAEMON_PID

echo "e2e: run 1 of 10 (correct mode): 4 s with a hot-plugged sink"
wrong=0
"$bin" --seconds 4 --hotplug --json >"$work/run1.out" 2>"$work/run1.err" || fail "run 1 exited non-zero: $(tail -3 "$work/run1.err")"
if grep -q 'device added: .*mtsafe-hotplug' "$work/run1.out" &&
    grep -q 'device removed: .*mtsafe-hotplug' "$work/run1.out"; then
    pass "the hot-plugged sink appeared in the device list and disappeared again"
    grep 'mtsafe-hotplug' "$work/run1.out" | sed 's/^/        /'
else
    fail "the device list did not show the hot-plugged sink come and go"
fi
check_json "$work/run1.out" 1 || fail "run 1's audio claims"
wrong=$((wrong + $(grep -c 'called from wrong context' "$work/run1.err" || true)))

for i in $(seq 2 10); do
    "$bin" --seconds 2 --json >"$work/run$i.out" 2>"$work/run$i.err" || fail "run $i exited non-zero: $(tail -3 "$work/run$i.err")"
    check_json "$work/run$i.out" 0 >"$work/run$i.check" || { cat "$work/run$i.check"; fail "run $i's audio claims"; }
    n=$(grep -c 'called from wrong context' "$work/run$i.err" || true)
    wrong=$((wrong + n))
done
if [ "$wrong" -eq 0 ]; then
    pass "0 'called from wrong context' lines across 10 runs of the correct mode"
else
    fail "$wrong 'called from wrong context' lines across 10 runs of the correct mode"
    grep -h 'wrong context' "$work"/run*.err | head -5
fi
python3 - "$work" <<'PY'
import json, glob, sys
runs = [json.loads([l for l in open(f) if l.startswith('{"ok"')][-1]) for f in sorted(glob.glob(sys.argv[1] + "/run*.out"))]
rms = [r for s in runs for r in s["rms"]]
pct = [s["frames_pct"] for s in runs]
print(f"  ok    audio over {len(runs)} runs: RMS {min(rms):.4f}..{max(rms):.4f} (sine 0.3536), "
      f"frames {min(pct):.1f}%..{max(pct):.1f}%, meter copies {sum(s['meter_copies'] for s in runs)}, "
      f"meter allocations {sum(s['meter_allocs'] for s in runs)}, "
      f"process allocations in steady state {sum(s['rt_allocs_steady'] for s in runs)}, "
      f"gain in place {sum(s['gain_in_place'] for s in runs)} of {sum(s['gain_periods'] for s in runs)} periods")
PY

echo "e2e: --seconds 3 --json --daemon private: the last writer writes in place, no real-time allocation"
if "$bin" --seconds 3 --json --daemon private >"$work/private.out" 2>"$work/private.err"; then
    if check_json "$work/private.out" 0; then
        pass "gain stage in place >= 90% of periods, 0 real-time allocations in steady state"
    else
        fail "the --daemon private run's claims"
    fi
else
    fail "--daemon private run failed: $(tail -3 "$work/private.err")"
fi

echo "e2e: --unlocked-demo (deliberately wrong, in a child process)"
"$bin" --unlocked-demo >"$work/unlocked.out" 2>&1 || fail "--unlocked-demo exited non-zero"
n=$(sed -n 's/.*wrong_context_lines=\([0-9]*\).*/\1/p' "$work/unlocked.out")
if [ "${n:-0}" -ge 1 ]; then
    pass "the unlocked child printed $n warning(s) on PipeWire $(pkg-config --modversion libpipewire-0.3):"
    grep 'wrong context' "$work/unlocked.out" | head -2 | sed 's/^/        /'
else
    fail "the unlocked child printed no 'wrong context' warning: the check is not live"
    cat "$work/unlocked.out"
fi

echo "e2e: stopping the test's daemon by its PID ($daemon_pid)"
bash "$here/private-daemon.sh" stop "$work/d1"
if kill -0 "$daemon_pid" 2>/dev/null; then fail "daemon $daemon_pid still runs"; else pass "daemon $daemon_pid stopped"; fi

echo "e2e: the daemon dies mid-run"
start_daemon "$work/d2"
(
    # shellcheck disable=SC1091
    . "$work/d2/env"
    "$bin" --seconds 30 >"$work/die.out" 2>&1 &
    prog=$!
    sleep 2
    kill -KILL "$MTSAFE_PW_DAEMON_PID"
    killed=$(date +%s%N)
    for _ in $(seq 1 100); do
        kill -0 "$prog" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$prog" 2>/dev/null; then
        kill -KILL "$prog"
        echo "  FAIL  still running 10 s after the daemon died" >>"$work/die.verdict"
    else
        rc=0
        wait "$prog" || rc=$?
        ms=$((($(date +%s%N) - killed) / 1000000))
        if [ "$rc" -ne 0 ] && [ "$ms" -le 5000 ] && grep -q 'error' "$work/die.out"; then
            echo "  ok    exited $rc ${ms} ms after the daemon died: $(grep error "$work/die.out" | tail -1)" >>"$work/die.verdict"
        else
            echo "  FAIL  exit $rc after ${ms} ms: $(tail -2 "$work/die.out")" >>"$work/die.verdict"
        fi
    fi
)
cat "$work/die.verdict"
grep -q FAIL "$work/die.verdict" && failures=$((failures + 1))
bash "$here/private-daemon.sh" stop "$work/d2" >/dev/null 2>&1 || true

echo "e2e: no daemon reachable: the program's own private daemon"
if "$bin" --seconds 2 --json >"$work/own.out" 2>"$work/own.err"; then
    pid=$(python3 -c 'import json,sys; print(json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"ok\"")][-1])["daemon_pid"])' "$work/own.out")
    if [ "$pid" != None ] && ! kill -0 "$pid" 2>/dev/null && grep -q "private daemon pid $pid stopped: true" "$work/own.out"; then
        pass "started private daemon pid $pid and stopped it at exit"
    else
        fail "private daemon pid $pid not stopped"
    fi
    check_json "$work/own.out" 0 || fail "private-daemon run's audio claims"
    n=$(grep -c 'called from wrong context' "$work/own.err" || true)
    [ "$n" -eq 0 ] || fail "$n wrong-context lines with the private daemon"
else
    fail "run with its own private daemon failed: $(tail -3 "$work/own.err")"
fi

echo "e2e: clear errors"
rc=0
MTSAFE_PIPEWIRE_BIN=/nonexistent/pipewire "$bin" --seconds 1 >"$work/nobin.out" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && grep -q 'install' "$work/nobin.out"; then
    pass "no daemon binary: exit 1, says what to install"
else
    fail "no daemon binary: exit $rc: $(cat "$work/nobin.out")"
fi
rc=0
"$bin" --seconds nope >"$work/badarg.out" 2>&1 || rc=$?
if [ "$rc" -eq 2 ] && grep -q '^usage:' "$work/badarg.out"; then
    pass "bad arguments: exit 2 with the usage"
else
    fail "bad arguments: exit $rc: $(head -3 "$work/badarg.out")"
fi

echo "e2e: $(($(date +%s) - started)) s, $failures failure(s)"
[ "$failures" -eq 0 ]
