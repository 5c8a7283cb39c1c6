#!/usr/bin/env bash
# Mutation testing of mtsafe's own tests with cargo-mutants: does `cargo test` notice
# when a function of src/ gives a wrong answer?
#
#   scripts/mutants.sh [--check] [FILE...]
#
# Runs cargo-mutants on the given src/ files (default: every .rs file under src/
# that has functions; `src/internal_tests/` and the doctest-only
# `src/compile_fail_tests.rs` are tests, not code under test) and records, per file:
# - docs/mutants/results.tsv: one row per file, keyed by the hash of the file's code
#   without comments or layout (`scripts/mutants-key.py FILE`), so a file moved, or
#   changed in comments or layout only, keeps its record and a file whose code changed
#   is run again (ci/mutants.sh runs exactly the files whose key has no row);
# - docs/mutants/missed.tsv: every mutant that survived, one row each;
# - docs/mutants/timeout.tsv: every mutant whose tests hung, one row each (so a
#   recheck can run them again once tests catch them);
# - docs/mutants/survivors.md (kept by hand): each survivor with the reason no test of
#   `cargo test` catches it. A survivor not listed there is appended under
#   "Not yet explained"; with --check the script then fails.
# and regenerates docs/mutants.md (the score, the date, the commit) from those files.
#
# What is run: `cargo mutants -p mtsafe -E fmt` (no mutant of a `Debug`/`Display`/
# `Pointer` `fmt`: the text of a report is not behaviour), with `cargo test --tests`
# as the test command (unit and integration tests; doctests are left out, as each
# compiles on its own and would multiply the time per mutant: a mutant counted as
# missed here may still be caught by a doctest, so the score is a lower bound).
# Each mutant is tried in a scratch copy of the working tree (target/mutants/tree,
# built into target/mutants/target so later runs rebuild only what changed), never
# in the tree itself. Everything runs at `nice -n 19`.
#
# Environment: MUTANTS_SLOT (a name: a scratch copy and build of its own, for a run
# beside another), MUTANTS_TIMEOUT (seconds per test run, default 45: the tests take
# under 10 s; a mutant that makes them hang costs the whole timeout). One mutant at
# a time: the scratch copy is mutated in place.
set -euo pipefail

