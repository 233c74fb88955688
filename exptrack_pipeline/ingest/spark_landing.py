"""The landing zone read by Spark itself: files from a URI, the contract checked in Spark SQL, days replaced.

The `spark` target's ingestion without DuckDB in between (ingest/spark_publish.py is the older path: DuckDB on the
Dagster machine reads and checks, Spark receives Arrow). For a batch of days of one load unit:

1. Spark lists the day folders under the landing URI and opens every file (ingest/spark_files.py);
2. each file's rows are staged in Spark SQL with the contract of ingest/contract.py — the same cleaning, the same
   CASE of reasons (rendered by ingest/spark_contract.py), the row as JSON for the quarantine — and the staged
   rows of the batch are cached in the Spark server;
3. per table one `insert overwrite ... partition (source = <unit>, partition_date)` (dynamic partition overwrite:
   exactly the days written are replaced; a day left without rows has its partition dropped): raw.<contract> gets
   the valid rows, the first copy (file, row) of each de-duplication key per day; raw.exposure_attributes the
   extra exposure columns; raw.quarantine the rejected rows with their reason and the files that could not be read;
4. rows loaded and quarantined are counted from what Spark then holds, rows read while staging, de-duplicated as
   valid rows minus distinct keys, and raw.ingestion_log gets rows read = loaded + quarantined + de-duplicated.

Spark on parquet has no transaction: a reader during step 3 can see a day missing (Delta: `replaceWhere` is one
commit). A failure before step 4 leaves the day's log from its previous load; re-running the day repairs it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import reduce
from typing import Any

from exptrack_pipeline.ingest.contract import SourceContract, clean_text_sql, raw_name
from exptrack_pipeline.ingest.loader import INTERNAL, REASON, IngestionReport, LoadUnit, ensure_raw_schema, native_unit
from exptrack_pipeline.ingest.publish import _day_tables, staging_connection
from exptrack_pipeline.ingest.spark_contract import literal, quote, reason_sql, timestamp_sql, value_sql
from exptrack_pipeline.ingest.spark_files import (
    CORRUPT,
    ROW,
    FileGroup,
    LandingFile,
    describe_file,
    discover_text_columns,
    group_frame,
    groups,
    list_files,
)
from exptrack_pipeline.ingest.spark_publish import PARTITION_COLUMNS, spark_raw_ddl
from exptrack_pipeline.warehouse.base import table_columns

READER_VAR = "EXPTRACK_SPARK_LANDING"
"""`spark` (default): Spark reads the landing zone; `duckdb`: DuckDB reads and checks, Spark receives
(ingest/spark_publish.py)."""
ID_COLUMNS = ("user_id", "anonymous_id", "device_id")
OPENERS = 8
JSON_OPTIONS = (
    "map('ignoreNullFields', 'false', 'timestampFormat', 'yyyy-MM-dd HH:mm:ssx', "
    "'timestampNTZFormat', 'yyyy-MM-dd HH:mm:ss')"
)
"""A quarantined row as JSON like DuckDB's to_json: nulls kept, timestamps as DuckDB prints them."""
DAYS_PER_BATCH = 31
"""Days staged and written together: every batch costs ~12 Spark statements whatever its size; the staged rows of a
batch are cached in the Spark server (a month of a large product's events is for a cluster, not a laptop)."""


def spark_reads(unit: LoadUnit) -> bool:
    """Whether Spark reads this unit's files itself: exptrack's own file format (a tool export's mapping reader and
    warehouse tables keep their DuckDB / in-place paths), unless EXPTRACK_SPARK_LANDING=duckdb."""
    setting = (os.environ.get(READER_VAR) or "spark").strip().lower()
    if setting not in ("spark", "duckdb"):
        raise ValueError(f"{READER_VAR}={setting!r}: expected spark or duckdb")
    return setting == "spark" and unit.reader is None and unit.table is None


def _day(day: dt.date) -> str:
    return f"date'{day.isoformat()}'"


def _corrupt_reason(count: int) -> str:
    """DuckDB's reason for a CSV line that does not split into the header's columns: its reader stops counting at
    the first column too many."""
    tokens = f"size(split({CORRUPT}, ',', -1))"
    return (
        f"case when {tokens} > {count} then 'malformed CSV line: too many columns (Expected Number of Columns: "
        f"{count} Found: {count + 1})' else 'malformed CSV line: missing columns (Expected Number of Columns: "
        f"{count} Found: ' || {tokens} || ')' end"
    )


