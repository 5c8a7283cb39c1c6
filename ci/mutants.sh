#!/usr/bin/env bash
# Mutation check of the src/ files changed since their recorded run: cargo-mutants on
# every file whose content (git blob hash) has no row in docs/mutants/results.tsv, and
# a failure if one of them has a survivor that docs/mutants/survivors.md does not
# explain. Unchanged files are skipped (their record stands), and the step says which.
#
# A whole run of src/ takes far longer than CI's budget (docs/mutants.md gives its
# duration): when the changed files' mutants would not fit in MUTANTS_BUDGET seconds
# (default 360, estimated from the recorded seconds per mutant), only the mutants on
# the changed lines are run (`--in-diff`, against the commit most of the record was
# made at), which checks the change without updating the record.
source "$(dirname "$0")/lib.sh"
step "cargo-mutants: src files changed since docs/mutants/results.tsv"

if ! command -v cargo-mutants >/dev/null; then
    echo "cargo-mutants is not installed: installing it now (cargo install --locked cargo-mutants)"
    nice -n 19 cargo install --locked cargo-mutants
fi

results=docs/mutants/results.tsv
run=()
for f in $(scripts/mutants.sh --files); do
    blob=$(git hash-object "$f")
    if [ -f "$results" ] && cut -f2 "$results" | grep -qx "$blob"; then
        echo "  skip  $f (unchanged since its recorded run)"
    else
        echo "  RUN   $f (no record of this content)"
        run+=("$f")
    fi
done
if [ ${#run[@]} -eq 0 ]; then
    echo "cargo-mutants: every src file is unchanged since its recorded run; nothing to run"
    exit 0
fi

# Estimate: the recorded seconds per mutant (viable or not) times the mutants to run,
# plus a minute for the unmutated baseline's build and test.
n=$(cargo mutants --list -p mtsafe -E fmt $(printf -- '-f %s ' "${run[@]}") | wc -l)
per=$(awk -F'\t' 'NR > 1 { s += $10; m += $4 + $5 + $6 + $7 } END { print (m ? s / m : 30) }' "$results")
estimate=$(awk -v n="$n" -v p="$per" 'BEGIN { printf "%d", 60 + n * p }')
budget=${MUTANTS_BUDGET:-360}
echo "cargo-mutants: $n mutants in ${#run[@]} changed file(s), about ${estimate}s (budget ${budget}s)"

if [ "$estimate" -le "$budget" ]; then
    echo "cargo-mutants: running the changed files whole; their rows in $results are replaced"
    scripts/mutants.sh --check "${run[@]}"
    exit 0
fi

# Too many for the budget: only the changed lines, against the commit most of the
# record was made at (or HEAD's parent when that commit is not in this clone).
base=$(awk -F'\t' 'NR > 1 { sub(/\+dirty$/, "", $3); print $3 }' "$results" | sort | uniq -c |
    sort -rn | awk 'NR == 1 { print $2 }')
git cat-file -e "${base:-HEAD~1}^{commit}" 2>/dev/null || base=HEAD~1
diff=$(mktemp)
git diff "$base" -- "${run[@]}" >"$diff"
if [ ! -s "$diff" ]; then
    rm -f "$diff"
    skip "cargo-mutants on ${run[*]}" "no record of these files and no change since $base: run scripts/mutants.sh on them"
    exit 0
fi
printf '\n!!!! cargo-mutants: %ss estimated for the whole files is over the budget: running\n' "$estimate"
printf '!!!! only the mutants on lines changed since %s (--in-diff); the record is NOT\n' "$base"
printf '!!!! updated: run scripts/mutants.sh %s and commit its results.\n' "${run[*]}"
skip "cargo-mutants on whole changed files (${run[*]})" "over the ${budget}s budget: only changed lines run"
status=0
scripts/mutants.sh --check --in-diff "$diff" "${run[@]}" || status=$?
rm -f "$diff"
exit "$status"
