#!/usr/bin/env bash
# What a user gets from the registry: the package builds from its own tarball
# (`cargo publish --dry-run`), on the oldest Rust it declares (`rust-version`,
# installed through rustup where missing), and with the oldest dependency versions
# its manifest allows (`-Z minimal-versions`, nightly).
source "$(dirname "$0")/lib.sh"

step "cargo publish --dry-run (the package builds from its tarball)"
cargo publish --dry-run --allow-dirty -p mtsafe

msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
step "MSRV: cargo +$msrv check"
if ! rustup toolchain list 2>/dev/null | grep -q "^$msrv"; then
    rustup toolchain install "$msrv" --profile minimal || true
fi
if rustup toolchain list 2>/dev/null | grep -q "^$msrv"; then
    CARGO_TARGET_DIR="$root/target/msrv" cargo "+$msrv" check -p mtsafe
else
    skip "MSRV check" "rustup could not install Rust $msrv"
fi

step "minimal dependency versions: the packaged crate with the oldest versions it allows"
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    skip "minimal versions" "no nightly toolchain (-Z minimal-versions is nightly-only)"
    exit 0
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo package --allow-dirty --no-verify -p mtsafe --target-dir "$scratch/target" >/dev/null
tar -xzf "$scratch"/target/package/mtsafe-*.crate -C "$scratch"
(
    cd "$scratch"/mtsafe-*/
    cargo +nightly update -Z minimal-versions
    CARGO_TARGET_DIR="$root/target/minimal-versions" cargo +nightly check --lib
)