def _group_rows(frame: Any, group: FileGroup, contract: SourceContract, extras: list[str]) -> Any:
    """A file group's rows staged: partition_date, source_file, source_row, the contract columns cleaned and typed,
    the extras as text, the reason (null when the row holds) and the row as JSON when it does not."""
    by_key = group.by_key
    ts = contract.timestamp_column
    inner = ["partition_date", "source_file", f"{ROW} as source_row"]
    for column in contract.core_columns:
        source = by_key[column][0] if column in by_key else "cast(null as string)"
        inner.append(f"cast({source} as string) as {raw_name(column)}")
    inner.append(f"{timestamp_sql(*by_key[ts])} as _ts" if ts in by_key else "cast(null as timestamp) as _ts")
    if "value" in contract.core_columns:
        value = value_sql(*by_key["value"]) if "value" in by_key else "cast(null as double)"
        inner.append(f"{value} as _value")
    inner += [f"cast({by_key[e][0] if e in by_key else 'null'} as string) as {quote(e)}" for e in extras]
    # the record as read (a typed parquet column keeps its type, as DuckDB's), in the file's own column order
    present = [
        (c, raw_name(c) if by_key[c][1] == "string" else by_key[c][0]) for c in contract.core_columns if c in by_key
    ]
    present += [(e, quote(e)) for e in by_key if e in extras]
    record = ", ".join(f"{literal(name)}, {column}" for name, column in present)
    record = f"to_json(named_struct({record}), {JSON_OPTIONS})" if record else "'{}'"
    line = f"substr(to_json(array({CORRUPT})), 2, length(to_json(array({CORRUPT}))) - 2)"
    inner.append(f"case when {CORRUPT} is not null then {line} else {record} end as _record")
    missing = contract.lacking(set(by_key))
    reason = f"'file lacks required column(s): {', '.join(missing)}'" if missing else reason_sql(contract)
    reason = f"case when {CORRUPT} is not null then {_corrupt_reason(len(by_key))} else {reason} end"
    outer = ["partition_date", *INTERNAL, *contract.text_columns, f"_ts as {ts}"]
    if "value" in contract.core_columns:
        outer.append("_value as value")
    outer += [quote(e) for e in extras]
    outer += [REASON, f"case when {REASON} is not null then _record end as _record"]
    return (
        frame.selectExpr(*inner, CORRUPT)
        .selectExpr("*", *(f"{clean_text_sql(raw_name(c))} as {c}" for c in contract.text_columns))
        .selectExpr("*", f"{reason} as {REASON}")
        .selectExpr(*outer)
    )


def _extras(file_groups: list[FileGroup], contract: SourceContract) -> list[str]:
    """Exposure attribute columns: every non-contract column of any file of the batch, in order of appearance."""
    if not contract.keeps_attributes:
        return []
    out: list[str] = []
    for group in file_groups:
        for key in group.by_key:
            internal = key in (*contract.core_columns, *INTERNAL, "ordinality") or key.startswith("_")
            if not internal and key not in out:
                out.append(key)
    return out


def _empty_stage(session: Any, contract: SourceContract, extras: list[str]) -> Any:
    types = {**dict.fromkeys(contract.text_columns, "string"), contract.timestamp_column: "timestamp"}
    if "value" in contract.core_columns:
        types["value"] = "double"
    columns = [
        "cast(null as date) as partition_date",
        "cast(null as string) as source_file",
        "cast(null as bigint) as source_row",
        *(f"cast(null as {t}) as {c}" for c, t in types.items()),
        *(f"cast(null as string) as {quote(e)}" for e in extras),
        f"cast(null as string) as {REASON}",
        "cast(null as string) as _record",
    ]
    return session.sql(f"select {', '.join(columns)} where false")


