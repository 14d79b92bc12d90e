# Shared helpers of the project's scripts (sourced, not run).

step() { printf '\n== %s\n' "$*"; }
fail() { echo "error: $*" >&2; exit 1; }

# ensure_postgres prints a URL of a reachable PostgreSQL test database,
# starting the local cluster when it is installed but stopped.
ensure_postgres() {
	local url="${AGORA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
	if pg_ready "$url"; then echo "$url"; return 0; fi
	if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
		pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
		for _ in $(seq 1 30); do
			if pg_ready "$url"; then echo "$url"; return 0; fi
			sleep 1
		done
	fi
	return 1
}

pg_ready() {
	if command -v psql >/dev/null 2>&1; then
		psql "$1" -tAc 'select 1' >/dev/null 2>&1
	else
		(exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
	fi
}
