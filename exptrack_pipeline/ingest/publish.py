"""Loading the landing zone into a server warehouse (PostgreSQL): DuckDB reads and checks, the server receives.

DuckDB stays the file reader and contract checker (Parquet, CSV and JSON lines, per-line quarantine): each day is
staged by :func:`load_day` in an in-memory DuckDB whose `raw` tables hold that day only. The day's rows then go
to the warehouse with `COPY` inside one transaction that deletes and re-inserts the day in raw.<source>,
raw.exposure_attributes, raw.quarantine, raw.ingestion_log and raw.partition_fingerprints (the change log, with the
fingerprint DuckDB took of the staged day) — a re-run replaces the day, a failure leaves the
previous version. Before the commit the warehouse's own counts for the day must equal the staged ones, so
raw.ingestion_log's rows read = loaded + quarantined + de-duplicated holds for what the warehouse holds.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from exptrack_pipeline.ingest.loader import RAW_DDL, IngestionReport, LoadUnit, load_day, native_unit
from exptrack_pipeline.warehouse.base import table_columns


class TransferMismatch(RuntimeError):
    """The warehouse holds a different number of rows for the day than were staged (nothing was committed)."""


def _day_tables(unit: LoadUnit) -> list[tuple[str, str, list]]:
    """(table, where clause, params before the day) of everything one unit's day owns in schema raw."""
    mine = f"coalesce(source, '{unit.contract.name}') = ? and partition_date = ?"
    tables = [(f"raw.{unit.contract.table}", mine)]
    if unit.contract.keeps_attributes:
        tables.append(("raw.exposure_attributes", mine))
    tables += [
        ("raw.quarantine", "source = ? and partition_date = ?"),
        ("raw.ingestion_log", "source = ? and partition_date = ?"),
        ("raw.partition_fingerprints", "source = ? and partition_date = ?"),
    ]
    return [(t, where, [unit.name]) for t, where in tables]


@contextmanager
def staging_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB for reading and checking landing files (spills to a temp dir beyond its memory limit)."""
    with tempfile.TemporaryDirectory(prefix="exptrack-stage-") as spill:
        con = duckdb.connect(config={"memory_limit": "1GB", "temp_directory": spill})
        try:
            yield con
        finally:
            con.close()


def ensure_raw_tables(target) -> None:
    """Create schema raw and its tables in the warehouse when missing (the same DDL DuckDB gets)."""
    for statement in (s.strip() for s in RAW_DDL.split(";")):
        if statement:
            target.execute(statement)


def publish_day(
    stage: duckdb.DuckDBPyConnection, target, unit: LoadUnit, day: dt.date, report: IngestionReport
) -> None:
    """Replace `day` of `unit` in the warehouse connection `target` with the staged day, in one transaction."""
    source, table_name = unit.name, unit.contract.table
    with tempfile.TemporaryDirectory(prefix="exptrack-copy-") as folder:
        plan = []
        for table, where, extra in _day_tables(unit):
            columns = table_columns(stage, table)
            path = Path(folder) / f"{table}.csv"
            stage.execute(f"copy (select {', '.join(columns)} from {table}) to '{path}' (format csv, header false)")
            plan.append((table, where, [*extra, day], columns, path))
        target.execute("begin transaction")
        try:
            for table, where, params, columns, path in plan:
                target.execute(f"delete from {table} where {where}", params)
                with path.open(newline="", encoding="utf-8") as stream:
                    target.copy_csv(table, columns, stream)
            loaded = target.execute(
                f"select count(*) from raw.{table_name} where {_day_tables(unit)[0][1]}", [source, day]
            ).fetchone()[0]
            quarantined = target.execute(
                "select count(*) from raw.quarantine where source = ? and partition_date = ? and record is not null",
                [source, day],
            ).fetchone()[0]
            if (int(loaded), int(quarantined)) != (report.rows_loaded, report.rows_quarantined):
                raise TransferMismatch(
                    f"{source} {day}: staged {report.rows_loaded} loaded / {report.rows_quarantined} quarantined rows, "
                    f"the warehouse holds {loaded} / {quarantined}; nothing was committed"
                )
            target.execute("commit")
        except BaseException:
            target.execute("rollback")
            raise


def load_days_into_server(
    target, raw_dir: Path, source: str | LoadUnit, days: list[dt.date]
) -> Iterator[IngestionReport]:
    """Stage each day in DuckDB and publish it to `target` (an open PgConnection); yields each day's report."""
    unit = native_unit(source) if isinstance(source, str) else source
    ensure_raw_tables(target)
    with staging_connection() as stage:
        for day in days:
            report = load_day(stage, raw_dir, unit, day)
            publish_day(stage, target, unit, day, report)
            for table, _, _ in _day_tables(unit):
                stage.execute(f"delete from {table}")
            yield report