# The whole script is one function, read in full before it runs: editing the file
# during a long run cannot change what the run does.
main() {
cd "$(dirname "$0")/.."
root=$(pwd)

# Files that `cargo test` does not compile: the shim's loom and Miri stand-ins (their
# modules are `cfg(loom)` or `cfg(any(loom, miri))` in src/sync/mod.rs). Their mutants
# cannot fail a test of `cargo test`; the loom models and the Miri run exercise them.
# Not run by default; docs/mutants.md lists them.
export NOT_COMPILED="src/sync/loom.rs src/sync/arc_swap_mutex.rs src/sync/backoff.rs src/sync/park_stand_in.rs"

# The integration test targets (tests/NAME.rs or tests/NAME/main.rs) whose tests
# exercise FILE; the unit tests of the crate always run too. Running these only, not
# every target, halves the time per mutant; a test left out could only have caught
# more, so the score is a lower bound of what `cargo test` catches. `all` runs every
# target.
tests_for() {
    case $1 in
    src/property.rs) echo property edges ;;
    src/object_lock.rs) echo object_lock object floating edges ;;
    src/object.rs | src/object/*) echo object floating object_lock edges ;;
    src/cow.rs | src/parent_link.rs | src/shared/*) echo cow parent_link buffer buffer_pool object edges ;;
    src/cookie_list*) echo cookie_list cookie_list_edges edges object ;;
    src/buffer*) echo buffer buffer_pool allocations parent_link edges ;;
    *) echo all ;;
    esac
}

# docs/mutants.md, from the results files only (so it says what was run, no more).
write_doc() {
    python3 - <<'PY'
import os

def read_tsv(path):
    if not os.path.exists(path):
        return []
    return [l.rstrip("\n").split("\t") for l in open(path)][1:]

import subprocess
# Only rows whose key is the code of a src file now count (a file moved unchanged, or
# changed in comments or layout only, keeps its row, under its new path); the others
# are listed as stale.
src = subprocess.run(["git", "ls-files", "src"], capture_output=True, text=True).stdout.split()
src = [f for f in src if f.endswith(".rs") and os.path.exists(f)]
keys = subprocess.run(["scripts/mutants-key.py", *src], capture_output=True, text=True,
                      check=True).stdout.split()
now = {k.split("=", 1)[1]: k.split("=", 1)[0] for k in keys}
all_rows = read_tsv("docs/mutants/results.tsv")
rows = [r[:0] + [now[r[1]]] + r[1:] for r in all_rows if r[1] in now]
stale = [r for r in all_rows if r[1] not in now]
missed = read_tsv("docs/mutants/missed.tsv")
tot = {k: sum(int(r[i]) for r in rows) for k, i in
       (("caught", 3), ("missed", 4), ("timeout", 5), ("unviable", 6))}
viable = tot["caught"] + tot["missed"] + tot["timeout"]
# Each current survivor's reason class, from survivors.md: its full name (with the
# line) if listed so, else its description; the section it is in says the class.
import re as _re
text = open("docs/mutants/survivors.md").read() if os.path.exists("docs/mutants/survivors.md") else ""
cut = text.find("## Caught only outside")
equivalent_part = text[:cut] if cut >= 0 else text
outside_part = text[cut:] if cut >= 0 else ""
# Survivors appended for a human to explain are not explained.
outside_part = outside_part.split("## Not yet explained")[0]
equivalent_part = equivalent_part.split("## Not yet explained")[0]
def listed(part, name):
    return "`" + name + "`" in part
current_missed = [m for m in missed if m[1] in now]
n_equiv = n_outside = n_unexplained = 0
for m in current_missed:
    full, what = m[2], m[2].split(": ", 1)[-1]
    if listed(outside_part, full) or (not listed(equivalent_part, full) and listed(outside_part, what) and not listed(equivalent_part, what)):
        n_outside += 1
    elif listed(equivalent_part, full) or listed(equivalent_part, what):
        n_equiv += 1
    else:
        n_unexplained += 1
non_equiv = viable - n_equiv
pct = lambda n: f"{100 * n / viable:.1f} %" if viable else "n/a"
dates = sorted({r[7] for r in rows})
commits = sorted({r[2] for r in rows})
cpus = sorted({r[8] for r in rows})
seconds = sum(int(r[9]) for r in rows)
doc = f"""# Mutation testing: does `cargo test` notice a wrong answer?

Generated by `scripts/mutants.sh` from [`mutants/results.tsv`](mutants/results.tsv),
[`mutants/missed.tsv`](mutants/missed.tsv), [`mutants/timeout.tsv`](mutants/timeout.tsv) and
[`mutants/survivors.md`](mutants/survivors.md);
do not edit by hand.

[cargo-mutants](https://mutants.rs) changes one thing at a time in `src/` (a function
replaced by a constant, an operator flipped, a condition negated), then runs the unit
tests and the integration tests that exercise the file ("tests run" below: `lib` and
the `tests/` targets; `all` is `cargo test --tests`). Doctests are not run, nor are the
other integration tests, so a mutant listed as missed may still be caught by one of
them: the score is a lower bound of what `cargo test` catches. A mutant is *caught* when a test fails,
*missed* when every test passes, a *timeout* when the tests hang, and *unviable* when
it does not compile. A wait that never ends is caught when it fails the unit test
binary, which runs first: its tests of waits run under a hang detector
(`internal_tests::finishes`, 10 s), and a watchdog ends the binary with a failure
after 25 s; a timeout is a hang that only an integration test reaches. `Debug`/`Display`/`Pointer` `fmt` impls are left out (`-E fmt`).
The loom models, Miri and ThreadSanitizer are separate checks and are not run here.

## Score

**{tot['caught']} of {viable} viable mutants caught ({pct(tot['caught'])})**, {tot['timeout']}
timed out ({pct(tot['timeout'])}), **{tot['missed']} missed** ({pct(tot['missed'])}),
{tot['unviable']} unviable; {len(rows)} files.

Of the {tot['missed']} missed, {n_equiv} are equivalent mutants (no result changes, so
no test can tell), {n_outside} are left to checks outside `cargo test`, and
{n_unexplained} have no stated reason yet. Leaving the equivalent ones out:
**{tot['caught']} of {non_equiv} caught ({(100 * tot['caught'] / non_equiv) if non_equiv else 0:.1f} %)**,
{tot['caught'] + tot['timeout']} of {non_equiv} caught or timed out
({(100 * (tot['caught'] + tot['timeout']) / non_equiv) if non_equiv else 0:.1f} %).

- Run on: {', '.join(dates) or 'never'}, at commit {', '.join(commits) or '-'}
  (per file below: the commit of the branch the run was made on, which a later
  rebase may have rewritten; the file's code is pinned by its key, the hash of its
  code without comments or layout (`scripts/mutants-key.py`), and a file is run again
  only when its code changes).
- Machine: {'; '.join(cpus) or '-'}; build and test time of the mutants, summed over the
  files: {seconds // 60} min {seconds % 60} s.
- Each survivor and why no test of `cargo test` catches it:
  [`mutants/survivors.md`](mutants/survivors.md).

| file | caught | missed | timeout | unviable | caught of viable | date | commit | tests run |
|------|-------:|-------:|--------:|---------:|-----------------:|------|--------|-----------|
"""
for r in rows:
    v = int(r[3]) + int(r[4]) + int(r[5])
    share = f"{100 * int(r[3]) / v:.0f} %" if v else "-"
    tests = r[10] if len(r) > 10 else "all"
    doc += f"| `{r[0]}` | {r[3]} | {r[4]} | {r[5]} | {r[6]} | {share} | {r[7]} | {r[2]} | {tests} |\n"
not_run = sorted(set(now.values()) - {r[0] for r in rows} - {"src/compile_fail_tests.rs"})
not_run = [f for f in not_run if not f.startswith("src/internal_tests/")]
not_compiled = os.environ.get("NOT_COMPILED", "").split()
not_run = [f for f in not_run if f not in not_compiled]
doc += ("\nNot run: " + ", ".join(f"`{f}`" for f in not_compiled) + ", which `cargo test`"
        " does not compile (the sync shim's loom and Miri stand-ins): the loom models"
        " and the Miri run exercise them.\n")
if not_run:
    doc += "\nNot in the score (no record of their current content): " + ", ".join(
        f"`{f}`" for f in not_run) + ".\n"
if stale:
    doc += "\nStale records (the file changed since; not in the score): " + ", ".join(
        f"`{r[0]}` ({r[7]}, {r[2]})" for r in stale) + ".\n"
doc += """
## Running it

```sh
scripts/mutants.sh                 # every file of src/ (long: see the time above)
scripts/mutants.sh src/property.rs # one file; its row is replaced
bash ci/mutants.sh                 # what CI runs: only files changed since their row
```
"""
open("docs/mutants.md", "w").write(doc)
print("wrote docs/mutants.md")
# The score in the verification doc's table, between its markers (one line: a table
# cell), from the same rows.
path = "docs/verification.md"
start, end = "<!-- mutants:score -->", "<!-- /mutants:score -->"
ver = open(path).read()
if start in ver and end in ver:
    score = (f"{start}**{tot['caught']} of {viable} viable mutants caught ({pct(tot['caught'])})**, "
             f"{tot['missed']} missed ({n_equiv} of them equivalent), {tot['timeout']} timed out; "
             f"{len(rows)} files, run {dates[0] if len(dates) == 1 else dates[0] + ' to ' + dates[-1]} "
             f"on {', '.join(cpus)}{end}")
    before, rest = ver.split(start, 1)
    ver = before + score + rest.split(end, 1)[1]
    open(path, "w").write(ver)
    print("wrote the score into " + path)
PY
}

if [ "${1:-}" = --doc ]; then
    write_doc
    exit 0
fi

check=0
in_diff=
recheck=
list_only=
while [ $# -gt 0 ]; do
    case $1 in
    --check) check=1 ;;
    # Only the mutants on the lines a diff changes: a check of a change, which
    # records nothing (the files' rows need whole runs).
    --in-diff) in_diff=$(realpath "$2"); shift ;;
    # Only the files' recorded survivors and timeouts, again (after tests were
    # added): each one now caught moves to caught in the file's row. The file's code
    # must be the one recorded, and its lines too: they are named with their line, so
    # after a change to comments or layout above one, run the whole file instead.
    --recheck) recheck=1 ;;
    # The files a whole run covers, one a line; nothing is run.
    --files) list_only=1 ;;
    *) break ;;
    esac
    shift
done

command -v cargo-mutants >/dev/null || {
    echo "cargo-mutants not found: cargo install --locked cargo-mutants" >&2
    exit 1
}

if [ $# -gt 0 ]; then
    files=("$@")
else
    mapfile -t files < <(git ls-files 'src/*.rs' 'src/**/*.rs' | sort -u |
        grep -v -e '^src/internal_tests/' -e '^src/compile_fail_tests\.rs$' |
        grep -vxF -f <(printf '%s\n' $NOT_COMPILED))
