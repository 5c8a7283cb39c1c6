#!/usr/bin/env bash
# Instructions per iteration of each loop in examples/cycles.rs, counted with
# callgrind: two runs of different lengths, so start-up cost cancels out. Repeatable
# for the same binary whatever else the machine is doing, unlike wall-clock time.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 1; }
cargo build -q --release --example cycles
bin=target/release/examples/cycles
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\)/\1/p'
}
printf '| loop | mtsafe | triomphe | std |\n|---|---:|---:|---:|\n'
for loop in clone_drop cow_64B; do
    row="| $loop"
    for impl in mtsafe triomphe std; do
        short=$(count "$loop/$impl" 100000)
        long=$(count "$loop/$impl" 200000)
        row="$row | $(((long - short) / 100000))"
    done
    echo "$row |"
done
