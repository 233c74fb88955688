"""Replace one day of one source in the warehouse, atomically.

rows read = rows loaded + rows quarantined + rows de-duplicated, recorded per source and day in raw.ingestion_log.
The four numbers are measured independently: rows read while staging the files, rows loaded and quarantined by
counting what the warehouse holds for the day after the replace, duplicates as valid rows minus distinct keys.
A fault that loses or doubles rows anywhere in between breaks the equation (the `rows_conserved` asset check).

Staging (reading and checking the files) happens in temporary tables outside any transaction; the replace of the
day in raw.<source>, raw.exposure_attributes, raw.quarantine and raw.ingestion_log is one transaction, so a run
killed half-way leaves the previous version of the day (or nothing) behind, never a mix.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from exptrack_pipeline.ingest.contract import (
    CONTRACTS,
    SourceContract,
    clean_text_sql,
    ident,
    raw_name,
    rejection_reason_sql,
    timestamp_sql,
    value_sql,
)
from exptrack_pipeline.ingest.units import LoadUnit, day_folder, native_unit  # noqa: F401 (re-exported)

SOURCES = tuple(CONTRACTS)
INTERNAL = ("source_file", "source_row")
REASON = "_reason"
SOURCE_RECORD = "_source_record"

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
    event_id varchar, user_id varchar, event_name varchar, occurred_at timestamp, value double precision, session_id
        varchar);
create table if not exists raw.identities (
    partition_date date, source_file varchar, source_row bigint,
    user_id varchar, anonymous_id varchar, identified_at timestamp, device_id varchar);
create table if not exists raw.quarantine (
    source varchar, partition_date date, source_file varchar, source_row bigint, reason varchar, record varchar);
create table if not exists raw.ingestion_log (
    source varchar, partition_date date, files_read integer, rows_read bigint, rows_loaded bigint,
    rows_quarantined bigint, rows_deduplicated bigint);
create table if not exists raw.partition_fingerprints (
    source varchar, partition_date date, table_name varchar, row_count bigint, row_hash_sum varchar);
alter table raw.exposures add column if not exists anonymous_id varchar;
alter table raw.exposures add column if not exists device_id varchar;
alter table raw.exposures add column if not exists source varchar;
alter table raw.exposure_attributes add column if not exists source varchar;
alter table raw.events add column if not exists anonymous_id varchar;
alter table raw.events add column if not exists device_id varchar;
alter table raw.events add column if not exists source varchar;
alter table raw.identities add column if not exists source varchar;
"""
"""raw.quarantine: a row-level entry has the row as JSON in `record` (source_row: the row's ordinal in its file, or
for a CSV line that could not be parsed, its line number); a file-level entry (unreadable file, unsupported file
type) has `record` null and counts no rows. Rows of raw.exposures, raw.exposure_attributes, raw.events and
raw.identities carry the `source` (load unit) that wrote them: each source's day is replaced on its own; rows written
before that column existed belong to the native source of their table. raw.partition_fingerprints is the loader's
change log: per source, day and table, the row count and sum of 64-bit row hashes of the rows it wrote, so dbt learns
which partitions changed without hashing every event each run (int_event_partition_fingerprints)."""


class FileProblem(Exception):
    """A whole file cannot be read; the message is the quarantine reason."""


