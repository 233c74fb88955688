"""Incremental dbt models on Apache Spark (issues 16/18) equal a full refresh of the same inputs.

Parquet tables on Spark take no DELETE: a run's refresh scope is removed by dropping the partitions it covers and
rewriting those it shares with other rows (dynamic partition overwrite), then appended
(macros/spark/exptrack_incremental_spark.sql). A background process started at collection (tests/spark_support.py,
beside the Spark pipeline run) runs tests/spark_incremental_run.py on the session's local Spark:
a first build of days 1-3; day 4 with a metric reload, a new metric and experiment, changed dates and units whose
assignment changed; day 5 with a re-sent day, late and duplicate events — each run's scope exactly what it
changed — and a `--full-refresh`. Every incremental model the sequence builds (the event, exposure and unit-day
tables, the daily deltas, the unit values, covariates, retention and novelty inputs, the quantile observations) must
equal the full refresh's after the last daily run (1e-9), as on DuckDB and PostgreSQL.

The server is the Spark pipeline test's (one JVM for the session): the sequence writes its own databases `inc_raw`,
`inc_registry` and `inc_main` (the dbt sources' and models' database names come from EXPTRACK_RAW_SCHEMA,
EXPTRACK_REGISTRY_SCHEMA and EXPTRACK_SPARK_SCHEMA), never the pipeline run's `raw`, `registry` and `main`. Skipped
only without java or pyspark, with the install command in the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import spark_support
from incremental_lab import assert_same

# What the results are computed from (each must be built by the sequence and hold rows): the partitioned tables and
# the per-unit and per-day statistics' incremental inputs.
STATISTICS_INPUTS = (
    "int_events_deduplicated",
    "int_unit_metric_daily_by_partition",
    "int_unit_metric_pre_period",
    "int_unit_metric_daily",
    "int_unit_metric_values",
    "int_unit_metric_covariates",
    "int_variant_metric_daily_deltas",
    "int_quantile_observations",
    "int_retention_active_days",
    "int_novelty_unit_periods",
    "int_experiment_unit_activity",
)


@pytest.fixture(scope="module")
def spark_sequence(pytestconfig) -> Path:
    """The folder of the finished background run (tables of the last incremental run and of the full refresh)."""
    reason = spark_support.skip_reason()
    if reason:
        pytest.skip(reason)
    process = spark_support.incremental(pytestconfig)  # started at collection
    process.check("daily incremental runs and a full refresh on local Spark")
    return process.root


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {path.stem: pd.read_parquet(path) for path in sorted(folder.glob("*.parquet"))}


def test_incremental_runs_on_spark_equal_a_full_refresh(spark_sequence):
    summary = json.loads((spark_sequence / "summary.json").read_text())
    incremental, full = _tables(spark_sequence / "incremental"), _tables(spark_sequence / "full")
    assert sorted(full) == summary["compared"] and sorted(incremental) == sorted(full)
    # the sequence builds every incremental model upstream of the refresh state, not only the partitioned ones
    assert set(STATISTICS_INPUTS) <= set(full), sorted(set(STATISTICS_INPUTS) - set(full))
    for name in STATISTICS_INPUTS:
        assert len(full[name]) > 0, f"{name} is empty after the full refresh: nothing would be compared"
    assert_same(incremental, full)


def test_each_daily_run_rebuilt_only_what_changed(spark_sequence):
    """The first build is a full one; then the registry run's and the events run's scopes (spark_incremental_run.py
    asserts each equals what its cases changed)."""
    summary = json.loads((spark_sequence / "summary.json").read_text())
    assert "('all', None)" in summary["first_build_scope"]
    registry, events = (step["scope"] for step in summary["steps"])
    assert "('metric', 'revenue_per_user')" in registry and "('experiment', 'exp_a')" in registry
    # a day re-sent or delivered late also rewrites that day's exposure partition (scope kind `exposures`, the
    # exposure side's scope); spark_incremental_run.py asserts each scope equals what the cases changed
    assert all(scope.startswith(("('events'", "('exposures'")) for scope in events)
    assert sum(scope.startswith("('events'") for scope in events) >= 2


def test_incremental_tables_are_partitioned_by_day_on_spark(spark_sequence):
    """The incremental tables are parquet partitioned by partition_date (dbt_project.yml, spark target only); the
    table made unpartitioned mid-sequence stayed correct (the fallback) and a full refresh partitions it again."""
    summary = json.loads((spark_sequence / "summary.json").read_text())
    for name, ddl in summary["full_refresh_ddl"].items():
        text = ddl.lower()
        assert "using parquet" in text and "partitioned by (partition_date)" in text, (name, ddl)
    assert "partitioned by" not in summary["incremental_ddl"]["int_unit_metric_pre_period"].lower()
    assert "partitioned by (partition_date)" in summary["incremental_ddl"]["int_events_deduplicated"].lower()


def test_daily_runs_insert_without_a_temporary_view(spark_sequence):
    """A daily run of an incremental `append` model with `on_schema_change: ignore` inserts the model's SELECT
    straight into its table (macros/spark/exptrack_materializations_spark.sql): no `<model>__dbt_tmp` view for Spark
    to analyse a second time. A model with another schema-change policy takes dbt-spark's materialization (its view,
    then the insert), and both kinds equal the full refresh (the test above)."""
    summary = json.loads((spark_sequence / "summary.json").read_text())
    manifest = json.loads((spark_sequence / "parse" / "manifest.json").read_text())
    policy = {
        node["name"]: node["config"].get("on_schema_change") or "ignore"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    log = (spark_sequence / "logs" / "dbt.log").read_text(errors="replace")
    runs = log.split("Running with dbt=")[1:]  # the first build, the two daily runs, the full refresh
    assert len(runs) == 2 + len(summary["steps"]), len(runs)
    lean = [name for name in summary["compared"] if policy[name] == "ignore"]
    own = [name for name in summary["compared"] if policy[name] != "ignore"]
    assert len(lean) >= 15 and own, (lean, own)  # both paths are exercised
    for run in runs[1:-1]:
        for name in lean:
            assert f"{name}__dbt_tmp" not in run, name
            inserted = re.search(rf"insert into \S+\.{name} \((?:(?!insert into).)*?\) as exptrack_new_rows", run, re.S)
            assert inserted, f"{name}: no direct insert in a daily run"
        for name in own:
            assert f"create or replace temporary view {name}__dbt_tmp" in run, name
