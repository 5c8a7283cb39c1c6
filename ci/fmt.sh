#!/usr/bin/env bash
# rustfmt over the whole workspace (no build, no system packages).
source "$(dirname "$0")/lib.sh"
step "cargo fmt --check"
cargo fmt --all --check
step "loom mutants: every marker and mutant text in place (scripts/loom-mutants.py --check)"
python3 scripts/loom-mutants.py --check
