#!/usr/bin/env bash
# Runs every fuzz target of the repository (func FuzzXxx in *_test.go)
# briefly: `make fuzz` (FUZZTIME=10000x by default: 10,000 inputs each, a
# few seconds; longer by hand, e.g. FUZZTIME=2000000x or FUZZTIME=10m make
# fuzz). A failure leaves the input under <package>/testdata/fuzz/<Target>/:
# commit it, it becomes a regression test that every `go test` runs.
#
# The default budget is a count, not a duration: with a duration, Go 1.26's
# fuzzing coordinator can report "context deadline exceeded" as a failure
# when the time runs out while a worker is busy (golang/go#75804, fixed in
# Go 1.27), on a loaded machine; a count has no deadline to race.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-10000x}"
n=0
while IFS=: read -r file name; do
	pkg="$(dirname "$file")"
	echo "-- $pkg $name ($fuzztime)"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | grep -vE '^fuzz: elapsed' || { echo "fuzz target $name in $pkg failed"; exit 1; }
	n=$((n + 1))
done < <(grep -rHoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' --exclude-dir=node_modules . | sed -E 's/:func /:/' | sort)
echo "$n fuzz targets ran ($fuzztime each)"
