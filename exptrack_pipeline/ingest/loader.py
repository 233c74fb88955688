"""Replace one day of one source in the warehouse, atomically.

rows read = rows loaded + rows quarantined + rows de-duplicated, recorded per source and day in raw.ingestion_log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from exptrack_pipeline.ingest.contract import CONTRACTS, READERS, SourceContract, rejection_reason_sql

SOURCES = tuple(CONTRACTS)
INTERNAL = ("source_file", "source_row")

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.exposures (
    partition_date date, source_file varchar, source_row bigint,
    user_id varchar, experiment_id varchar, variant varchar, exposed_at timestamp);
create table if not exists raw.exposure_attributes (
    partition_date date, user_id varchar, experiment_id varchar, exposed_at timestamp,
    attribute varchar, value varchar);
create table if not exists raw.events (
    partition_date date, source_file varchar, source_row bigint,
    event_id varchar, user_id varchar, event_name varchar, occurred_at timestamp, value double, session_id varchar);
create table if not exists raw.quarantine (
    source varchar, partition_date date, source_file varchar, source_row bigint, reason varchar, record varchar);
create table if not exists raw.ingestion_log (
    source varchar, partition_date date, files_read integer, rows_read bigint, rows_loaded bigint,
    rows_quarantined bigint, rows_deduplicated bigint);
"""


@dataclass
class IngestionReport:
    source: str
    partition_date: dt.date
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_deduplicated: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.rows_deduplicated


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)


def day_folder(raw_dir: Path, source: str, day: dt.date) -> Path:
    return raw_dir / source / f"date={day.isoformat()}"


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _stage_file(con: duckdb.DuckDBPyConnection, path: Path, relative: str, table: str, contract: SourceContract) -> str | None:
    """Read one file into a text-typed temp table; return why the whole file was quarantined, or None."""
    reader = READERS[path.suffix.lower()].format(path=_quote(path))
    try:
        con.execute(
            f"create or replace temp table {table} as "
            f"select columns(*)::varchar, ? as source_file, row_number() over () as source_row from {reader}",
            [relative],
        )
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        return f"unreadable file: {first_line}"
    columns = {row[0] for row in con.execute(f"describe {table}").fetchall()}
    missing = [c for c in contract.required if c not in columns]
    for column in contract.optional:
        if column not in columns:
            con.execute(f"alter table {table} add column {column} varchar")
    if missing:
        return f"file lacks required column(s): {', '.join(missing)}"
    return None


def load_day(con: duckdb.DuckDBPyConnection, raw_dir: Path, source: str, day: dt.date) -> IngestionReport:
    """Load every file of `<raw_dir>/<source>/date=<day>/` and replace that day in raw.<source> in one transaction."""
    contract = CONTRACTS[source]
    report = IngestionReport(source=source, partition_date=day)
    folder = day_folder(raw_dir, source, day)
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in READERS) if folder.is_dir() else []
    con.execute("set TimeZone = 'UTC'")
    ensure_raw_schema(con)

    staged: list[str] = []
    con.execute(
        "create or replace temp table _quarantine (source varchar, partition_date date, source_file varchar, "
        "source_row bigint, reason varchar, record varchar)"
    )
    for index, path in enumerate(files):
        relative = str(path.relative_to(raw_dir))
        report.files.append(relative)
        table = f"_file_{index}"
        problem = _stage_file(con, path, relative, table, contract)
        if problem is None:
            staged.append(table)
            continue
        rows = 0
        if problem.startswith("file lacks"):
            rows = con.execute(f"select count(*) from {table}").fetchone()[0]
            con.execute(
                f"insert into _quarantine select ?, ?, source_file, source_row, ?, to_json({table}) from {table}",
                [source, day, problem],
            )
        if rows == 0:
            con.execute("insert into _quarantine values (?, ?, ?, null, ?, null)", [source, day, relative, problem])

    reason_sql = rejection_reason_sql(contract)
    if staged:
        union = " union all by name ".join(f"select * from {t}" for t in staged)
        con.execute(f"create or replace temp table _staged as select *, {reason_sql} as _reason from ({union}) as u")
    else:
        cols = ", ".join(f"null::varchar as {c}" for c in contract.core_columns + INTERNAL)
        con.execute(f"create or replace temp table _staged as select {cols}, null::varchar as _reason where false")

    report.rows_read = con.execute("select count(*) from _staged").fetchone()[0] + con.execute(
        "select count(*) from _quarantine where source_row is not null"
    ).fetchone()[0]
    con.execute(
        "insert into _quarantine select ?, ?, source_file, source_row, _reason, to_json(s) from _staged as s where _reason is not null",
        [source, day],
    )

    order = "order by source_file, source_row"
    if contract.dedup_key:
        con.execute(
            f"create or replace temp table _accepted as select * from ("
            f"select *, row_number() over (partition by {contract.dedup_key} {order}) as _copy "
            f"from _staged where _reason is null) where _copy = 1"
        )
    else:
        con.execute("create or replace temp table _accepted as select * from _staged where _reason is null")

    ts = contract.timestamp_column
    typed = {
        ts: f"timezone('UTC', cast({ts} as timestamptz))",
        "value": "try_cast(nullif(trim(value), '') as double)",
    }
    select_core = ", ".join(f"{typed.get(c, c)} as {c}" for c in contract.core_columns)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{source} where partition_date = ?", [day])
        con.execute(
            f"insert into raw.{source} (partition_date, source_file, source_row, {', '.join(contract.core_columns)}) "
            f"select ?, source_file, source_row, {select_core} from _accepted {order}",
            [day],
        )
        if contract.keeps_attributes:
            _replace_attributes(con, day, contract)
        con.execute("delete from raw.quarantine where source = ? and partition_date = ?", [source, day])
        con.execute("insert into raw.quarantine select * from _quarantine order by source_file, source_row")
        report.rows_loaded = con.execute("select count(*) from _accepted").fetchone()[0]
        report.rows_quarantined = con.execute("select count(*) from _quarantine where source_row is not null").fetchone()[0]
        report.rows_deduplicated = report.rows_read - report.rows_loaded - report.rows_quarantined
        con.execute("delete from raw.ingestion_log where source = ? and partition_date = ?", [source, day])
        con.execute(
            "insert into raw.ingestion_log values (?, ?, ?, ?, ?, ?, ?)",
            [source, day, len(files), report.rows_read, report.rows_loaded, report.rows_quarantined, report.rows_deduplicated],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    report.quarantine_reasons = dict(
        con.execute("select reason, count(*) from _quarantine group by reason order by reason").fetchall()
    )
    return report


def _replace_attributes(con: duckdb.DuckDBPyConnection, day: dt.date, contract: SourceContract) -> None:
    """Keep every extra exposure column as a (attribute, value) row for segment analysis."""
    columns = [row[0] for row in con.execute("describe _accepted").fetchall()]
    extras = [c for c in columns if c not in contract.core_columns + INTERNAL and not c.startswith("_")]
    con.execute("delete from raw.exposure_attributes where partition_date = ?", [day])
    ts = f"timezone('UTC', cast({contract.timestamp_column} as timestamptz))"
    for column in extras:
        con.execute(
            f"insert into raw.exposure_attributes select ?, user_id, experiment_id, {ts}, ?, \"{column}\" "
            f"from _accepted where \"{column}\" is not null order by source_file, source_row",
            [day, column],
        )
