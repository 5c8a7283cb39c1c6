#!/usr/bin/env bash
# ThreadSanitizer over the integration tests (tests/*.rs); needs nightly's rust-src
# (-Zbuild-std) and a host with a ThreadSanitizer runtime.
source "$(dirname "$0")/lib.sh"
step "ThreadSanitizer (integration tests)"
host=$(rustc -vV | sed -n 's/^host: //p')
if ! nightly_has rust-src; then
    skip "ThreadSanitizer" "no nightly toolchain with rust-src (needed for -Zbuild-std)"
    exit 0
fi
if [ "$host" != x86_64-unknown-linux-gnu ] && [ "$host" != aarch64-unknown-linux-gnu ]; then
    skip "ThreadSanitizer" "no ThreadSanitizer runtime for host $host"
    exit 0
fi
integration=()
for t in tests/*.rs; do integration+=(--test "$(basename "$t" .rs)"); done
tests tsan env RUSTFLAGS="-Zsanitizer=thread" RUSTDOCFLAGS="-Zsanitizer=thread" \
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" CARGO_TARGET_DIR="$root/target/tsan" \
    cargo +nightly test -Zbuild-std --target "$host" "${integration[@]}"
