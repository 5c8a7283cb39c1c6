#!/usr/bin/env bash
# Installs what the PipeWire example needs, where it is missing, and says what it does:
# the PipeWire library and headers, the daemon and its tools, clang (the `pipewire`
# crate generates its bindings with bindgen), and, for the desktop-session half of the
# end-to-end test, the WirePlumber session manager and a D-Bus daemon.
#
# On Debian 12 the packages come from bookworm-backports (PipeWire 1.x: its
# "called from wrong context" checks are what the example's locking test looks for;
# 0.3.65 in bookworm has none). Elsewhere it names the packages to install and fails.
#
# Usage: scripts/pipewire/install.sh [--check]   (--check: only report, install nothing)
# Exit status: 0 when everything is present afterwards, 1 otherwise.
set -euo pipefail

check_only=false
[ "${1:-}" = "--check" ] && check_only=true

say() { printf 'pipewire-setup: %s\n' "$*" >&2; }

# What is there: library headers (pkg-config), daemon, pw-cli, libclang.
have_lib() { pkg-config --exists 'libpipewire-0.3 >= 0.3.65' 2>/dev/null && pkg-config --exists libspa-0.2 2>/dev/null; }
have_daemon() { command -v pipewire >/dev/null 2>&1 && command -v pw-cli >/dev/null 2>&1 && command -v pw-metadata >/dev/null 2>&1; }
have_session() { command -v wireplumber >/dev/null 2>&1 && command -v dbus-daemon >/dev/null 2>&1; }
have_clang() {
    local f
    for f in /usr/lib/llvm-*/lib/libclang.so* /usr/lib/*/libclang-*.so* /usr/lib64/libclang.so* /usr/lib/libclang.so*; do
        [ -e "$f" ] && return 0
    done
    return 1
}
lib_version() { pkg-config --modversion libpipewire-0.3 2>/dev/null || echo none; }
daemon_version() { pipewire --version 2>/dev/null | sed -n 's/.*libpipewire \([0-9.]*\).*/\1/p' | head -1; }
wp_version() { wireplumber --version 2>/dev/null | sed -n 's/.*libwireplumber \([0-9.]*\).*/\1/p' | head -1; }
is_1x() { case "$(lib_version)" in 1.*) return 0 ;; *) return 1 ;; esac; }

missing=()
have_lib || missing+=("PipeWire library headers (libpipewire-0.3-dev, libspa-0.2-dev)")
have_daemon || missing+=("PipeWire daemon and tools (pipewire, pipewire-bin)")
have_clang || missing+=("libclang (clang, libclang-dev)")
have_session || missing+=("session manager and D-Bus (wireplumber, dbus-daemon)")
command -v pkg-config >/dev/null 2>&1 || missing+=("pkg-config")

debian_release() { . /etc/os-release 2>/dev/null && [ "${ID:-}" = debian ] && echo "${VERSION_CODENAME:-}"; }
codename=$(debian_release || true)

if [ ${#missing[@]} -eq 0 ] && { is_1x || [ "$codename" != bookworm ]; }; then
    say "present: libpipewire $(lib_version), daemon $(daemon_version), wireplumber $(wp_version), libclang, pkg-config"
    exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
    say "missing: $(IFS=';'; echo "${missing[*]}")"
else
    say "libpipewire $(lib_version) is present, but the locking test needs PipeWire >= 1.0 (bookworm-backports)"
fi

if $check_only; then
    exit 1
fi

pkgs=(libpipewire-0.3-dev libspa-0.2-dev pipewire pipewire-bin wireplumber dbus-daemon clang libclang-dev pkg-config)
if [ "$codename" = bookworm ] && command -v apt-get >/dev/null 2>&1; then
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
            say "not root and no sudo: run as root, or install: apt-get install -t bookworm-backports ${pkgs[*]}"
            exit 1
        fi
    fi
    list=/etc/apt/sources.list.d/bookworm-backports.list
    if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        say "adding the bookworm-backports suite: $list"
        echo 'deb http://deb.debian.org/debian bookworm-backports main' | "${sudo[@]}" tee "$list" >/dev/null
    fi
    say "apt-get update"
    "${sudo[@]}" apt-get update -qq
    say "apt-get install -t bookworm-backports ${pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        -t bookworm-backports "${pkgs[@]}" >/dev/null
elif command -v apt-get >/dev/null 2>&1; then
    say "apt-get install ${pkgs[*]} (this distribution's own PipeWire)"
    sudo=(); [ "$(id -u)" != 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
else
    say "no apt-get here: install with your distribution's package manager:"
    say "  Fedora: dnf install pipewire pipewire-devel pipewire-utils wireplumber dbus-daemon clang-devel pkgconf"
    say "  Arch:   pacman -S pipewire wireplumber dbus clang pkgconf"
    exit 1
fi

if have_lib && have_daemon && have_clang && have_session; then
    say "installed: libpipewire $(lib_version), daemon $(daemon_version), wireplumber $(wp_version)"
    exit 0
fi
say "installation finished but something is still missing (libpipewire: $(lib_version))"
exit 1