@dataclass
class IngestionReport:
    """What loading one source's day did: files, rows read, loaded, quarantined and deduplicated."""

    source: str
    partition_date: dt.date
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_deduplicated: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    file_problems: dict[str, str] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        """True when every row read is loaded, quarantined or deduplicated."""
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.rows_deduplicated


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and tables when missing."""
    con.execute(RAW_DDL)


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# --------------------------------------------------------------------------------------------------- reading files


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FileProblem(f"unreadable file: {_first_line(exc)}") from None
    if not header:
        raise FileProblem("unreadable file: empty file (no header row)")
    return header


def _reader(con: duckdb.DuckDBPyConnection, path: Path, rejects: str) -> tuple[str, dict[str, str]]:
    """(table function reading the file, {column name as written: its type}); CSV and JSON columns are all text."""
    suffix = path.suffix.lower()
    p = _literal(str(path))
    try:
        if suffix == ".parquet":
            reader = f"read_parquet({p}, hive_partitioning = false)"
            return f"{reader} with ordinality", {
                r[0]: r[1] for r in con.execute(f"describe select * from {reader}").fetchall()
            }
        if suffix == ".csv":
            names = _csv_header(path)
            if len(set(names)) != len(names):
                raise FileProblem(f"unreadable file: duplicate column names in the header {names}")
            columns = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names) + "}"
            reader = (
                f"read_csv({p}, auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"', "
                f"columns = {columns}, hive_partitioning = false, store_rejects = true, "
                f"rejects_table = '{rejects}', rejects_scan = '{rejects}_scan') with ordinality"
            )
            return reader, dict.fromkeys(names, "VARCHAR")
        # JSON lines: every key of any object is a column; a line that is not an object becomes an all-null row
        keys = con.execute(
            f"select distinct unnest(json_keys(json)) from read_ndjson_objects({p}, ignore_errors = true, "
            "hive_partitioning = false)"
        ).fetchall()
        names = sorted(k[0] for k in keys)
        if not names:
            return f"read_ndjson_objects({p}, ignore_errors = true, hive_partitioning = false) with ordinality", {}
        columns = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names) + "}"
        reader = (
            f"read_json({p}, format = 'newline_delimited', columns = {columns}, ignore_errors = true, "
            "hive_partitioning = false)"
        )
        return f"{reader} with ordinality", dict.fromkeys(names, "VARCHAR")
    except duckdb.Error as exc:
        raise FileProblem(f"unreadable file: {_first_line(exc)}") from None


def _normalise(names: list[str]) -> dict[str, str]:
    """Contract name (trimmed, lower case) → the file's column name; a clash is a file problem."""
    out: dict[str, str] = {}
    for name in names:
        key = name.strip().lower()
        if key in out:
            raise FileProblem(f"unreadable file: columns {out[key]!r} and {name!r} mean the same column")
        out[key] = name
    return out


def staging_sql(
    contract: SourceContract, relative: str, relation: str, types: dict[str, str], extras: list[str]
) -> str:
    """One pass over a file: raw text, cleaned and typed contract columns, extras, the reason and (rejected rows
    only) the row as JSON (or the record as read, `_source_record`), ready for `insert into _staged by name`."""
    by_key = _normalise([t for t in types if t != SOURCE_RECORD])
    ts = contract.timestamp_column
    inner = [f"{_literal(relative)} as source_file", "ordinality as source_row"]
    for column in contract.core_columns:
        source = ident(by_key[column]) if column in by_key else "null::varchar"
        # text columns as text; the timestamp and value keep their file type (cast to text only in messages)
        inner.append(
            f"cast({source} as varchar) as {raw_name(column)}"
            if column in contract.text_columns
            else f"{source} as {raw_name(column)}"
        )
    inner.append(
        f"{timestamp_sql(ident(by_key[ts]), types[by_key[ts]])} as _ts" if ts in by_key else "null::timestamp as _ts"
    )
    if "value" in contract.core_columns:
        inner.append(
            f"{value_sql(ident(by_key['value']), types[by_key['value']])} as _value"
            if "value" in by_key
            else "null::double as _value"
        )
    inner += [f"cast({ident(by_key[e])} as varchar) as {ident(e)}" for e in extras]
    if SOURCE_RECORD in types:
        inner.append(SOURCE_RECORD)
    middle = [f"{clean_text_sql(raw_name(c))} as {c}" for c in contract.text_columns]
    missing = contract.lacking(set(by_key))
    reason = f"'file lacks required column(s): {', '.join(missing)}'" if missing else rejection_reason_sql(contract)
    record = "struct_pack(" + ", ".join(f"{ident(c)} := {raw_name(c)}" for c in contract.core_columns if c in by_key)
    record += "".join(f", {ident(e)} := {ident(e)}" for e in extras) + ")"
    outer = ["source_file", "source_row", *contract.text_columns, f"_ts as {ts}"]
    if "value" in contract.core_columns:
        outer.append("_value as value")
    outer += [ident(e) for e in extras]
    record = SOURCE_RECORD if SOURCE_RECORD in types else f"to_json({record if by_key else 'null'})"
    outer += [REASON, f"case when {REASON} is not null then cast({record} as varchar) end as _record"]
    return (
        f"select {', '.join(outer)} from ("
        f"select *, {reason} as {REASON} from ("
        f"select *, {', '.join(middle)} from ("
        f"select {', '.join(inner)} from {relation})))"
    )


