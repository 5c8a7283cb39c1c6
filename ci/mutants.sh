#!/usr/bin/env bash
# Mutation check of the src/ files changed since their recorded cargo-mutants run
# (docs/mutants/results.tsv, one row per file keyed by the hash of its code without
# comments or layout, scripts/mutants-key.py):
# - a file whose code has a row is skipped: its record stands (a change to comments
#   or layout only keeps it);
# - a file that has a record under other code (changed since) is run whole by
#   `scripts/mutants.sh --check`, which replaces its row and fails on a survivor that
#   docs/mutants/survivors.md does not explain, when the changed files fit the budget
#   (MUTANTS_BUDGET seconds, default 360, estimated from the recorded seconds per
#   mutant); over the budget the step is SKIPPED, loudly, naming the files;
# - a file with no record at all (never run: docs/mutants.md lists them) is listed in
#   a SKIPPED block: a whole run of one takes longer than CI's budget allows.
# cargo-mutants is installed (`cargo install --locked cargo-mutants`) only when a file
# is to run within the budget (the estimate comes from the records, not from
# cargo-mutants). A whole run of src/ is `scripts/mutants.sh` (docs/mutants.md gives its
# duration).
source "$(dirname "$0")/lib.sh"
step "cargo-mutants: src files changed since docs/mutants/results.tsv"

results=docs/mutants/results.tsv
recorded_paths=$(cut -f1 "$results" | tail -n +2)
run=()
never=()
for f in $(scripts/mutants.sh --files); do
    key=$(scripts/mutants-key.py "$f" | sed 's/^.*=//')
    if cut -f2 "$results" | grep -qx "$key"; then
        echo "  skip  $f (unchanged since its recorded run)"
    elif grep -qx "$f" <<<"$recorded_paths"; then
        echo "  RUN   $f (changed since its recorded run)"
        run+=("$f")
    else
        echo "  NEVER $f (no recorded run)"
        never+=("$f")
    fi
done
if [ ${#never[@]} -gt 0 ]; then
    skip "cargo-mutants on ${#never[@]} file(s) never recorded: ${never[*]}" \
        "a first run of a file is scripts/mutants.sh FILE (longer than CI's budget); docs/mutants.md lists them as not run"
fi
if [ ${#run[@]} -eq 0 ]; then
    echo "cargo-mutants: no recorded file changed; nothing to run"
    exit 0
fi

# Estimate, before installing anything: each changed file's mutants in its last
# record (a changed file has about as many) times the recorded seconds per mutant.
n=0
for f in "${run[@]}"; do
    m=$(awk -F'\t' -v f="$f" '$1 == f { n = $4 + $5 + $6 + $7 } END { print n + 0 }' "$results")
    n=$((n + m))
done
per=$(awk -F'\t' 'NR > 1 { s += $10; m += $4 + $5 + $6 + $7 } END { print (m ? s / m : 30) }' "$results")
estimate=$(awk -v n="$n" -v p="$per" 'BEGIN { printf "%d", n * p }')
budget=${MUTANTS_BUDGET:-360}
echo "cargo-mutants: about $n mutants in ${#run[@]} changed file(s), about ${estimate}s (budget ${budget}s)"
if [ "$estimate" -gt "$budget" ]; then
    skip "cargo-mutants on ${run[*]}" \
        "about ${estimate}s, over the ${budget}s budget: run scripts/mutants.sh on them and commit the records"
    exit 0
fi
if ! command -v cargo-mutants >/dev/null; then
    echo "cargo-mutants is not installed: installing it now (cargo install --locked cargo-mutants)"
    cargo install --locked cargo-mutants
fi
scripts/mutants.sh --check "${run[@]}"
