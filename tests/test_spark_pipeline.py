"""The whole pipeline runs on Apache Spark and gives the same numbers, alerts and pauses as on DuckDB.

A local Spark server (tests/spark_server.py: one JVM serving Spark Connect and thrift, warehouse and metastore in a
temp dir) is the warehouse of a second run of the session's demo over the same seeded landing zone
(tests/spark_support.py, started in the background at collection): `exptrack run` on the `spark` target — ingestion
(DuckDB checks the files, Spark receives each day as a partition), the registry, `dbt build` (every model; the data
tests, engine-neutral SQL run on DuckDB and PostgreSQL, are left out: spark_support.py says why), the statistics,
monitoring and lifecycle, all through exptrack_pipeline.warehouse's Spark backend. The operational
state (health verdicts, alerts outbox, pauses, lifecycle and flag logs) lives in the state store beside Spark (a
DuckDB file here; exptrack_pipeline/warehouse/state_store.py) and the tables dbt reads are mirrored into Spark.
Every table must equal the DuckDB run's — the same comparison as tests/test_postgres_pipeline.py (1e-9 relative;
counts, verdicts, alerts and pauses exactly). Skipped only when java is missing, with the install command in the
reason.
"""

from __future__ import annotations

import pytest
import spark_support
import test_postgres_pipeline as same_as_postgres
from pipeline_support import make_settings
from test_postgres_pipeline import EVENTS_FINGERPRINT, MODEL_KEYS, RESULT_KEYS, RUN_TIME_COLUMNS, assert_same_table

DEMO_START, DEMO_END = "2026-10-18", "2026-11-24"  # the session's demo run (conftest.py)


class SparkRun:
    """The Spark run's warehouse (Spark Connect to the background server, with the run's state store), its settings
    (output folder) and wall time."""

    def __init__(self, settings, warehouse, seconds: float) -> None:
        self.settings, self.warehouse, self.seconds = settings, warehouse, seconds

    def query(self, sql: str):
        return self.warehouse.read_df(sql)


@pytest.fixture(scope="module")
def spark_run(demo_run, pytestconfig):
    """The background run started at collection (or, when this module was chosen later, one started here)."""
    from exptrack_pipeline.warehouse import DuckDBWarehouse, SparkWarehouse

    reason = spark_support.skip_reason()
    if reason:
        pytest.skip(reason)
    started = spark_support.started(pytestconfig)
    if started is None:  # e.g. `pytest -k` selected this module after collection: start and wait here
        spark_support.start_now(pytestconfig, DEMO_START, DEMO_END, demo_run.truth.get("scale", 1.0))
        started = spark_support.started(pytestconfig)
    code = started.run.wait(timeout=3600)  # ~10 min on an idle machine, 30+ under heavy load
    assert code == 0, f"the pipeline on Spark failed (exit {code}):\n{started.run.log_tail()}"
    print(f"\nthe demo pipeline on local Spark (generate + exptrack run): {started.run.seconds:.1f}s")
    warehouse = SparkWarehouse(remote=started.server.remote, state=DuckDBWarehouse(str(started.state_file)))
    settings = make_settings(started.root).model_copy(
        update={"raw_dir": started.run.raw_dir, "output_dir": started.run.output_dir, "target": "spark"}
    )
    yield SparkRun(settings, warehouse, started.run.seconds)
    warehouse.session().stop()  # close the Connect client before the server goes: its threads would retry at exit


def test_ingestion_into_spark_conserves_every_row(demo_run, spark_run):
    """Each day staged by DuckDB arrives whole: the same ingestion log, quarantine and events as the DuckDB load."""
    log = spark_run.query("select * from raw.ingestion_log")
    assert len(log) == 2 * 38, f"expected 38 days of 2 sources, got {len(log)} rows"
    assert (log["rows_read"] == log["rows_loaded"] + log["rows_quarantined"] + log["rows_deduplicated"]).all()
    assert log["rows_quarantined"].sum() > 0 and log["rows_deduplicated"].sum() > 0, (
        "the demo's bad rows did not arrive"
    )
    columns = list(demo_run.query("select * from raw.ingestion_log").columns)
    assert_same_table(
        demo_run.query("select * from raw.ingestion_log"),
        log[columns],
        ["source", "partition_date"],
        "raw.ingestion_log",
    )
    quarantine = "select source, partition_date, source_file, source_row, reason, record from raw.quarantine"
    assert_same_table(
        demo_run.query(quarantine),
        spark_run.query(quarantine),
        ["source", "partition_date", "source_file", "source_row", "reason"],
        "raw.quarantine",
    )
    assert_same_table(
        demo_run.query(EVENTS_FINGERPRINT),
        spark_run.query(EVENTS_FINGERPRINT),
        ["partition_date", "source_file", "event_name"],
        "raw.events",
    )


def test_spark_tables_are_parquet_partitioned_by_day(spark_run):
    """Raw tables: parquet, one partition per source and day (what a re-run of a day replaces)."""
    ddl = spark_run.query("show create table raw.events").iloc[0, 0].lower()
    assert "using parquet" in ddl and "partitioned by (source, partition_date)" in ddl, ddl
    days = spark_run.query("show partitions raw.events")
    assert len(days) == 38, days


@pytest.mark.parametrize("model", list(MODEL_KEYS))
def test_model_identical_on_spark(demo_run, spark_run, model):
    ignored = RUN_TIME_COLUMNS.get(model, [])
    duck_frame = demo_run.query(f"select * from main.{model}").drop(columns=ignored)
    assert len(duck_frame) > 0, f"{model} is empty on DuckDB: nothing would be compared"
    spark_frame = spark_run.query(f"select * from main.{model}").drop(columns=ignored)
    assert_same_table(duck_frame, spark_frame[list(duck_frame.columns)], MODEL_KEYS[model], model)
    assert list(spark_frame.columns) == list(duck_frame.columns), f"{model}: column order differs"


@pytest.mark.parametrize(
    "table, keys",
    [
        ("experiment_results", RESULT_KEYS),
        ("retention_results", ["experiment_id", "variant", "retention_day"]),
        ("segment_results", ["experiment_id", "metric_id", "variant", "attribute", "attribute_value"]),
    ],
)
def test_statistics_identical_on_spark(demo_run, spark_run, table, keys):
    """The headline: the statistics written from Spark's marts equal DuckDB's (1e-9)."""
    duck_frame = demo_run.query(f"select * from main.{table}")
    assert len(duck_frame) > 0, f"{table} is empty on DuckDB"
    assert_same_table(duck_frame, spark_run.query(f"select * from main.{table}"), keys, table)


def test_monitoring_on_spark_raises_the_same_alerts_and_pause(demo_run, spark_run):
    """Health verdicts, the outbox (alert ids are the exactly-once keys) and the automatic pause match DuckDB's,
    read through the Spark warehouse's connection (state tables from the state store)."""
    same_as_postgres.test_monitoring_on_postgres_raises_the_same_alerts_and_pause(demo_run, spark_run)
    mirrored = "select experiment_id, status, source, trigger, level from state.experiment_status_events"
    spark_only = spark_run.warehouse.session().sql(mirrored).toPandas()
    assert_same_table(
        demo_run.query(mirrored),
        spark_only,
        ["experiment_id", "status", "trigger"],
        "state.experiment_status_events mirrored into Spark",
    )


def test_lifecycle_and_summary_identical_on_spark(demo_run, spark_run):
    """The lifecycle tables and `exptrack summary`'s text are the same on both warehouses; reports are written."""
    same_as_postgres.test_lifecycle_and_summary_identical_on_postgres(demo_run, spark_run)
