# The README's two commands: `make run` and `make test`. CI runs `make test` (see .ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install lint format bench bench-postgres bench-dashboard bench-sentry bench-alerts bench-soak bench-sustained bench-paired bench-instructions demo

$(BIN)/pulsekit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

install: $(BIN)/pulsekit

## Install PulseKit and start it on http://127.0.0.1:4000 with SQLite under ./data
run: install
	$(BIN)/pulsekit serve --host 127.0.0.1 --port 4000 --data-dir ./data

## Install everything the tests need (system packages included) and run every test
test:
	bash scripts/test.sh

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: install
	$(BIN)/python benchmarks/ingest.py

## Ingest on PostgreSQL beside SQLite: a throwaway cluster (fsync on), one replica and two, events/s as
## ratios to the same run's ceilings and to SQLite; the cluster is removed afterwards (~2 minutes).
## BENCH_ARGS='--duration 5' for a shorter run.
bench-postgres: install
	$(BIN)/python benchmarks/bench_postgres.py $(BENCH_ARGS)

## Load 1,000,000 events and time the dashboard's queries (events page, search, facets, home)
bench-sentry: install
	$(BIN)/python benchmarks/sentry.py

bench-dashboard: install
	$(BIN)/python benchmarks/dashboard.py

## Fill ./data with sample projects, errors and events (then `make run` and log in)
demo: install
	$(BIN)/pulsekit demo --data-dir ./data

## Alert latency: 202 to webhook arrival, p50/p99 over 100 alerts per rule type
bench-alerts: install
	$(BIN)/python benchmarks/alerts.py

## Soak: 10 minutes at 1,000 events/s (singles, batches, Sentry envelopes), then 10 more with data
## ageing out after 30 s (so retention deletes at its full pace from minute 2 on, the reference minute);
## per minute: events/s, p50/p99, RSS, db and WAL size, writer queue, read latency.
## SOAK_MINUTES=3 make bench-soak for a shorter run.
SOAK_MINUTES ?= 10
bench-soak: install
	@growth=0; $(BIN)/python benchmarks/soak.py --minutes $(SOAK_MINUTES) || growth=$$?; \
	turnover=0; $(BIN)/python benchmarks/soak.py --minutes $(SOAK_MINUTES) --turnover 0.5 || turnover=$$?; \
	test $$growth = 0 && test $$turnover = 0  # both modes run even when the first misses a target

## Sustained: 1,000,000 events as fast as they go, batches then single events; WAL bound and flat throughput
bench-sustained: install
	$(BIN)/python benchmarks/sustained.py --mode batch
	$(BIN)/python benchmarks/sustained.py --mode single --connections 64

## Issue #20's ratios read on two servers at once, so the machine's drift cancels: the first and the
## last 100,000 of 1,000,000 events (batches, then single events), then an old server's last soak minute
## beside a young one's minute 2 (growth, then retention). About 30 minutes.
bench-paired: install
	@failed=0; \
	$(BIN)/python benchmarks/paired_flatness.py --mode batch || failed=1; \
	$(BIN)/python benchmarks/paired_flatness.py --mode single --connections 32 || failed=1; \
	$(BIN)/python benchmarks/paired_soak.py --minutes $(SOAK_MINUTES) || failed=1; \
	$(BIN)/python benchmarks/paired_soak.py --minutes $(SOAK_MINUTES) --turnover 0.5 || failed=1; \
	test $$failed = 0  # every run goes on when one misses a target

## Instructions per stored event at 100,000 and 900,000 events (callgrind: the server's own work, not the machine's speed)
bench-instructions: install
	$(BIN)/python benchmarks/instructions_per_event.py $(BENCH_ARGS)