fi
for f in "${files[@]}"; do
    [ -f "$f" ] || { echo "no such file: $f" >&2; exit 1; }
done
if [ -n "$list_only" ]; then
    printf '%s\n' "${files[@]}"
    return 0
fi

# MUTANTS_SLOT: a second scratch copy (and build), for a run beside another one.
local slot=target/mutants${MUTANTS_SLOT:+-$MUTANTS_SLOT}
out=$slot/out
tree=$slot/tree
mkdir -p "$out" "$tree"

# The scratch copy: the working tree's files (tracked and untracked, not ignored).
# Only files whose content differs are copied (with a new modification time), and
# files gone from the working tree are removed, so cargo rebuilds what changed and
# nothing else. (Restoring old modification times instead would let cargo keep the
# build of the last mutant of the previous run: its file was restored after that
# build, but with an older time.)
git ls-files -z --cached --others --exclude-standard | python3 -c '
import os, shutil, sys
tree = sys.argv[1]
want = {p for p in sys.stdin.read().split("\0") if p and os.path.isfile(p)}
for dirpath, dirs, names in os.walk(tree):
    rel = os.path.relpath(dirpath, tree)
    for name in names:
        path = os.path.normpath(os.path.join(rel, name))
        if path not in want:
            os.remove(os.path.join(dirpath, name))
