# Agora — the two commands that matter: `make run` and `make test`.
GO       ?= go
BIN      := bin/agora
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)

include assets.mk

.PHONY: run build test test-go vet fmt fmt-check clean bench bench-smoke drills fuzz e2e

## run: start Agora on http://localhost:8080 with the embedded SQLite database in ./data
run:
	$(GO) run ./cmd/agora serve

## build: build the binary into bin/agora
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/agora

## test: vet, formatting, every Go test with the race detector (SQLite and, when reachable, PostgreSQL)
test:
	./scripts/test.sh

## test-go: only the Go tests, with whatever databases are configured
test-go:
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## bench: load Agora on the full data set next to the machine's ceiling; table + bench/results.json (< 5 min)
bench:
	$(GO) build -o bin/agora-bench ./cmd/agora-bench
	bin/agora-bench $(BENCH_FLAGS)

## drills: fault drills against the real binary (kill -9, SMTP outage, database gone, slow clients), about 70 s
drills:
	$(GO) test -tags drills -count=1 -parallel 2 -v ./internal/drills/

## fuzz: every fuzz target briefly (FUZZTIME=10000x inputs each by default); findings land in <pkg>/testdata/fuzz
fuzz:
	./scripts/fuzz.sh

## e2e: browser journeys in Debian's Chromium with axe-core and Lighthouse (needs chromium and node)
e2e:
	./scripts/e2e.sh

## bench-smoke: the same harness on a small data set with 1 s scenarios (checks the harness, not the figures)
bench-smoke:
	$(GO) build -o bin/agora-bench ./cmd/agora-bench
	bin/agora-bench -small -o bin/bench-smoke.json

clean:
	rm -rf bin
