#!/usr/bin/env bash
# Runs every fuzz target of the repository (func FuzzXxx in *_test.go) for a
# short time each: `make fuzz` (FUZZTIME=5s by default; longer by hand, e.g.
# FUZZTIME=10m make fuzz). A failure leaves the input under
# <package>/testdata/fuzz/<Target>/: commit it, it becomes a regression test
# that every `go test` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-5s}"
n=0
while IFS=: read -r file name; do
	pkg="$(dirname "$file")"
	echo "-- $pkg $name ($fuzztime)"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | grep -vE '^fuzz: elapsed' || { echo "fuzz target $name in $pkg failed"; exit 1; }
	n=$((n + 1))
done < <(grep -rHoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' --exclude-dir=node_modules . | sed -E 's/:func /:/' | sort)
echo "$n fuzz targets ran for $fuzztime each"