for path in want:
    dest = os.path.join(tree, path)
    try:
        if open(path, "rb").read() == open(dest, "rb").read():
            continue
    except OSError:
        os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    shutil.copyfile(path, dest)
    shutil.copymode(path, dest)
' "$tree"

# Each file's key (scripts/mutants-key.py) as copied, before the run: the working tree
# may change meanwhile.
keys=()
for f in "${files[@]}"; do keys+=("$f=$(scripts/mutants-key.py "$tree/$f" | sed 's/^.*=//')"); done

commit=$(git rev-parse --short=12 HEAD)
dirty=$(git status --porcelain -- src tests | head -1)
[ -z "$dirty" ] || commit="$commit+dirty"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cores=$(nproc)

mutant_args=()
for f in "${files[@]}"; do mutant_args+=(-f "$f"); done

# The test targets run for these files: the unit tests (always) and the integration
# tests that exercise them (tests_for), or all of them (MUTANTS_TESTS=all).
local targets=()
if [ "${MUTANTS_TESTS:-}" != all ]; then
    for f in "${files[@]}"; do
        for t in $(tests_for "$f"); do
            [ "$t" != all ] || { targets=(); break 2; }
            if [ -f "tests/$t.rs" ] || [ -f "tests/$t/main.rs" ]; then targets+=("$t"); fi
        done
    done