class _Stage:
    """One day's files in temp table `_staged` (cleaned, typed), every row with the reason it breaks the contract."""

    def __init__(self, con: duckdb.DuckDBPyConnection, unit: LoadUnit, day: dt.date, scratch: Path) -> None:
        contract = unit.contract
        self.con, self.unit, self.contract, self.source, self.day, self.scratch = (
            con,
            unit,
            contract,
            unit.name,
            day,
            scratch,
        )
        self.extras: list[str] = []
        self.rows_read = 0
        cols = ", ".join(f"{c} {t}" for c, t in contract.warehouse_types.items())
        con.execute(
            f"create or replace temp table _staged (source_file varchar, source_row bigint, {cols}, {REASON} "
            "varchar, _record varchar)"
        )
        con.execute(
            "create or replace temp table _quarantine (source varchar, partition_date date, source_file varchar, "
            "source_row bigint, reason varchar, record varchar)"
        )

    def _file_problem(self, relative: str, reason: str) -> None:
        self.con.execute(
            "insert into _quarantine values (?, ?, ?, null, ?, null)", [self.source, self.day, relative, reason]
        )

    def add_file(self, path: Path, relative: str, index: int) -> str | None:
        """Stage one file; return the reason when the file as a whole could not be loaded."""
        con, contract = self.con, self.contract
        suffixes = self.unit.suffixes
        if not self.unit.table and not path.name.lower().endswith(suffixes):
            reason = f"unsupported file type {path.suffix or '(none)'}: expected one of {', '.join(suffixes)}"
            self._file_problem(relative, reason)
            return reason
        rejects = f"_rejects_{index}"
        try:
            if self.unit.reader is not None:
                reader, types = self.unit.reader(con, path, self.scratch / str(index), self.day)
            else:
                reader, types = _reader(con, path, rejects)
            by_key = _normalise(list(types))
        except FileProblem as problem:
            self._file_problem(relative, str(problem))
            return str(problem)
        extras = []
        if contract.keeps_attributes:
            extras = [
                k
                for k in by_key
                if k not in contract.core_columns + INTERNAL + ("ordinality",) and not k.startswith("_")
            ]
            for extra in extras:
                if extra not in self.extras:
                    con.execute(f"alter table _staged add column {ident(extra)} varchar")
                    self.extras.append(extra)
        try:
            staged = con.execute(
                f"insert into _staged by name {staging_sql(contract, relative, reader, types, extras)}"
            ).fetchone()[0]
        except duckdb.Error as exc:
            reason = f"unreadable file: {_first_line(exc)}"
            self._file_problem(relative, reason)
            return reason
        self.rows_read += staged
        if path.suffix.lower() == ".csv":
            self.rows_read += self._csv_rejects(relative, rejects)
        return None

    def _csv_rejects(self, relative: str, rejects: str) -> int:
        """Quarantine CSV lines the reader could not split into the header's columns; return how many."""
        try:
            self.con.execute(f"select 1 from {rejects} limit 0")
        except duckdb.Error:
            return 0
        n = self.con.execute(
            f"insert into _quarantine select ?, ?, ?, line, 'malformed CSV line: ' || lower(min(error_type)) || "
            f"' (' || min(error_message) || ')', to_json(min(csv_line)) from {rejects} group by line",
            [self.source, self.day, relative],
        ).fetchone()[0]
        self.con.execute(f"drop table if exists {rejects}")
        self.con.execute(f"drop table if exists {rejects}_scan")
        return n


# ---------------------------------------------------------------------------------------------------- the replace


def _accepted_sql(contract: SourceContract) -> str:
    """The day's rows that go into raw.<source>: valid, and the first copy (file, row order) of each key."""
    columns = ", ".join(contract.core_columns)
    valid = f"select * from _staged where {REASON} is null"
    if contract.dedup_key:
        # duplicates are rare: find the keys that repeat and their first copy, keep every other row as it is
        # (a hash aggregate and a small join instead of a window over the whole day)
        key = contract.dedup_key
        valid = (
            f"select s.* from _staged as s left join ("
            f"select {key}, min(struct_pack(f := source_file, r := source_row)) as first_copy from _staged "
            f"where {REASON} is null group by {key} having count(*) > 1) as d on s.{key} = d.{key} "
            f"where s.{REASON} is null and (d.{key} is null or (s.source_file = d.first_copy.f and "
            "s.source_row = d.first_copy.r))"
        )
    return f"select ? as partition_date, source_file, source_row, {columns} from ({valid})"


def _insert_rows(con: duckdb.DuckDBPyConnection, source: str, contract: SourceContract, day: dt.date) -> None:
    """The day's accepted rows into raw.<table>, marked with their source (load unit)."""
    columns = ", ".join(("partition_date", *INTERNAL, *contract.core_columns))
    con.execute(
        f"insert into raw.{contract.table} ({columns}, source) select *, ? from ({_accepted_sql(contract)})",
        [source, day],
    )


