#!/usr/bin/env bash
# The docs build, warnings (broken links included) as errors, and README's generated
# pattern map in step with docs/pattern-map.md (the copy the crate docs include).
source "$(dirname "$0")/lib.sh"
step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p mtsafe
step "README's pattern map matches its source (docs/pattern-map.md)"
python3 scripts/readme-sections.py --check