fi
local test_args=(--cargo-arg=--lib)
if [ ${#targets[@]} -eq 0 ]; then
    test_args=(--cargo-arg=--tests)
    tests_run=all
else
    mapfile -t targets < <(printf '%s\n' "${targets[@]}" | sort -u)
    for t in "${targets[@]}"; do test_args+=("--cargo-arg=--test=$t"); done
    tests_run="lib ${targets[*]}"
fi

local re_args=()
if [ -n "$recheck" ]; then
    local re
    re=$(python3 - "${keys[@]}" <<'PY'
import os, sys
keys = dict(a.split("=", 1) for a in sys.argv[1:])
rows = []
for path in ("docs/mutants/missed.tsv", "docs/mutants/timeout.tsv"):
    if os.path.exists(path):
        rows += [l.rstrip("\n").split("\t") for l in open(path)][1:]
meta = set("\\.+*?()|[]{}^$#&-~")
esc = lambda t: "".join("\\" + c if c in meta else c for c in t)
names = sorted({r[2] for r in rows if keys.get(r[0]) == r[1]})
print("|".join("^" + esc(n) + "$" for n in names))
PY
)
    if [ -z "$re" ]; then
        echo "nothing to recheck: no recorded survivor or timeout of these files' current content"
        return 0
    fi
    re_args=(--re "$re")
fi

printf '==== cargo-mutants %s on %d file(s) at %s (%s, %s cores)\n' \
    "$(cargo mutants --version | awk '{print $2}')" "${#files[@]}" "$commit" "$cpu" "$cores"
printf '  %s\n' "${files[@]}"
echo "  tests: $tests_run"

started=$(date +%s)
status=0
(
    cd "$tree"
    CARGO_PROFILE_DEV_DEBUG=0 CARGO_TARGET_DIR="$root/$slot/target" \
        nice -n 19 cargo mutants \
        --in-place --no-shuffle -p mtsafe -E fmt \
        --timeout "${MUTANTS_TIMEOUT:-45}" --build-timeout 900 \
        "${test_args[@]}" ${in_diff:+--in-diff "$in_diff"} "${re_args[@]}" \
        --output "$root/$out" \
        "${mutant_args[@]}"
) || status=$?
# cargo-mutants exits 0 (all caught), 2 (some missed), 3 (some timed out), 4 (the
# baseline failed: nothing was measured).
case $status in
0 | 2 | 3) ;;
*)
    echo "cargo-mutants failed (exit $status): nothing recorded" >&2
    exit "$status"
    ;;
esac
elapsed=$(($(date +%s) - started))


# Per file: the counts, the survivors, the time its mutants took (one run at a time
# writes the records).
exec 9>target/mutants.lock
flock 9
python3 - "$out/mutants.out" "$commit" "$cpu ($cores cores)" "$elapsed" "$check" "$tests_run" "${in_diff:+1}" "$recheck" \
    "${keys[@]}" <<'PY'
import json, os, re, sys, datetime

out, commit, cpu, elapsed, check, tests_run, partial, recheck = sys.argv[1:9]
keys = dict(arg.split("=", 1) for arg in sys.argv[9:])
results_path, missed_path = "docs/mutants/results.tsv", "docs/mutants/missed.tsv"
timeout_path = "docs/mutants/timeout.tsv"
survivors_path = "docs/mutants/survivors.md"
os.makedirs("docs/mutants", exist_ok=True)
HEADER = ["file", "code", "commit", "caught", "missed", "timeout", "unviable",
          "date", "cpu", "seconds", "tests"]

def lines(name):
    path = os.path.join(out, name)
    return [l.rstrip("\n") for l in open(path)] if os.path.exists(path) else []

# "src/x.rs:12:5: replace ... in f" -> ("src/x.rs", "replace ... in f")
def split(line):
    m = re.match(r"^(.*?):\d+:\d+: (.*)$", line)
    return (m.group(1), m.group(2)) if m else (line.split(":", 1)[0], line)

counts = {f: {"caught": 0, "missed": 0, "timeout": 0, "unviable": 0} for f in keys}
survivors, hung, outcome = [], [], {}
for kind in ("caught", "missed", "timeout", "unviable"):
    for line in lines(kind + ".txt"):
        f, what = split(line)
        if f in counts:
            counts[f][kind] += 1
            outcome[line] = kind
            if kind == "missed":
                survivors.append((f, what, line))
            if kind == "timeout":
                hung.append((f, what, line))

# Time per file: the build and test phases of its mutants.
seconds = {f: 0.0 for f in keys}
try:
    outcomes = json.load(open(os.path.join(out, "outcomes.json")))["outcomes"]
except (OSError, KeyError, ValueError):
    outcomes = []