class _Batch:
    """One unit's batch of days staged in Spark (a cached temp view), written table by table."""

    def __init__(self, con: Any, stage_con: Any, unit: LoadUnit, days: list[dt.date], root: str, schema: str) -> None:
        self.con, self.session, self.unit, self.days, self.schema = con, con.session, unit, days, schema
        self.contract = unit.contract
        self.view = "_exptrack_staged_" + re.sub(r"\W", "_", unit.name)
        # the raw tables' columns in order (schema raw of the staging DuckDB: loader.RAW_DDL)
        self.columns = {t.split(".")[1]: table_columns(stage_con, t) for t, _, _ in _day_tables(unit)}
        self.files = list_files(self.session, root, unit, days)
        text_columns = discover_text_columns(self.session, self.files, unit)
        with ThreadPoolExecutor(OPENERS) as pool:  # a parquet footer is one round trip each: side by side
            list(pool.map(lambda file: describe_file(self.session, file, unit, text_columns), self.files))
        self.groups = groups(self.files)
        self.extras = _extras(self.groups, self.contract)

    def stage(self) -> dict[dt.date, tuple[int, int, int, int]]:
        """Cache the staged rows; per day (rows read, valid, distinct keys, valid rows with an attribute)."""
        frames = [
            _group_rows(group_frame(self.session, g, self.unit), g, self.contract, self.extras) for g in self.groups
        ]
        staged = reduce(lambda a, b: a.unionByName(b), frames) if frames else None
        (staged or _empty_stage(self.session, self.contract, self.extras)).createOrReplaceTempView(self.view)
        self.session.sql(f"cache lazy table {self.view}")  # filled by the count below, read by every write
        key = self.contract.dedup_key or "source_row"
        attributes = " or ".join(f"{quote(e)} is not null" for e in self.extras) or "false"
        rows = self.session.sql(
            f"select partition_date, count(*), count_if({REASON} is null), "
            f"count(distinct case when {REASON} is null then {key} end), "
            f"count_if({REASON} is null and ({attributes})) from {self.view} group by partition_date"
        ).collect()
        return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}

    def _replace(self, name: str, select: str, days_with_rows: set[dt.date]) -> None:
        """Replace the unit's batch days of table `name` with `select`'s rows (its columns: the table's,
        partition_date last); drop the partitions of the days that now have none."""
        table = f"{self.schema}.{name}"
        empty = [d for d in self.days if d not in days_with_rows]
        if empty:
            source = f"source = {literal(self.unit.name)}"
            specs = ", ".join(f"partition ({source}, partition_date = {_day(d)})" for d in empty)
            self.session.sql(f"alter table {table} drop if exists {specs}")
        if days_with_rows:
            self.session.sql(
                f"insert overwrite table {table} partition (source = {literal(self.unit.name)}, partition_date) "
                f"{select}"
            )

    def _data_columns(self, name: str) -> str:
        return ", ".join(c for c in self.columns[name] if c not in PARTITION_COLUMNS)

    def write(self, counts: dict[dt.date, tuple[int, int, int, int]], problems: list[LandingFile]) -> None:
        """raw.<contract>, raw.exposure_attributes and raw.quarantine for the batch's days (one thread each: the
        Spark server runs the writes side by side)."""
        contract, view = self.contract, self.view
        valid = f"select * from {view} where {REASON} is null"
        if contract.dedup_key:
            valid = (
                f"select * from (select *, row_number() over (partition by partition_date, {contract.dedup_key} "
                f"order by source_file, source_row) as _copy from {view} where {REASON} is null) where _copy = 1"
            )
        columns = self._data_columns(contract.table)
        jobs = [
            (contract.table, f"select {columns}, partition_date from ({valid})", {d for d, c in counts.items() if c[1]})
        ]
        rejected = (
            f"select source_file, source_row, {REASON}, _record, partition_date from {view} where {REASON} is not null"
        )
        whole = [
            f"({literal(f.relative)}, cast(null as bigint), {literal(f.problem)}, cast(null as string), {_day(f.day)})"
            for f in problems
        ]
        if whole:
            rejected += f" union all select * from values {', '.join(whole)}"
        jobs.append(("quarantine", rejected, {d for d, c in counts.items() if c[0] > c[1]} | {f.day for f in problems}))
        if contract.keeps_attributes:
            jobs.append(("exposure_attributes", self._attributes_sql(), {d for d, c in counts.items() if c[3]}))
        with ThreadPoolExecutor(len(jobs)) as pool:
            list(pool.map(lambda job: self._replace(*job), jobs))

    def _attributes_sql(self) -> str:
        """Every extra exposure column as (attribute, value) rows keyed by each id the exposure carries (nulls
        dropped): no row when the batch's files have no extra column."""
        if not self.extras:
            return "select 1 where false"
        ts = self.contract.timestamp_column
        values = ", ".join(quote(e) for e in self.extras)
        keyed = " union all ".join(
            f"select partition_date, {key} as user_id, experiment_id, {ts} as exposed_at, {values} from {self.view} "
            f"where {REASON} is null and {key} is not null"
            for key in ID_COLUMNS
        )
        return (
            "select user_id, experiment_id, exposed_at, attribute, value, partition_date from ("
            f"select * from ({keyed}) unpivot (value for attribute in ({values})))"
        )

    def close(self) -> None:
        """Drop the cached staged rows from the server's memory."""
        self.session.sql(f"uncache table if exists {self.view}")  # the view itself is replaced by the next batch


