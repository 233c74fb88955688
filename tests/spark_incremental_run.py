"""Daily incremental runs on Apache Spark, then a full refresh of the same inputs (tests/test_spark_incremental.py).

Run in a background process against a running Spark (SPARK_REMOTE, EXPTRACK_DBT_TARGET=spark; the test runs it on
the session's server, tests/spark_support.py, beside the Spark pipeline run):

    python tests/spark_incremental_run.py OUT

The world and the daily runs are tests/incremental_world.py's and tests/incremental_runs.py's (each run's
refresh scope must be exactly what it changed): a first build of days 1-3; day 4 with a metric reload, a new metric
and experiment, changed dates and units whose first exposure moved or that became multi-variant (partitions
rewritten with their other rows: macros/spark/exptrack_incremental_spark.sql); day 5 with a re-sent day, late and
duplicate events (partitions dropped); then a `--full-refresh`. Before day 4, int_unit_metric_pre_period is rebuilt
without partitions, as a model without `partition_by` would be: the unpartitioned-table fallback. Only the
incremental models and their inputs are built (each Spark run costs minutes); what is downstream of them is a full
rebuild, compared on DuckDB and PostgreSQL. OUT receives every incremental model's table after the last daily run and
after the full refresh (parquet, rows in incremental_lab's canonical order) and summary.json (each run's scope, the
partitioned tables' DDL); the test compares.

The sequence has databases of its own (DATABASES: `inc_raw`, `inc_registry`, `inc_main`), so that it shares the
server with the pipeline run, which writes `raw`, `registry` and `main`: dbt reads them from EXPTRACK_RAW_SCHEMA,
EXPTRACK_REGISTRY_SCHEMA (dbt_project/models/staging/_sources.yml) and EXPTRACK_SPARK_SCHEMA (profiles.yml), the
Python side here names them through FreshSpark.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from incremental_lab import Lab, normalized, parse_manifest
from incremental_runs import run_step
from incremental_world import World

from exptrack_pipeline.warehouse import SparkWarehouse

SEED = 5
DATABASES = {"raw": "inc_raw", "registry": "inc_registry", "main": "inc_main"}
DATABASES_ENV = {
    "EXPTRACK_RAW_SCHEMA": DATABASES["raw"],
    "EXPTRACK_REGISTRY_SCHEMA": DATABASES["registry"],
    "EXPTRACK_SPARK_SCHEMA": DATABASES["main"],
}
_QUALIFIED = re.compile(r"\b(main|raw|registry)\.(?=\w)")
SELECT = ["+int_refresh_state", "+int_refresh_assignments"]
PARTITIONED = ["int_events_deduplicated", "int_unit_metric_daily_by_partition", "int_unit_metric_pre_period"]
UNPARTITIONED = "int_unit_metric_pre_period"
# The cases of each daily run after the first build (on top of its new day): first those that rewrite partitions
# (a metric reload, a new metric and experiment, changed dates, units whose assignment changed), then those that
# drop them (a re-sent day, late data, a duplicate id days later): each way is taken on its own.
STEPS = [
    ["changed_window", "new_metric", "changed_dates", "first_exposure_earlier", "multi_variant"],
    ["resend_day", "late_events", "duplicate_later"],
]


def own_databases(sql: str) -> str:
    """`sql` with the databases `main`, `raw` and `registry` renamed to the sequence's own (DATABASES)."""
    return _QUALIFIED.sub(lambda match: DATABASES[match.group(1)] + ".", sql)


class FreshSpark(SparkWarehouse):
    """The sequence's databases (DATABASES) under the names the world and incremental_lab use (`main`, `raw`,
    `registry`); reads through a session that did not write: each read first refreshes the tables it names (dbt's
    session rewrote them; this session's file listing would name deleted files)."""

    def read_df(self, sql: str, params: list | None = None):
        sql = own_databases(sql)
        for table in sorted(set(re.findall(rf"\b(?:{DATABASES['main']}|{DATABASES['registry']})\.\w+", sql))):
            super().execute(f"refresh table {table}")
        return super().read_df(sql, params)

    def execute(self, sql: str, params: list | None = None) -> None:
        super().execute(own_databases(sql), params)

    def replace_table(self, schema: str, table: str, frame) -> None:
        super().replace_table(DATABASES.get(schema, schema), table, frame)


class SparkResource:
    """What incremental_lab.Lab needs of a WarehouseResource, over one Spark Connect session."""

    def __init__(self, warehouse: SparkWarehouse) -> None:
        self.warehouse = warehouse

    def backend(self) -> SparkWarehouse:
        return self.warehouse

    def read_df(self, sql: str):
        return self.warehouse.read_df(sql)


def ddl(warehouse: Lab) -> dict[str, str]:
    """`show create table` of each table partitioned by day."""
    return {
        name: str(warehouse.resource.warehouse.read_df(f"show create table main.{name}").iloc[0, 0])
        for name in PARTITIONED
    }


def built_incremental(warehouse: Lab) -> list[str]:
    """The project's incremental models that the sequence's selection built (tables of the sequence's `main`)."""
    tables = warehouse.resource.warehouse.read_df(f"show tables in {DATABASES['main']}")
    return sorted(set(warehouse.incremental) & set(tables["tableName"]))


def unpartition(warehouse: Lab, name: str) -> None:
    """Rebuild main.`name` as an unpartitioned parquet table with the same rows (a model without partition_by)."""
    spark = warehouse.resource.warehouse
    spark.execute(f"drop table if exists main.{name}__flat")
    spark.execute(f"create table main.{name}__flat using parquet as select * from main.{name}")
    spark.execute(f"drop table main.{name}")
    spark.execute(f"alter table main.{name}__flat rename to main.{name}")


def snapshot(warehouse: Lab, names: list[str], folder: Path) -> None:
    """The tables `names`, columns by name, normalized as the DuckDB and PostgreSQL labs compare them (numbers as
    floats, the rest as text, rows in a canonical order), as parquet files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        frame = warehouse.resource.warehouse.read_df(f"select * from main.{name}")
        normalized(frame[sorted(frame.columns)]).to_parquet(folder / f"{name}.parquet")


def main(out: Path) -> None:
    """The sequence; every table of the last incremental run and of the full refresh saved under `out`."""
    env = {"EXPTRACK_DBT_TARGET": "spark", **DATABASES_ENV}  # SPARK_REMOTE comes from the environment
    warehouse = Lab(SparkResource(FreshSpark()), env, out, parse_manifest(env, out / "parse"))
    warehouse.daily_selection = warehouse.full_selection = SELECT  # the incremental models and their inputs only
    world = World(SEED)
    for _ in range(3):
        world.new_day()
    warehouse.build(world)
    summary: dict = {"first_build_scope": sorted(map(str, warehouse.scope())), "steps": []}
    for number, cases in enumerate(STEPS):
        if number == 0:
            unpartition(warehouse, UNPARTITIONED)
        run_step(warehouse, world, cases)  # asserts the run's scope is exactly what the cases changed
        summary["steps"].append({"cases": cases, "scope": sorted(map(str, warehouse.scope()))})
        print(f"run {number + 1}: {cases or 'a new day'} -> {summary['steps'][-1]['scope']}", flush=True)
    summary["incremental_ddl"] = ddl(warehouse)
    compared = built_incremental(warehouse)
    snapshot(warehouse, compared, out / "incremental")
    warehouse.build(world, full_refresh=True)
    summary["full_refresh_ddl"] = ddl(warehouse)
    snapshot(warehouse, compared, out / "full")
    summary["compared"] = compared
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print("done", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
