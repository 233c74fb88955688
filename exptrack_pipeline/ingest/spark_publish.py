"""Loading the landing zone into Spark: DuckDB reads and checks each day, Spark receives it partition by partition.

The same split as for PostgreSQL (publish.py): each day is staged by :func:`load_day` in an in-memory DuckDB (the
contract checks, per-line quarantine and de-duplication are one implementation on every target), then sent to Spark
over Spark Connect as Arrow, DAYS_PER_WRITE days per write. Spark's raw tables are partitioned by (source,
partition_date), so one unit's day is one partition: a dynamic partition overwrite replaces the days written, and a
re-run replaces them. Spark on parquet has no transaction, so
a reader during the overwrite can see a day missing (Delta: `replaceWhere` makes it one commit).
After the write, Spark's own counts of loaded and quarantined rows for the day must equal the staged ones, else
:class:`TransferMismatch` names the day (raw.ingestion_log's rows read = loaded + quarantined + de-duplicated).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from exptrack_pipeline.ingest.loader import IngestionReport, LoadUnit, load_day, native_unit
from exptrack_pipeline.ingest.publish import TransferMismatch, _day_tables, staging_connection
from exptrack_pipeline.warehouse.spark_types import rows_from_the_client

# DuckDB's type names (information_schema.columns.data_type) in Spark SQL.
SPARK_TYPES = {"VARCHAR": "string", "DOUBLE": "double", "INTEGER": "int", "BIGINT": "bigint"}
PARTITION_COLUMNS = ("source", "partition_date")
# Days sent in one write per table: each Spark write and count costs seconds whatever its size, a day is ~1 MB.
DAYS_PER_WRITE = 10


def spark_raw_ddl(stage, file_format: str) -> list[str]:
    """`create table if not exists` for every table of the staging DuckDB's schema raw, partitioned by
    (source, partition_date): the DDL is derived from loader.RAW_DDL's result, never written twice."""
    rows = stage.execute(
        "select table_name, column_name, data_type from information_schema.columns where table_schema = 'raw' "
        "order by table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append(f"`{column}` {SPARK_TYPES.get(data_type, data_type.lower())}")
    return [
        f"create table if not exists raw.{table} ({', '.join(columns)}) using {file_format} "
        f"partitioned by ({', '.join(PARTITION_COLUMNS)})"
        for table, columns in tables.items()
    ]


def _literal(value: object) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _arrow(stage, sql: str, params: list):
    relation = stage.sql(sql, params=params)
    return relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()  # DuckDB 2 | 1


def _counts(target, sql: str, params: list) -> dict[dt.date, int]:
    return {day: int(n) for day, n in target.execute(sql, params).fetchall()}


def publish_days_to_spark(stage, target, unit: LoadUnit, reports: list[IngestionReport]) -> None:
    """Replace the reported days of `unit` in Spark (target: a SparkConnection) with the staged days, in one write
    per table (dynamic partition overwrite: only the days written are replaced), then check Spark's counts."""
    session = target.session
    session.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    days = [r.partition_date for r in reports]
    for table, _, _ in _day_tables(unit):
        schema = session.table(table).schema
        selected = ", ".join("? as source" if f.name == "source" else f.name for f in schema.fields)
        arrow = _arrow(stage, f"select {selected} from {table}", [unit.name])
        written = {d for (d,) in stage.execute(f"select distinct partition_date from {table}").fetchall()}
        for day in sorted(set(days) - written):  # a day that is now empty: its old partition must go
            partition = f"source = {_literal(unit.name)}, partition_date = {_literal(day.isoformat())}"
            target.execute(f"alter table {table} drop if exists partition ({partition})")
        if arrow.num_rows:
            with rows_from_the_client(session):
                session.createDataFrame(arrow, schema=schema).write.insertInto(table, overwrite=True)
    where, params = "source = ? and partition_date between ? and ?", [unit.name, min(days), max(days)]
    loaded = _counts(
        target, f"select partition_date, count(*) from raw.{unit.contract.table} where {where} group by 1", params
    )
    quarantined = _counts(
        target,
        f"select partition_date, count(*) from raw.quarantine where {where} and record is not null group by 1",
        params,
    )
    for report in reports:
        day = report.partition_date
        held = (loaded.get(day, 0), quarantined.get(day, 0))
        if held != (report.rows_loaded, report.rows_quarantined):
            raise TransferMismatch(
                f"{unit.name} {day}: staged {report.rows_loaded} loaded / {report.rows_quarantined} quarantined rows, "
                f"Spark holds {held[0]} / {held[1]}; run the day again"
            )


def load_days_into_spark(
    target, raw_dir: Path, source: str | LoadUnit, days: list[dt.date]
) -> Iterator[IngestionReport]:
    """Stage the days in DuckDB, DAYS_PER_WRITE at a time, and publish them to Spark (`target`: an open
    SparkConnection); yields each day's report."""
    unit = native_unit(source) if isinstance(source, str) else source
    target.execute("create database if not exists raw")
    with staging_connection() as stage:
        for first in range(0, len(days), DAYS_PER_WRITE):
            reports = [load_day(stage, raw_dir, unit, day) for day in days[first : first + DAYS_PER_WRITE]]
            if first == 0:
                for statement in spark_raw_ddl(stage, target.file_format):
                    target.execute(statement)
            publish_days_to_spark(stage, target, unit, reports)
            for table, _, _ in _day_tables(unit):
                stage.execute(f"delete from {table}")
            yield from reports