for o in outcomes:
    scenario = o.get("scenario")
    if not isinstance(scenario, dict) or "Mutant" not in scenario:
        continue
    f = scenario["Mutant"].get("file")
    if f in seconds:
        seconds[f] += sum(p.get("duration", 0) or 0 for p in o.get("phase_results", []))

today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")

def read_tsv(path):
    if not os.path.exists(path):
        return []
    rows = [l.rstrip("\n").split("\t") for l in open(path)]
    return rows[1:]

rows = [r for r in read_tsv(results_path) if r[0] not in keys and r[1] not in keys.values()]

def write_list(path, rows):
    rows.sort()
    with open(path, "w") as w:
        w.write("file\tcode\tmutant\n")
        for r in rows:
            w.write("\t".join(r) + "\n")

if recheck:
    # Exactly the recorded survivors and timeouts ran (by full name), each now
    # caught, missed or timed out; the source is unchanged, only tests were added.
    # A row's counts move from the old outcome to the new one.
    rows = read_tsv(results_path)
    mine = lambda r: r[0] in keys and r[1] == keys[r[0]]
    old = {"missed": read_tsv(missed_path), "timeout": read_tsv(timeout_path)}
    column = {"caught": 3, "missed": 4, "timeout": 5}
    for f in keys:
        moved = {}
        for was, listed in old.items():
            for r in listed:
                if mine(r) and r[0] == f:
                    now = outcome.get(r[2])
                    assert now in column, (r[2], "not run again")
                    moved[(was, now)] = moved.get((was, now), 0) + 1
        for r in rows:
            if r[0] == f and r[1] == keys[f]:
                for (was, now), n in moved.items():
                    r[column[was]] = str(int(r[column[was]]) - n)
                    r[column[now]] = str(int(r[column[now]]) + n)
                r[7], r[2] = today, commit
        print(f"{f}: " + ", ".join(f"{n} {was} now {now}" for (was, now), n in sorted(moved.items())))
    rows.sort()
    with open(results_path, "w") as w:
        w.write("\t".join(HEADER) + "\n")
        for r in rows:
            w.write("\t".join(r) + "\n")
    write_list(missed_path, [r for r in old["missed"] if not mine(r)]
               + [[f, keys[f], line] for f, _, line in survivors])
    write_list(timeout_path, [r for r in old["timeout"] if not mine(r)]
               + [[f, keys[f], line] for f, _, line in hung])
elif not partial:
    for f, key in keys.items():
        c = counts[f]
        rows.append([f, key, commit, str(c["caught"]), str(c["missed"]), str(c["timeout"]),
                     str(c["unviable"]), today, cpu, str(round(seconds[f])), tests_run])
    rows.sort()
    with open(results_path, "w") as w:
        w.write("\t".join(HEADER) + "\n")
        for r in rows:
            w.write("\t".join(r) + "\n")

    write_list(missed_path, [r for r in read_tsv(missed_path) if r[0] not in keys]
               + [[f, keys[f], line] for f, what, line in survivors])
    write_list(timeout_path, [r for r in read_tsv(timeout_path) if r[0] not in keys]
               + [[f, keys[f], line] for f, what, line in hung])

# Survivors without a stated reason: listed for a human to explain.
listed = open(survivors_path).read() if os.path.exists(survivors_path) else ""
new = [(f, what) for f, what, _ in survivors if "`" + what + "`" not in listed]
if new:
    if "## Not yet explained" not in listed:
        listed = listed.rstrip("\n") + "\n\n## Not yet explained\n\n"
    listed = listed.rstrip("\n") + "\n" + "".join(
        f"- {f}: `{what}`: reason not yet stated\n" for f, what in new)
    with open(survivors_path, "w") as w:
        w.write(listed)

print(f"\n{'file':40} {'caught':>6} {'missed':>6} {'timeout':>7} {'unviable':>8} {'seconds':>7}")
for f in keys:
    c = counts[f]
    print(f"{f:40} {c['caught']:>6} {c['missed']:>6} {c['timeout']:>7} {c['unviable']:>8} {round(seconds[f]):>7}")
for f, what in new:
    print(f"NEW SURVIVOR (no reason in {survivors_path}): {f}: {what}")
if new and check == "1":
    sys.exit(1)
PY

write_doc
}

main "$@"; exit $?
