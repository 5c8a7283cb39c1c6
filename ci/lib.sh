# Shared by the check scripts in ci/: sourced, never run.
#
# Each check script runs from the repository root and may be run alone
# (`bash ci/test.sh`). Run by `.ci/run`, it writes into `$CI_LOG_DIR`: each test
# command's output (`<name>.log`, totalled at the end) and each skipped step
# (`skipped`, one line each).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
export CARGO_TERM_COLOR=never
: "${CI_LOG_DIR:=$(mktemp -d)}"
export CI_LOG_DIR

# Prints a step header with the time since `.ci/run` started (or since now).
: "${CI_STARTED:=$(date +%s)}"
step() { printf '\n==== %s  [%ss]\n' "$*" "$(($(date +%s) - CI_STARTED))"; }

# Says loudly that a step did not run, and why; `.ci/run` lists it again at the end.
skip() {
    printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
    printf '!!!! SKIPPED: %s\n' "$1"
    printf '!!!! because: %s\n' "$2"
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
    printf '%s (%s)\n' "$1" "$2" >>"$CI_LOG_DIR/skipped"
}

# Runs a test command and keeps its output, to total the results at the end.
tests() {
    local name=$1
    shift
    "$@" 2>&1 | tee "$CI_LOG_DIR/$name.log"
}

# Whether this machine can install Debian packages (root with apt-get).
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

# Whether nightly with `component` installed is available (installing it if rustup
# can); prints nothing.
nightly_has() {
    rustup toolchain list 2>/dev/null | grep -q '^nightly' || return 1
    if ! rustup +nightly component list --installed 2>/dev/null | grep -q "^$1"; then
        rustup component add --toolchain nightly "$1" >/dev/null 2>&1 || return 1
    fi
}
