#!/usr/bin/env bash
# Runs every benchmark and rewrites docs/benchmarks.md and README.md's summary table
# from that one run: the machine and versions, the tables and targets of each
# section, the SVG charts (benches/figures/*.svg), the instruction counts and the
# locked-instruction counts of create + add + remove. Nothing in its generated blocks
# is typed by hand; the targets come from benches/targets.toml.
#
#   scripts/bench-readme.sh             the full run (about 30 minutes on 2 cores)
#   scripts/bench-readme.sh --quick     shorter criterion runs (1 s warm-up, 2 s measurement)
#   scripts/bench-readme.sh --no-run    regenerate the document from the last run's results
#   scripts/bench-readme.sh -- ARGS     pass ARGS to criterion
#   scripts/bench-readme.sh --only BENCH [FILTER]
#                                       re-run one bench (cow, cookie_list, object or
#                                       pool; FILTER: a criterion filter, e.g. pass_1000)
#                                       over the last full run's results, after a change
#                                       to what it measures; the document then names the
#                                       re-run, its date and load, beside the full run's
#
# Needs root on Debian 12 the first time: it installs libgstreamer1.0-dev (through
# gst-bench/setup.sh) and valgrind where they are missing. Run it on a quiet machine:
# anything else running moves the figures by several percent.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

run=true
only=
only_filter=
criterion_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) criterion_args+=(--warm-up-time 1 --measurement-time 2) ;;
        --no-run) run=false ;;
        --only)
            only=${2:?--only needs a bench name}
            shift
            if [ $# -gt 1 ] && [ "${2:0:2}" != "--" ]; then only_filter=$2; shift; fi
            ;;
        --) shift; criterion_args+=("$@"); break ;;
        *) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
    esac
    shift
done

target=${CARGO_TARGET_DIR:-$root/target}
criterion="$target/criterion"
started=$(date +%s)
step() { printf '\n==== %s  [%ss]\n' "$*" "$(($(date +%s) - started))"; }
# The object bench's cycles, counted: what docs/benchmarks.md's `locked` block shows.
locked_counts() {
    step "locked instructions per create + add + remove (callgrind)"
    scripts/locked-counts.py --by-function | tee "$criterion/mtsafe-locked-counts.md"
}
counts=$(mktemp)
trap 'rm -f "$counts"' EXIT

if $run && [ -n "$only" ]; then
    case $only in
        cow | cookie_list | object | pool) ;;
        *) echo "--only: unknown bench $only (cow, cookie_list, object, pool)" >&2; exit 2 ;;
    esac
    if [ ! -f "$criterion/mtsafe-run.json" ]; then
        echo "--only re-runs over a full run's results: run without --only first" >&2
        exit 1
    fi
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
    step "cargo bench --bench $only $only_filter"
    cargo bench --bench "$only" -- $only_filter "${criterion_args[@]}"
    if [ "$only" = object ]; then
        locked_counts
    fi
    python3 - "$criterion/mtsafe-run.json" "$only${only_filter:+ $only_filter}" "$started_at" "$load" "${criterion_args[*]}" <<'PY'
import json, sys
path, what, date, load, args = sys.argv[1:6]
run = json.load(open(path))
run.setdefault("reruns", []).append({"what": what, "date": date, "load": load,
                                     "criterion_args": args})
json.dump(run, open(path, "w"), indent=1)
PY
    run=false
fi

if $run; then
    step "GStreamer development files"
    gst-bench/setup.sh --install-only
    if ! command -v valgrind >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "installing valgrind (for the instruction counts)"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
        else
            echo "valgrind not found (apt-get install valgrind)" >&2
            exit 1
        fi
    fi
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
    # Every figure must come from this run: an entry that no longer exists would
    # otherwise still be read from an older run's results.
    rm -rf "$criterion"

    step "cargo bench --bench cow"
    cargo bench --bench cow -- "${criterion_args[@]}"
    step "cargo bench --bench cookie_list"
    cargo bench --bench cookie_list -- "${criterion_args[@]}"
    step "cargo bench --bench object"
    cargo bench --bench object -- "${criterion_args[@]}"
    step "cargo bench --bench pool"
    cargo bench --bench pool -- "${criterion_args[@]}"
    step "GStreamer side by side (gst-bench)"
    gst-bench/setup.sh -- "${criterion_args[@]}"

    step "instruction counts (callgrind)"
    # The script reads its binary from ./target whatever CARGO_TARGET_DIR says.
    env -u CARGO_TARGET_DIR scripts/instruction-counts.sh | tee "$counts"
    cp "$counts" "$criterion/mtsafe-instruction-counts.md"
    locked_counts

    step "recording the machine and versions"
    python3 - "$criterion/mtsafe-run.json" "$started_at" "$load" "${criterion_args[*]}" <<'PY'
import json, os, re, subprocess, sys, tomllib
out, date, load, args = sys.argv[1:5]
def cmd(*a):
    return subprocess.run(a, capture_output=True, text=True, check=True).stdout.strip()
cpu = re.search(r"^Model name:\s*(.+)$", cmd("lscpu"), re.M).group(1)
os_name = re.search(r'^PRETTY_NAME="?([^"\n]*)', open("/etc/os-release").read(), re.M).group(1)
with open("Cargo.lock", "rb") as f:
    lock = tomllib.load(f)["package"]
wanted = ["criterion", "triomphe", "arc-swap", "parking_lot", "gstreamer"]
crates = {p["name"]: p["version"] for p in lock if p["name"] in wanted}
json.dump({"date": date, "cpu": cpu, "cores": os.cpu_count(), "os": os_name,
           "rustc": cmd("rustc", "--version"),
           "gstreamer": cmd("pkg-config", "--modversion", "gstreamer-1.0"),
           "crates": crates, "criterion_args": args, "load": load},
          open(out, "w"), indent=1)
PY
fi

step "docs/benchmarks.md and benches/figures/*.svg"
if [ ! -f "$criterion/mtsafe-instruction-counts.md" ] || [ ! -f "$criterion/mtsafe-locked-counts.md" ]; then
    echo "no instruction counts in $criterion: run without --no-run first" >&2
    exit 1
fi
python3 scripts/bench-table.py --criterion "$criterion" --doc docs/benchmarks.md \
    --block "instructions=$criterion/mtsafe-instruction-counts.md" \
    --block "locked=$criterion/mtsafe-locked-counts.md"
python3 scripts/bench-table.py --criterion "$criterion" --doc README.md summary
step "done"
