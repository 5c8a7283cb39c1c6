#!/usr/bin/env bash
# The crate's unit, integration and doc tests.
source "$(dirname "$0")/lib.sh"
step "cargo test"
tests test cargo test
