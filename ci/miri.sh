#!/usr/bin/env bash
# Miri with strict provenance over the unit, integration and doc tests; needs
# nightly with miri and rust-src (installed through rustup where it can be).
source "$(dirname "$0")/lib.sh"
step "Miri (strict provenance)"
if ! nightly_has miri || ! nightly_has rust-src; then
    skip "Miri" "no nightly toolchain with miri and rust-src (rustup toolchain install nightly --component miri rust-src)"
    exit 0
fi
cargo +nightly miri setup
tests miri env MIRIFLAGS="-Zmiri-strict-provenance" CARGO_TARGET_DIR="$root/target/miri" \
    cargo +nightly miri test
