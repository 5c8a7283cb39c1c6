#!/usr/bin/env bash
# Rewrites README's benchmark tables from the last `cargo bench` run's estimates.
# The targets are the ones the issues set; a missed target is printed as missed.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/bench-table.py --readme README.md --section cow \
    --target clone_drop:std_Arc\<=1.05 \
    --target get_writable_unique\<=1ns \
    --target get_writable_shared_64B:triomphe_Arc\<=1.0 \
    --target get_writable_shared_4KiB:triomphe_Arc\<=1.0 \
    --target get_writable_shared_64KiB:triomphe_Arc\<=1.0 \
    clone_drop get_writable_unique get_writable_shared_64B get_writable_shared_4KiB get_writable_shared_64KiB
