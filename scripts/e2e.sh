#!/usr/bin/env bash
# Browser journeys (e2e/): playwright-core driving Debian's Chromium, never a
# browser downloaded by a tool. With CI=true, installs what is missing
# (apt-get chromium, npm ci); without, exits 3 when Chromium or Node is
# missing so that `make test` lists the journeys as left out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
	if [ "${CI:-}" = "true" ]; then
		echo "installing Debian's chromium"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	else
		echo "left out: no Chromium at $CHROMIUM (apt-get install chromium)"; exit 3
	fi
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	[ "${CI:-}" = "true" ] && fail "Node.js and npm are required for the browser journeys"
	echo "left out: no node/npm"; exit 3
fi
if [ ! -d e2e/node_modules ] || [ e2e/package-lock.json -nt e2e/node_modules ]; then
	(cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

mkdir -p bin
go build -o bin/agora-e2e ./cmd/agora
export AGORA_BIN="$PWD/bin/agora-e2e"
rm -rf e2e/artifacts
cd e2e
# Arguments name journey files (e.g. journeys/groups.test.js); none: all.
if [ $# -gt 0 ]; then
	node --test --test-concurrency=1 --test-reporter=spec "${@#e2e/}"
else
	node --test --test-concurrency=1 --test-reporter=spec journeys/
fi
