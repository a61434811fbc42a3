# Two commands on a fresh machine: `make demo` and `make test` (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else bootstrapped from PyPI into a private tool venv (.tools/).
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen --no-sync
DATA ?= data/sample
SNAPSHOT ?= $(or $(ALS_ECA_SNAPSHOT_DIR),data/snapshot)
WAREHOUSE ?= $(or $(ALS_ECA_WAREHOUSE),data/warehouse.duckdb)
SEED ?= 20230401

export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False
# dagster.yaml at the repository root configures the local instance (storage under .dagster_home/).
export DAGSTER_HOME ?= $(CURDIR)

.PHONY: help setup demo test lint generate ui sql sql-warehouse docs bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

.venv/.synced: uv.lock pyproject.toml | $(UV)
	@# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on our CI machines) every process
	@# would otherwise recompile ~1,400 modules of Dagster, dbt and GX from source (~10 s per `als-eca run`).
	@# --quiet: the ~150 lines of installed packages would bury the run's own output.
	$(UV) sync --frozen --compile-bytecode --quiet
	@touch $@

setup: .venv/.synced  ## install the locked environment into .venv

generate: setup  ## write the calibrated synthetic PRO-ACT + PMS sample to $(DATA)
	$(RUN) als-eca generate --out $(DATA) --seed $(SEED)

demo: generate  ## generate the sample data and run everything end to end
	$(RUN) als-eca calibration $(DATA)
	@echo "sample data: $(DATA)/proact (PRO-ACT download layout), $(DATA)/pms (PMS exports)"
	$(RUN) als-eca run --proact $(DATA)/proact --pms $(DATA)/pms

test: setup  ## the whole test suite
	$(RUN) pytest -n 2 --dist loadgroup

ui: setup  ## the Dagster UI on http://127.0.0.1:3000 (asset graph, checks, runs, schedule, sensor)
	$(RUN) dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

sql: setup  ## a DuckDB SQL shell on the analysts' read-only snapshot: marts, analysis results (never blocks a run)
	@test -f $(SNAPSHOT)/snapshot.duckdb || { echo "no snapshot yet: run make demo first"; exit 1; }
	$(RUN) duckdb -readonly $(SNAPSHOT)/snapshot.duckdb

# The CLI is pinned to the library's version (pyproject.toml), so it reads the warehouse's storage format.
sql-warehouse: setup  ## the same shell on the warehouse, read-only: every schema (a run cannot write while it is open)
	@test -f $(WAREHOUSE) || { echo "no warehouse at $(WAREHOUSE): run make demo first"; exit 1; }
	@echo "read-only on $(WAREHOUSE): while this shell is open a run cannot write it (DuckDB's file lock) - .quit before the next run"
	$(RUN) duckdb -readonly $(WAREHOUSE)

docs: setup  ## dbt docs (models, columns, lineage) as one static HTML page
	cd dbt_project && ALS_ECA_WAREHOUSE=$${ALS_ECA_WAREHOUSE:-$(CURDIR)/data/warehouse.duckdb} \
		$(RUN) dbt docs generate --static --project-dir . --profiles-dir . --quiet
	@echo "dbt docs: $(CURDIR)/dbt_project/target/static_index.html"

bench: setup  ## benchmarks at 1x-100x (long: generates data/bench/ once) -> benchmarks/results.md
	$(RUN) python -m benchmarks.run_all

lint: setup  ## ruff
	$(RUN) ruff check .