def _insert_attributes(con: duckdb.DuckDBPyConnection, unit: LoadUnit, day: dt.date, extras: list[str]) -> None:
    """Every extra exposure column as (attribute, value) rows for segment analysis; nulls are dropped."""
    if not extras:
        return
    values = ", ".join(ident(e) for e in extras)
    ts = unit.contract.timestamp_column
    # keyed by every id the exposure carries (user, anonymous, device): the experiment's unit picks its own in dbt
    keyed = " union all ".join(
        f"select {key} as user_id, experiment_id, {ts}, {values} from _staged where {REASON} is null and {key} "
        "is not null"
        for key in ("user_id", "anonymous_id", "device_id")
    )
    con.execute(
        "insert into raw.exposure_attributes (partition_date, user_id, experiment_id, exposed_at, attribute, "
        "value, source) "
        f"select ?, user_id, experiment_id, {ts}, attribute, value, ? from ("
        f"unpivot ({keyed}) on {values} into name attribute value value)",
        [day, unit.name],
    )


def _record_fingerprint(con: duckdb.DuckDBPyConnection, unit: LoadUnit, day: dt.date) -> int:
    """Count and fingerprint the unit's day as raw.<table> now holds it (one pass over that day's rows only), record
    both in raw.partition_fingerprints and return the count."""
    table = unit.contract.table
    columns = ", ".join(("partition_date", *INTERNAL, *unit.contract.core_columns))
    rows, hash_sum = con.execute(
        f"select count(*), cast(sum(hash({columns})) as varchar) from raw.{table} where {unit.slice_sql}",
        [day, unit.name],
    ).fetchone()
    con.execute(
        "delete from raw.partition_fingerprints where source = ? and partition_date = ? and table_name = ?",
        [unit.name, day, table],
    )
    con.execute(
        "insert into raw.partition_fingerprints values (?, ?, ?, ?, ?)", [unit.name, day, table, rows, hash_sum]
    )
    return rows


def load_day(con: duckdb.DuckDBPyConnection, raw_dir: Path, source: str | LoadUnit, day: dt.date) -> IngestionReport:
    """Load every file of `<raw_dir>/<folder>/date=<day>/` and replace that day of the source in one transaction."""
    unit = native_unit(source) if isinstance(source, str) else source
    report = IngestionReport(source=unit.name, partition_date=day)
    files = unit.inputs(raw_dir, day)
    con.execute("set TimeZone = 'UTC'")
    ensure_raw_schema(con)
    scratch = Path(tempfile.mkdtemp(prefix="exptrack-unpack-"))
    try:
        stage = _Stage(con, unit, day, scratch)
        for index, (path, relative) in enumerate(files):
            report.files.append(relative)
            problem = stage.add_file(path, relative, index)
            if problem:
                report.file_problems[relative] = problem
        _replace_day(con, unit, day, stage, report, len(files))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report.quarantine_reasons = dict(
        con.execute(
            "select regexp_replace(reason, ': .*', '') as reason, count(*) from _quarantine group by 1 order by 1"
        ).fetchall()
    )
    con.execute("drop table if exists _staged")
    con.execute("drop table if exists _quarantine")
    return report


def _replace_day(
    con: duckdb.DuckDBPyConnection, unit: LoadUnit, day: dt.date, stage: _Stage, report: IngestionReport, files: int
) -> None:
    """Quarantine the rejected rows and replace the unit's day in its raw tables and the log, in one transaction."""
    contract, source = unit.contract, unit.name
    con.execute(
        f"insert into _quarantine select ?, ?, source_file, source_row, {REASON}, _record from _staged where "
        f"{REASON} is not null",
        [source, day],
    )
    duplicates = 0
    if contract.dedup_key:
        key = contract.dedup_key
        duplicates = con.execute(
            f"select count(*) - count(distinct {key}) from _staged where {REASON} is null"
        ).fetchone()[0]

    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{contract.table} where {unit.slice_sql}", [day, source])
        _insert_rows(con, source, contract, day)
        if contract.keeps_attributes:
            con.execute(f"delete from raw.exposure_attributes where {unit.slice_sql}", [day, source])
            _insert_attributes(con, unit, day, stage.extras)
        con.execute("delete from raw.quarantine where source = ? and partition_date = ?", [source, day])
        con.execute("insert into raw.quarantine select * from _quarantine order by source_file, source_row")
        report.rows_read = stage.rows_read
        report.rows_loaded = _record_fingerprint(con, unit, day)
        report.rows_quarantined = con.execute(
            "select count(*) from raw.quarantine where source = ? and partition_date = ? and record is not null",
            [source, day],
        ).fetchone()[0]
        report.rows_deduplicated = duplicates
        con.execute("delete from raw.ingestion_log where source = ? and partition_date = ?", [source, day])
        con.execute(
            "insert into raw.ingestion_log values (?, ?, ?, ?, ?, ?, ?)",
            [
                source,
                day,
                files,
                report.rows_read,
                report.rows_loaded,
                report.rows_quarantined,
                report.rows_deduplicated,
            ],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
