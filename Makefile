# AgentLog — the two commands a user needs are `make run` and `make test`.
# Every target installs what is missing first (scripts/install-deps.sh), so a fresh
# Debian 12 machine needs nothing by hand.

JOBS    ?= 2
PYTHON  := /usr/bin/python3
CMAKE_COMMON := -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache
DATA    ?= ./agentlog-data
FUZZ_SECONDS ?= 20

.PHONY: all deps web build run run-cluster test unit asan e2e scaleout web-test screenshots fuzz-smoke fuzz sdk-python sdk-typescript sdk-go conformance bench bench-postgres format tidy clean

all: build

deps:
	@bash scripts/install-deps.sh

build/build.ninja: CMakeLists.txt | deps
	cmake -S . -B build $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release

# The dashboard: web/dist, embedded into the binary. npm ci runs when the lockfile changes,
# the Vite build when a source does.
# (npm ci rewrites node_modules/.package-lock.json, so it marks an install up to date.)
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json
web/node_modules/.package-lock.json: web/package-lock.json | deps
	cd web && npm ci --no-audit --no-fund
web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run --silent build
web: web/dist/index.html

# The release binary at build/agentlog (acceptance tests use exactly this path), with the
# dashboard built in.
build: deps web build/build.ninja
	cmake --build build -j $(JOBS) --target agentlog

# Serves the API on an embedded database with demo data.
run: build
	build/agentlog migrate --data $(DATA)
	build/agentlog seed --demo --data $(DATA)
	@key=$$(build/agentlog keys create --data $(DATA) --name make-run | tail -n 1) && echo && \
	  echo "AgentLog: http://127.0.0.1:7654 (unless agentlog.toml or AGENTLOG_LISTEN say otherwise)" && \
	  echo "Dashboard log-in: demo@agentlog.local / agentlog-demo" && \
	  echo "API key for project 'default' (shown once): $$key" && \
	  echo "Try: curl -H 'Authorization: Bearer $$key' 'http://127.0.0.1:7654/v1/sessions?limit=5'" && echo
	build/agentlog serve --data $(DATA)

# Every suite: unit + storage conformance, the same under ASan+UBSan, end-to-end
# against the real binary, a short fuzzing run of each decoder, and the SDKs' suites.
test: build unit asan e2e scaleout web-test fuzz-smoke sdk-python sdk-typescript sdk-go conformance
	@echo "all suites passed"

# The storage conformance suite runs against SQLite and PostgreSQL: scripts/services.sh
# starts a throwaway PostgreSQL (and Redis) on loopback and passes its URL in
# AGENTLOG_TEST_DATABASE_URL. AGENTLOG_SKIP_POSTGRES=1 skips the PostgreSQL cases (reported).
SERVICES := bash scripts/services.sh run --

unit: build
	cmake --build build -j $(JOBS) --target agentlog_tests
	$(SERVICES) bash -c 'cd build && ctest --output-on-failure -j $(JOBS)'

build-asan/build.ninja: CMakeLists.txt | deps
	cmake -S . -B build-asan $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DAGENTLOG_SANITIZE=ON -DAGENTLOG_BUILD_SERVER=OFF

asan: deps build-asan/build.ninja
	cmake --build build-asan -j $(JOBS)
	$(SERVICES) bash -c 'cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j $(JOBS)'

e2e: build
	AGENTLOG_BIN=$(CURDIR)/build/agentlog $(PYTHON) -m pytest -q -p no:cacheprovider tests/e2e

# Scale-out mode: two replicas on one PostgreSQL and one Redis (kill -9 mid-load, streams
# across replicas, idempotent re-sends), and structural checks of deploy/.
scaleout: build
	$(SERVICES) env AGENTLOG_BIN=$(CURDIR)/build/agentlog $(PYTHON) -m pytest -q -p no:cacheprovider tests/scaleout

# Two replicas on PostgreSQL + Redis with demo data, as docs/deployment.md describes.
run-cluster: build
	bash scripts/run-cluster.sh build/agentlog

# The dashboard: strict type-check, vitest, and Playwright (Debian's Chromium, headless)
# against the real binary.
web-test: build
	AGENTLOG_BIN=$(CURDIR)/build/agentlog bash web/test.sh

# Refreshes the pictures in docs/screenshots (test runs keep theirs in a temp dir).
screenshots: build
	cd web && AGENTLOG_BIN=$(CURDIR)/build/agentlog AGENTLOG_UPDATE_SCREENSHOTS=1 \
	  node node_modules/vitest/vitest.mjs run --config e2e/vitest.config.ts e2e/screenshots.e2e.ts e2e/empty.e2e.ts

# The Python SDK: mypy --strict, ruff, pytest (unit and against the real binary).
sdk-python: build
	AGENTLOG_BIN=$(CURDIR)/build/agentlog bash sdks/python/test.sh

# The TypeScript SDK: strict type-check, ESM + CJS build, vitest, `npm pack` install check.
sdk-typescript: build
	AGENTLOG_BIN=$(CURDIR)/build/agentlog bash sdks/typescript/test.sh

# The Go SDK: vet, staticcheck, go test -race (unit and against the real binary), a short
# fuzzing run of the encoder. sdks/go/toolchain.sh finds (or fetches) Go >= 1.21.
sdk-go: build
	AGENTLOG_BIN=$(CURDIR)/build/agentlog bash sdks/go/test.sh

# The SDK conformance suite: every SDK's driver against the real binary.
conformance: build
	AGENTLOG_BIN=$(CURDIR)/build/agentlog bash tests/conformance/run.sh

build-fuzz/build.ninja: CMakeLists.txt | deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTLOG_FUZZ=ON -DAGENTLOG_BUILD_SERVER=OFF

fuzz-smoke: deps build-fuzz/build.ninja
	cmake --build build-fuzz -j $(JOBS)
	bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

fuzz: deps build-fuzz/build.ninja
	cmake --build build-fuzz -j $(JOBS)
	bash scripts/fuzz.sh build-fuzz $${FUZZ_SECONDS:-600}

bench: build
	$(PYTHON) bench/run.py --bin build/agentlog
	bash scripts/services.sh run --durable -- $(PYTHON) bench/postgres.py --bin build/agentlog
	$(PYTHON) sdks/python/bench.py --bin build/agentlog
	cd sdks/typescript && npm ci --no-audit --no-fund && npm run --silent build && node bench.mjs
	AGENTLOG_BIN=$(CURDIR)/build/agentlog bash sdks/go/bench.sh
	AGENTLOG_BIN=$(CURDIR)/build/agentlog node bench/dashboard.mjs

# PostgreSQL alone: raw COPY ceiling, ingest through the server, queries on 1M events.
bench-postgres: build
	bash scripts/services.sh run --durable -- $(PYTHON) bench/postgres.py --bin build/agentlog

format:
	git ls-files '*.h' '*.cc' '*.c' | xargs clang-format -i

tidy: build
	git ls-files 'server/src/*.cc' | xargs clang-tidy -p build --quiet

clean:
	rm -rf build build-asan build-fuzz web/dist
