"""The Spark backend's SQL translation and the skip rule, without a JVM (the pipeline: test_spark_pipeline.py)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from exptrack_pipeline.ingest.loader import RAW_DDL
from exptrack_pipeline.ingest.spark_publish import spark_raw_ddl
from exptrack_pipeline.warehouse.schema import DDL
from exptrack_pipeline.warehouse.spark_backend import spark_ddl
from exptrack_pipeline.warehouse.spark_types import column_types


def test_state_tables_ddl_in_spark_sql():
    """Sequences go; keys, checks, defaults and varchar become plain Spark columns in the configured format."""
    translated = [spark_ddl(statement, "parquet") for statement in DDL]
    assert translated.count(None) == 1  # the sequence
    tables = [t for t in translated if t and t.lower().startswith("create table")]
    assert len(tables) == sum(s.lower().lstrip().startswith("create table") for s in DDL)  # every state table
    for table in tables:
        lowered = table.lower()
        for word in ("primary key", "nextval", "check (", "varchar", "default", "not null"):
            assert word not in lowered, (word, table)
        assert lowered.endswith("using parquet"), table
    events = next(t for t in tables if "experiment_status_events" in t)
    assert "event_seq bigint" in events and "flag_attempts int" in events and "data_date date" in events


def test_raw_tables_are_partitioned_by_source_and_day():
    """The raw DDL is derived from the DuckDB loader's tables: same columns, Spark types, one partition per unit-day."""
    with duckdb.connect() as stage:
        stage.execute(RAW_DDL)
        statements = spark_raw_ddl(stage, "parquet")
        duck_columns = stage.execute(
            "select count(*) from information_schema.columns where table_schema = 'raw'"
        ).fetchone()[0]
        duck_tables = stage.execute("select count(*) from information_schema.tables where table_schema = 'raw'")
        duck_tables = duck_tables.fetchone()[0]
    assert len(statements) == duck_tables >= 6  # events, exposures, attributes, identities, log, quarantine, ...
    assert all(s.endswith("using parquet partitioned by (source, partition_date)") for s in statements)
    assert sum(s.count("`") // 2 for s in statements) == duck_columns
    events = next(s for s in statements if "raw.events " in s)
    assert "`value` double" in events and "`occurred_at` timestamp" in events and "`event_id` string" in events


def test_frame_types_for_spark():
    frame = pd.DataFrame(
        {
            "n": [1, 2],
            "x": [0.5, None],
            "flag": [True, False],
            "at": pd.to_datetime(["2026-11-01 10:00", "2026-11-02 00:00"]),
            "day": [pd.Timestamp("2026-11-01").date(), None],
            "empty": [None, None],
        }
    )
    assert column_types(frame) == {
        "n": "bigint",
        "x": "double",
        "flag": "boolean",
        "at": "timestamp",
        "day": "date",
        "empty": "string",
    }


def test_spark_test_skips_only_without_java_and_says_how_to_install(monkeypatch):
    import spark_support

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    reason = spark_support.skip_reason()
    assert reason is not None and "openjdk-17-jre-headless" in reason and "SKIPPED LOUDLY" in reason


@pytest.mark.parametrize("statement", ["begin transaction", "COMMIT", " rollback ;"])
def test_transaction_statements_are_accepted(statement):
    from exptrack_pipeline.warehouse.spark_backend import NO_OPS

    assert statement.strip().rstrip(";").strip().lower() in NO_OPS
