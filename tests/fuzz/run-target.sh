#!/bin/sh
# run-target.sh BUILD NAME SECONDS - run one built fuzz target for SECONDS
# from a working copy of its seed corpus (corpus/NAME/, next to this
# script).  Prints libFuzzer's final figures; exits 1 on a finding (the
# reproducer is in BUILD/artifacts/NAME-*), 0 otherwise.
set -u

build=$1
name=$2
secs=$3
here=$(cd "$(dirname "$0")" && pwd)
work="$build/corpus/$name"
log="$build/$name.log"

rm -rf "$work"
mkdir -p "$work" "$build/artifacts"
cp "$here/corpus/$name/"* "$work/" 2>/dev/null || true
echo "fuzz: $name for ${secs}s ($(ls "$work" | wc -l) seeds)"
"$build/$name" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$name-" "$work" >"$log" 2>&1
rc=$?
# "#N DONE cov: C ft: F corp: K/..." is libFuzzer's last status line.
grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1
grep -E '^stat::(number_of_executed_units|new_units_added)' "$log"
if [ $rc -ne 0 ]; then
	echo "fuzz: $name: FINDING (exit $rc); reproducer:"
	ls "$build/artifacts/$name-"* 2>/dev/null
	grep -E 'ERROR: |SUMMARY: |#[0-9]+ 0x' "$log" | head -20
	exit 1
fi
exit 0