def _held(con: Any, unit: LoadUnit, days: list[dt.date], schema: str) -> tuple[dict, dict]:
    """What Spark now holds for the days (one query): rows loaded per day, and per day {reason: count} of the
    quarantine (entries with a record are quarantined rows; a whole file's entry counts only as a reason)."""
    where = f"source = {literal(unit.name)} and partition_date between {_day(min(days))} and {_day(max(days))}"
    rows = con.execute(
        f"select partition_date, cast(null as string), count(*), 0 from {schema}.{unit.contract.table} "
        f"where {where} group by 1 union all "
        f"select partition_date, regexp_replace(reason, ': .*', ''), count(*), count(record) "
        f"from {schema}.quarantine where {where} group by 1, 2"
    ).fetchall()
    loaded: dict[dt.date, int] = {}
    quarantine: dict[dt.date, dict] = {}
    for day, reason, count, records in rows:
        if reason is None:
            loaded[day] = int(count)
            continue
        entry = quarantine.setdefault(day, {"reasons": {}, "rows": 0})
        entry["reasons"][reason] = int(count)
        entry["rows"] += int(records)
    return loaded, quarantine


def _load_batch(
    con: Any, stage_con: Any, root: str, unit: LoadUnit, days: list[dt.date], schema: str
) -> list[IngestionReport]:
    """Stage, write and count one batch of days; the ingestion log last (its rows are the day's receipt)."""
    batch = _Batch(con, stage_con, unit, days, root, schema)
    try:
        counts = batch.stage()
        problems = [f for f in batch.files if f.problem is not None]
        batch.write(counts, problems)
    finally:
        batch.close()
    loaded, quarantine = _held(con, unit, days, schema)
    reports = []
    for day in days:
        read, valid, distinct, _ = counts.get(day, (0, 0, 0, 0))
        held = quarantine.get(day, {"reasons": {}, "rows": 0})
        report = IngestionReport(
            source=unit.name,
            partition_date=day,
            files=[f.relative for f in batch.files if f.day == day],
            rows_read=read,
            rows_loaded=int(loaded.get(day, 0)),
            rows_quarantined=held["rows"],
            rows_deduplicated=valid - distinct if unit.contract.dedup_key else 0,
            quarantine_reasons=dict(sorted(held["reasons"].items())),
            file_problems={f.relative: f.problem for f in problems if f.day == day},
        )
        reports.append(report)
    rows = ", ".join(
        f"({len(r.files)}, {r.rows_read}, {r.rows_loaded}, {r.rows_quarantined}, {r.rows_deduplicated}, "
        f"{_day(r.partition_date)})"
        for r in reports
    )
    con.execute(
        f"insert overwrite table {schema}.ingestion_log partition (source = {literal(unit.name)}, partition_date) "
        f"select * from values {rows}"
    )
    return reports


def load_days_from_landing(
    con: Any, root: str, source: str | LoadUnit, days: list[dt.date], schema: str = "raw"
) -> Iterator[IngestionReport]:
    """Load the days of `source` from the landing URI `root` into Spark (`con`: a SparkConnection), DAYS_PER_BATCH
    days per batch; yields each day's report. `schema`: the Spark database of the raw tables."""
    unit = native_unit(source) if isinstance(source, str) else source
    con.execute(f"create database if not exists {schema}")
    con.session.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    with staging_connection() as stage_con:  # only for the raw tables' DDL (loader.RAW_DDL, derived once)
        ensure_raw_schema(stage_con)
        existing = {row[1] for row in con.execute(f"show tables in {schema}").fetchall()}
        for statement in spark_raw_ddl(stage_con, con.file_format):
            name = statement.split(" raw.", 1)[1].split(" ", 1)[0]
            if name not in existing:
                con.execute(statement.replace(" raw.", f" {schema}.", 1))
        for first in range(0, len(days), DAYS_PER_BATCH):
            yield from _load_batch(con, stage_con, root, unit, sorted(days)[first : first + DAYS_PER_BATCH], schema)
