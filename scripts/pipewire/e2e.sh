#!/usr/bin/env bash
# End-to-end test of mtsafe's PipeWire example against a private PipeWire daemon (no
# session manager), then against a desktop-like session: PipeWire with its stock
# config, the WirePlumber session manager and a D-Bus session bus, started here in a
# private runtime dir (scripts/pipewire/desktop-session.sh) and stopped by PID.
# Run by .ci/run; fails (never skips) when PipeWire or WirePlumber is missing.
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
#   9. the test's own daemon is stopped by its PID at the end;
#  10. without a session manager the stream follows a new default (set with
#      pw-metadata) and moves back when that sink goes, relinked by port name;
#  11. no false success: a run whose capture gets no audio (capturing another sink's
#      monitor) exits 1 with "ok": false and the reason, on both sessions;
#  12. without a session manager every link is made from code by port name; with
#      WirePlumber none is (the streams AUTOCONNECT and it links them);
#  13. with WirePlumber: audio flows as in 3 (and 4); --list-devices marks the
#      default; --sink picks the named device (its ports carry the tone, seen with
#      pw-link); an unknown --sink is exit 2 listing the devices; a sink hot-plugged
#      and made default with pw-metadata receives the stream (pw-link) and the
#      summary reports the move; a chosen sink that goes moves the stream to the
#      default; the program's own hot-plugged sink comes and goes; 0 "wrong
#      context" lines; scripts/pipewire/demo.sh runs there as on a bare machine.
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
for tool in python3 pw-cli pw-link pw-metadata wireplumber dbus-daemon; do
    command -v "$tool" >/dev/null || { echo "e2e: FAILED: $tool not found" >&2; exit 1; }
done

echo "e2e: building pw-pipeline and running its tests (compile-time lock proofs)"
cargo build -p mtsafe-pipewire-example --bin pw-pipeline
cargo test -p mtsafe-pipewire-example
bin="${CARGO_TARGET_DIR:-$root/target}/debug/pw-pipeline"

