# Two commands for a fresh machine with only python3:  make run  and  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test check lint ui ui-stop data clean bench

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(INSTALLED)

# The flow on the embedded sample (data/) into ./lake, then what an analyst would see. Every command
# printed here runs as written from the repository root (tests/cli/test_printed_commands.py).
run: $(INSTALLED)
	$(BIN)/route53-lake --source data/cloudtrail --lake lake --start 2026-11-01 --end 2026-11-03 --day 2015-01-16
	$(BIN)/route53-lake latest --lake lake
	@echo
	@echo "Next: query the lake:  .venv/bin/route53-lake sql --lake lake   (tables and views such as dns_risk, record_history; sql/cookbook/)"
	@echo "      the latest changes again:  .venv/bin/route53-lake latest --lake lake"
	@echo "      the Prefect UI, the nightly schedule and a backfill from its form:  make ui   (stop it: make ui-stop; docs/operations.md)"

LINT := $(BIN)/ruff check flows transforms schemas tests data benchmarks

# The whole suite, lint first (what .ci/run runs). Needs Java 17+ (Spark tests) and Chromium (browser test).
test: $(INSTALLED)
	$(LINT)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The quick loop: lint and the tests not marked slow or e2e.
check: $(INSTALLED)
	$(LINT)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow and not e2e"

# The local orchestration on 127.0.0.1: Prefect server and UI, work pool, deployments, a worker (waits for
# each; a second `make ui` reuses what runs). `make ui-stop` stops what it started.
UI_PORT ?= 4200
ui: $(INSTALLED)
	$(BIN)/python -m flows.orchestration.local_ui up --port $(UI_PORT)

ui-stop: $(INSTALLED)
	$(BIN)/python -m flows.orchestration.local_ui down

lint: $(INSTALLED)
	$(LINT)

# Regenerate the sample CloudTrail tree (deterministic: the committed bytes must not change).
data: $(INSTALLED)
	$(BIN)/python data/generate.py

# Benchmark: ours vs the DuckDB SQL peer vs the physical floor on generated CloudTrail days; prints
# the tables (benchmarks/RESULTS.md, the README's, changes only with --results benchmarks/RESULTS.md).
# Defaults: sparse and dense at 200 MB of JSON each, 3 repeats, workers 1,2. The S3 profile:
# make bench BENCH_ARGS="--profile s3"; larger days: make bench BENCH_ARGS="--size-mb 1000"
BENCH_ARGS ?=
bench: $(INSTALLED)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) lake
