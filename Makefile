# Two set-up commands on a fresh machine with Python 3.11 and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
DEMO_START := 2026-10-18
DEMO_END := 2026-11-24

export PATH := $(BIN):$(PATH)
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export EXPTRACK_RAW_DIR ?= $(CURDIR)/data/raw
export EXPTRACK_EXPERIMENTS_DIR ?= $(CURDIR)/experiments
export EXPTRACK_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb
export EXPTRACK_OUTPUT_DIR ?= $(CURDIR)/data/output

.PHONY: install manifest dagster-home demo demo-segment demo-postgres demo-spark test lint dev bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed

# dagster-dbt reads dbt's manifest when the definitions import: parse the project first.
manifest: install
	cd dbt_project && $(BIN)/dbt parse --quiet --profiles-dir .

dagster-home:
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: manifest dagster-home
	$(BIN)/python -m exptrack_pipeline.demo.generate --out $(EXPTRACK_RAW_DIR)
	$(BIN)/exptrack run --start $(DEMO_START) --end $(DEMO_END)
	$(BIN)/exptrack summary
	$(BIN)/exptrack flags
	$(BIN)/exptrack reports
	$(BIN)/exptrack site

# The demo with its exposures in Segment's format (Experiment Viewed track messages, gzipped JSON lines) read through
# a sources YAML (docs/sources.md); its own landing zone and warehouse, `make demo` is untouched.
SEGMENT_RAW := $(CURDIR)/data/raw-segment
demo-segment: manifest dagster-home
	rm -rf $(SEGMENT_RAW)
	$(BIN)/python -m exptrack_pipeline.demo.generate --out $(SEGMENT_RAW)
	$(BIN)/python -m exptrack_pipeline.sources.demo --raw $(SEGMENT_RAW)
	EXPTRACK_RAW_DIR=$(SEGMENT_RAW) EXPTRACK_SOURCES_FILE=$(SEGMENT_RAW)/sources.yaml EXPTRACK_WAREHOUSE=$(CURDIR)/data/warehouse-segment.duckdb \
		EXPTRACK_OUTPUT_DIR=$(CURDIR)/data/output-segment sh -c '$(BIN)/exptrack run --start $(DEMO_START) --end $(DEMO_END) && $(BIN)/exptrack summary'

# The same pipeline on PostgreSQL: a throw-away server (tests/postgres_server.py: initdb in a temp dir, deleted at the
# end) gets the demo landing zone, every dbt model and test, the statistics, monitoring and lifecycle assets.
# Against your own server: EXPTRACK_DBT_TARGET=postgres EXPTRACK_PG_HOST=... EXPTRACK_PG_PASSWORD=... exptrack run ...
demo-postgres: manifest dagster-home
	test -f $(EXPTRACK_RAW_DIR)/demo_truth.json || $(BIN)/python -m exptrack_pipeline.demo.generate --out $(EXPTRACK_RAW_DIR)
	EXPTRACK_OUTPUT_DIR=$(CURDIR)/data/output-postgres $(BIN)/python tests/postgres_server.py exec -- sh -c '$(BIN)/exptrack run --start $(DEMO_START) --end $(DEMO_END) && $(BIN)/exptrack summary'

# pyspark + dbt-spark (pyproject extra `spark`): the Spark pipeline test and `make demo-spark`.
$(VENV)/.spark-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,spark]'
	touch $@

# The same pipeline on a throw-away local Apache Spark (tests/spark_server.py: one JVM serving Spark Connect and
# thrift, warehouse and metastore in a temp dir): ingestion, registry, every dbt model and test, the statistics,
# monitoring and lifecycle; the operational state (alerts, pauses, lifecycle, flags) in the state store beside Spark,
# here the DuckDB file data/state-spark.duckdb (EXPTRACK_STATE_URL; docs/scale-out.md).
demo-spark: manifest dagster-home $(VENV)/.spark-installed
	test -f $(EXPTRACK_RAW_DIR)/demo_truth.json || $(BIN)/python -m exptrack_pipeline.demo.generate --out $(EXPTRACK_RAW_DIR)
	rm -f $(CURDIR)/data/state-spark.duckdb
	EXPTRACK_OUTPUT_DIR=$(CURDIR)/data/output-spark EXPTRACK_STATE_URL=$(CURDIR)/data/state-spark.duckdb $(BIN)/python tests/spark_server.py exec -- sh -c '$(BIN)/exptrack run --start $(DEMO_START) --end $(DEMO_END) && $(BIN)/exptrack summary'

test: manifest dagster-home $(VENV)/.spark-installed
	$(BIN)/pytest -q

# ruff (format check + rules in pyproject.toml) and sqlfluff on the dbt models (dbt templater, .sqlfluff).
$(VENV)/.lint-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,lint]'
	touch $@

lint: manifest $(VENV)/.lint-installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	mkdir -p data && EXPTRACK_WAREHOUSE=$(CURDIR)/data/sqlfluff.duckdb $(BIN)/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests

bench: manifest
	$(BIN)/python bench/bench_stats.py
	$(BIN)/python bench/run_bench.py --events 1M 10M 100M --write BENCHMARKS.md

# Pools get their slots lazily from dagster.yaml's default_limit; two runs starting at the same instant could both
# claim before the limit exists. Setting the pool's slots once makes the one-writer rule hold from the first run.
dev: manifest dagster-home
	$(BIN)/dagster instance concurrency set duckdb 1
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