work=$(mktemp -d /tmp/mtsafe-e2e.XXXXXX)
daemons=()
sessions=()
cleanup() {
    for d in "${daemons[@]}"; do
        [ -f "$d/pid" ] && bash "$here/private-daemon.sh" stop "$d" >/dev/null 2>&1 || true
    done
    for d in "${sessions[@]}"; do
        bash "$here/desktop-session.sh" stop "$d" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A clean environment: no session daemon leaks in.
unset XDG_RUNTIME_DIR PIPEWIRE_RUNTIME_DIR PIPEWIRE_REMOTE PIPEWIRE_CONFIG_DIR
unset DBUS_SESSION_BUS_ADDRESS XDG_STATE_HOME XDG_CONFIG_HOME

start_daemon() { # DIR
    bash "$here/private-daemon.sh" start "$1"
    daemons+=("$1")
}

# Checks one run's JSON summary (last line of stdout) against the audio claims.
# Prints "ok" lines or "FAIL" lines; exits non-zero on a failed claim.
check_json() { # OUT HOTPLUG [SESSION: private (default) | wireplumber]
    python3 - "$1" "$2" "${3:-private}" <<'PY'
import json, sys
out, hotplug, session = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
lines = [l for l in open(out) if l.startswith('{"ok"')]
if not lines:
    print("  FAIL  no JSON summary in", out); sys.exit(1)
s = json.loads(lines[-1])
bad = []
if not s["ok"]:
    bad.append(f"ok is false: {s['error']}")
if session == "private" and (s["session_manager"] is not None or s["links_made"] < 4):
    bad.append(f"no session manager: want >= 4 links made from code, got {s['links_made']} (session manager {s['session_manager']})")
if session == "wireplumber" and (s["session_manager"] is None or s["links_made"] != 0):
    bad.append(f"WirePlumber: want it detected and 0 links made from code, got {s['session_manager']}, {s['links_made']}")
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
print(f"  run: RMS {s['rms'][0]:.4f}/{s['rms'][1]:.4f}, frames {s['frames_pct']:.1f}%, sink {s['sink']}, "
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

echo "e2e: no false success (no session manager): capturing another sink's monitor"
# A second sink that nothing plays to; the program must see only silence and fail.
pw-cli create-node adapter '{ factory.name=support.null-audio-sink node.name=mtsafe-quiet
    node.description="quiet sink" media.class=Audio/Sink object.linger=true
    audio.format=F32P audio.rate=48000 audio.channels=2 audio.position=[FL FR]
    adapter.auto-port-config={ mode=dsp monitor=true position=preserve } }' >/dev/null
check_false_success() { # OUT ERR RC WHAT
    python3 - "$1" "$3" <<'PY' && pass "$4: exit 1, \"ok\": false: $(tail -1 "$2")" || fail "$4: exit $3, $(tail -1 "$2")"
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{"ok"')][-1])
sys.exit(0 if sys.argv[2] == "1" and s["ok"] is False and s["error"] else 1)
PY
}
rc=0
"$bin" --source mtsafe-quiet --seconds 2 --json >"$work/silent.out" 2>"$work/silent.err" || rc=$?
check_false_success "$work/silent.out" "$work/silent.err" "$rc" "no audio moved (private daemon)"

echo "e2e: no session manager: the default followed and a sink going, relinked by port name"
"$bin" --seconds 8 --json >"$work/move.out" 2>"$work/move.err" &
prog=$!
sleep 2
pw-cli create-node adapter '{ factory.name=support.null-audio-sink node.name=mtsafe-hot
    node.description="hot sink" media.class=Audio/Sink object.linger=true
    audio.format=F32P audio.rate=48000 audio.channels=2 audio.position=[FL FR]
    adapter.auto-port-config={ mode=dsp monitor=true position=preserve } }' >/dev/null
for _ in $(seq 1 50); do pw-cli ls Node 2>/dev/null | grep -q 'node.name = "mtsafe-hot"' && break; sleep 0.1; done
pw-metadata 0 default.audio.sink '{ "name": "mtsafe-hot" }' >/dev/null
sleep 2
pw-cli destroy mtsafe-hot >/dev/null
rc=0; wait "$prog" || rc=$?
if [ "$rc" -eq 0 ] && check_json "$work/move.out" 0 >"$work/move.check" &&
    python3 -c 'import json,sys; s=json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"ok\"")][-1]); m=[(x["from"],x["to"],x["why"]) for x in s["moves"]]; sys.exit(0 if m==[("mtsafe-sink","mtsafe-hot","the default sink changed"),("mtsafe-hot","mtsafe-sink","mtsafe-hot went")] and s["links_made"]>=12 and not s["links_refused"] else 1)' "$work/move.out"; then
    pass "moved to the new default and back when it went, $(grep -o '"links_made":[0-9]*' "$work/move.out") by port name:"
    grep '  moved' "$work/move.out" | sed 's/^ */        /'
    grep '  run:' "$work/move.check"
else
    cat "$work/move.check" 2>/dev/null; fail "private daemon moves: exit $rc, $(grep -E '  moved|error' "$work/move.out" "$work/move.err" | tail -3)"
fi
pw-metadata -d 0 default.audio.sink >/dev/null 2>&1 || true

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

echo "e2e: desktop session: PipeWire + WirePlumber + D-Bus in a private runtime dir"
desk="$work/desk"
sessions+=("$desk")
bash "$here/desktop-session.sh" start "$desk"
(
    # shellcheck disable=SC1091
    . "$desk/env"
    sink() { # NAME DESCRIPTION: a null sink, as a user would make one (no port config)
        pw-cli create-node adapter "{ factory.name=support.null-audio-sink node.name=$1
            node.description=\"$2\" media.class=Audio/Sink object.linger=true
            audio.position=[FL FR] }" >/dev/null
    }
    wait_node() { # NAME: until the registry has it (5 s at most)
        for _ in $(seq 1 50); do
            pw-cli ls Node 2>/dev/null | grep -q "node.name = \"$1\"" && return 0
            sleep 0.1
        done
        return 1
    }
    # The tone's output ports feed NAME's playback ports, now (pw-link -l).
    tone_to() { pw-link -l 2>/dev/null | grep -A1 '^mtsafe-tone:output_FL' | grep -q "$1:playback_FL"; }

    ok() { echo "  ok    $*"; }
    no() { echo "  FAIL  $*"; echo x >>"$work/desk.fail"; }
    sink desk-sink "Desk speakers"
    sink other-sink "Other speakers"
    wait_node desk-sink && wait_node other-sink || no "the null sinks did not appear"
    pw-metadata 0 default.audio.sink '{ "name": "desk-sink" }' >/dev/null
    sleep 0.3

    "$bin" --list-devices >"$work/wp-list.out" 2>&1 || no "--list-devices failed: $(tail -2 "$work/wp-list.out")"
    if grep -qE '^ +\* +[0-9]+ +desk-sink ' "$work/wp-list.out" && grep -q 'session manager: WirePlumber' "$work/wp-list.out"; then
        ok "--list-devices: desk-sink marked default, session manager WirePlumber"
    else
        no "--list-devices: $(cat "$work/wp-list.out")"
    fi

    "$bin" --daemon running --seconds 3 --json >"$work/wprun1.out" 2>"$work/wprun1.err" ||
        no "default run exited non-zero: $(tail -2 "$work/wprun1.err")"
    if check_json "$work/wprun1.out" 0 wireplumber >"$work/wprun1.check" &&
        grep -q '"sink":"desk-sink"' "$work/wprun1.out"; then
        ok "audio flows to the default sink (desk-sink), linked by WirePlumber, no link from code"
        grep '  run:' "$work/wprun1.check"
    else
        cat "$work/wprun1.check"; no "default run's claims (sink: $(grep -o '"sink":[^,]*' "$work/wprun1.out"))"
    fi

    "$bin" --sink other-sink --seconds 3 --json >"$work/wprun2.out" 2>"$work/wprun2.err" &
    prog=$!
    sleep 1.5
    tone_to other-sink && seen=1 || seen=0
    rc=0; wait "$prog" || rc=$?
    if [ "$rc" -eq 0 ] && [ "$seen" -eq 1 ] && check_json "$work/wprun2.out" 0 wireplumber >"$work/wprun2.check" &&
        grep -q '"sink":"other-sink"' "$work/wprun2.out"; then
        ok "--sink other-sink: the tone plays to other-sink (pw-link), audio claims hold"
        grep '  run:' "$work/wprun2.check"
    else
        cat "$work/wprun2.check" 2>/dev/null; no "--sink other-sink: exit $rc, seen by pw-link $seen, $(tail -1 "$work/wprun2.err")"
    fi

    rc=0
    "$bin" --sink no-such-sink --seconds 1 >"$work/wpbad.out" 2>&1 || rc=$?
    if [ "$rc" -eq 2 ] && grep -q 'no-such-sink' "$work/wpbad.out" && grep -q 'desk-sink' "$work/wpbad.out" &&
        grep -q 'other-sink' "$work/wpbad.out"; then
        ok "--sink no-such-sink: exit 2, lists the sinks there are"
    else
        no "--sink no-such-sink: exit $rc: $(tail -3 "$work/wpbad.out")"
    fi

    rc=0
    "$bin" --sink desk-sink --source other-sink --seconds 2 --json >"$work/wpsilent.out" 2>"$work/wpsilent.err" || rc=$?
    check_false_success "$work/wpsilent.out" "$work/wpsilent.err" "$rc" "no audio moved (WirePlumber)"

    echo "e2e: a sink hot-plugged and made default with pw-metadata receives the stream"
    "$bin" --seconds 6 --json >"$work/wprun3.out" 2>"$work/wprun3.err" &
    prog=$!
    sleep 2
    sink hot-sink "Hot-plugged speakers"
    wait_node hot-sink || no "hot-sink did not appear"
    pw-metadata 0 default.audio.sink '{ "name": "hot-sink" }' >/dev/null
    seen=0
    for _ in $(seq 1 30); do tone_to hot-sink && { seen=1; break; }; sleep 0.1; done
    rc=0; wait "$prog" || rc=$?
    if [ "$rc" -eq 0 ] && [ "$seen" -eq 1 ] && check_json "$work/wprun3.out" 0 wireplumber >"$work/wprun3.check" &&
        python3 -c 'import json,sys; s=json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"ok\"")][-1]); sys.exit(0 if s["sink"]=="hot-sink" and any(m["from"]=="desk-sink" and m["to"]=="hot-sink" for m in s["moves"]) else 1)' "$work/wprun3.out"; then
        ok "the stream moved to hot-sink (pw-link), the summary reports it: $(grep '  moved' "$work/wprun3.out" | sed 's/^ *//')"
        grep '  run:' "$work/wprun3.check"
    else
        cat "$work/wprun3.check" 2>/dev/null; no "default moved to hot-sink: exit $rc, seen by pw-link $seen, $(grep -E 'moved|error' "$work/wprun3.out" "$work/wprun3.err" | tail -2)"
    fi

    echo "e2e: the chosen sink goes: the stream moves to the default"
    "$bin" --sink other-sink --seconds 5 --json >"$work/wprun4.out" 2>"$work/wprun4.err" &
    prog=$!
    sleep 2
    pw-cli destroy other-sink >/dev/null
    rc=0; wait "$prog" || rc=$?
    if [ "$rc" -eq 0 ] && check_json "$work/wprun4.out" 0 wireplumber >"$work/wprun4.check" &&
        python3 -c 'import json,sys; s=json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"ok\"")][-1]); sys.exit(0 if s["sink"] and s["sink"]==s["default_sink"] and any(m["from"]=="other-sink" and m["why"]=="other-sink went" for m in s["moves"]) else 1)' "$work/wprun4.out"; then
        # WirePlumber recomputes the default when a sink goes: the stream goes there.
        ok "other-sink went: the stream moved to the default sink: $(grep '  moved' "$work/wprun4.out" | sed 's/^ *//')"
        grep '  run:' "$work/wprun4.check"
    else
        cat "$work/wprun4.check" 2>/dev/null; no "target gone: exit $rc, $(grep -E 'moved|error' "$work/wprun4.out" "$work/wprun4.err" | tail -2)"
    fi

    echo "e2e: the program's own hot-plugged sink, with WirePlumber"
    "$bin" --seconds 4 --hotplug --json >"$work/wprun5.out" 2>"$work/wprun5.err" || no "--hotplug run exited non-zero: $(tail -2 "$work/wprun5.err")"
    if check_json "$work/wprun5.out" 1 wireplumber >"$work/wprun5.check"; then
        ok "mtsafe-hotplug came and went; audio claims hold"
        grep '  run:' "$work/wprun5.check"
    else
        cat "$work/wprun5.check"; no "--hotplug run's claims"
    fi

    echo "e2e: scripts/pipewire/demo.sh in the desktop session"
    rc=0
    MTSAFE_DEMO_PROFILE=debug bash "$here/demo.sh" --seconds 2 --json >"$work/wpdemo.out" 2>"$work/wpdemo.err" || rc=$?
    if [ "$rc" -eq 0 ] && grep -q 'running daemon at' "$work/wpdemo.out" && check_json "$work/wpdemo.out" 0 wireplumber >"$work/wpdemo.check"; then
        ok "demo.sh used the session's daemon and WirePlumber; audio claims hold"
    else
        cat "$work/wpdemo.check" 2>/dev/null; no "demo.sh: exit $rc: $(tail -2 "$work/wpdemo.err")"
    fi

    n=$(cat "$work"/wp*.err | grep -c 'called from wrong context' || true)
    if [ "$n" -eq 0 ]; then ok "0 'called from wrong context' lines across the WirePlumber runs"; else no "$n wrong-context lines with WirePlumber"; fi
)
[ -f "$work/desk.fail" ] && failures=$((failures + $(wc -l <"$work/desk.fail")))
pids=$(sed -n 's/^export MTSAFE_\(DBUS\|PW_DAEMON\|WP\)_PID=//p' "$desk/env" | tr '\n' ' ')
bash "$here/desktop-session.sh" stop "$desk"
still=""
for p in $pids; do kill -0 "$p" 2>/dev/null && still="$still $p"; done
if [ -z "$still" ]; then pass "desktop session stopped by PID ($pids)"; else fail "still running:$still"; fi

echo "e2e: $(($(date +%s) - started)) s, $failures failure(s)"
[ "$failures" -eq 0 ]
