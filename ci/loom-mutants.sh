#!/usr/bin/env bash
# The loom mutation check: every model must catch the breakage it guards against.
source "$(dirname "$0")/lib.sh"
step "loom mutation check: every model must catch the breakage it guards against"
command -v python3 >/dev/null || { echo "python3 not found (needed by scripts/loom-mutants.py)" >&2; exit 1; }
python3 scripts/loom-mutants.py --target-dir "$root/target/loom-mutants"
