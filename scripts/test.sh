#!/usr/bin/env bash
# The test suite behind `make test`. It uses the real components a user would
# have: a SQLite file, PostgreSQL, an SMTP server started in the tests.
# On a machine without PostgreSQL it still passes and says what it left out;
# with CI=true nothing may be left out: it starts or fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

left_out=()

step "go vet"
go vet ./...
go vet -tags drills ./internal/drills/

step "formatting"
make -s fmt-check

step "PostgreSQL"
if pg_url=$(ensure_postgres); then
	export AGORA_TEST_POSTGRES_URL="$pg_url"
	echo "using $pg_url"
else
	[ "${CI:-}" = "true" ] && fail "PostgreSQL is required with CI=true and could not be started"
	left_out+=("PostgreSQL model tests (no server on 127.0.0.1:5432)")
	unset AGORA_TEST_POSTGRES_URL
fi

step "go test -race"
go test -race -count=1 ./...

step "fuzzing, briefly (make fuzz)"
FUZZTIME="${FUZZTIME:-10000x}" scripts/fuzz.sh

step "fault drills (make drills)"
if ! scripts/pgbin.sh >/dev/null 2>&1; then
	[ "${CI:-}" = "true" ] && fail "the database drill needs PostgreSQL's server binaries (initdb, pg_ctl) with CI=true"
	left_out+=("database-gone drill (no initdb/pg_ctl under /usr/lib/postgresql)")
fi
make -s drills

step "browser journeys and accessibility (make e2e)"
set +e
scripts/e2e.sh
rc=$?
set -e
if [ $rc -eq 3 ]; then
	left_out+=("browser journeys and accessibility checks (no Chromium at /usr/bin/chromium or no Node.js)")
elif [ $rc -ne 0 ]; then
	fail "browser journeys failed (screenshots in e2e/artifacts/)"
fi

echo
if [ ${#left_out[@]} -gt 0 ]; then
	echo "Left out on this machine:"
	printf '  - %s\n' "${left_out[@]}"
else
	echo "Nothing left out."
fi
