# Two commands for a fresh machine with only python3:  make run  and  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint data clean bench

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(INSTALLED)

# The flow on the embedded sample (data/) into ./lake, then what an analyst would see.
run: $(INSTALLED)
	$(BIN)/route53-lake --source data/cloudtrail --lake lake --start 2026-11-01 --end 2026-11-03 --day 2015-01-16
	$(BIN)/route53-lake latest --lake lake
	@echo
	@echo "Next: query the lake:  $(BIN)/route53-lake sql --lake lake   (tables, views such as dns_risk and record_history; sql/cookbook/)"
	@echo "      the Prefect UI, the nightly schedule and a backfill from its form: README.md, section Orchestration"
	@echo "      (prefect server start; prefect work-pool create local-process --type process; prefect deploy --all; prefect worker start)"

test: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(INSTALLED)
	$(BIN)/ruff check flows transforms schemas tests data benchmarks

# Regenerate the sample CloudTrail tree (deterministic: the committed bytes must not change).
data: $(INSTALLED)
	$(BIN)/python data/generate.py

# Benchmark: ours vs the DuckDB SQL peer vs the physical floor on generated CloudTrail days; writes
# benchmarks/RESULTS.md. Defaults: sparse and dense at 200 MB of JSON each, 3 repeats, workers 1,2.
# E.g. make bench BENCH_ARGS="--size-mb 1000"
BENCH_ARGS ?=
bench: $(INSTALLED)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) lake
