"""A warehouse table (or view) read in place on PostgreSQL: one day of one load unit, all in the server's SQL.

The DuckDB warehouse reads a table source through the loader (ingest/loader.py: the mapped reader is a select over
the table). A PostgreSQL warehouse cannot be seen by the loader's in-memory DuckDB, so the same load runs in
PostgreSQL instead, with the same steps and the same results:

1. the day's rows (`day_column` cast to a UTC date) as records `j` = to_jsonb(row), numbered in scan order;
2. the mapping's fields as text (postgres_mapping.py, the PostgreSQL rendering of mapping.py's field specs);
3. the contract's cleaning and checks (ingest/contract.py: null tokens, a UTC timestamp, a finite value, the first
   reason a row breaks the contract) — the same CASE as on DuckDB;
4. in one transaction: the unit's day deleted from raw.<contract>, raw.exposure_attributes, raw.quarantine and
   raw.ingestion_log, then the valid rows (the first copy of each de-duplication key, by row number), the
   attributes, the rejected rows with their reason and the row as JSON, and the counts
   rows read = loaded + quarantined + de-duplicated.

No row passes through Python. A table with rows that have no `day_column` is refused for the day (recorded in the
quarantine), as on DuckDB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from exptrack_pipeline.ingest.contract import clean_text_sql, ident, raw_name, rejection_reason_sql
from exptrack_pipeline.ingest.loader import REASON, IngestionReport, LoadUnit
from exptrack_pipeline.ingest.publish import ensure_raw_tables
from exptrack_pipeline.sources.config import SourcesError
from exptrack_pipeline.sources.mapping import literal
from exptrack_pipeline.sources.postgres_mapping import FUNCTIONS, pg_field_sql

NOT_FINITE = "_value in ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8)"


def staged_sql(unit: LoadUnit) -> str:
    """The day's rows of the unit's table, mapped, cleaned and checked (param: the day), like the loader's `_staged`."""
    contract, mapping = unit.contract, unit.in_place
    ts = contract.timestamp_column
    records = (
        f"select row_number() over () as ordinality, to_json(t)::text as line, to_jsonb(t) as j "
        f"from {unit.table} as t where cast(t.{ident(mapping.day_column)} as date) = ?"
    )
    mapped = [f"{pg_field_sql(mapping.fields.get(c))} as {raw_name(c)}" for c in contract.core_columns]
    mapped += [f"{pg_field_sql(spec)} as {ident(name)}" for name, spec in mapping.attributes.items()]
    typed = [f"raw.exptrack_try_timestamp({raw_name(ts)}) as _ts"]
    typed += [f"{clean_text_sql(raw_name(c))} as {c}" for c in contract.text_columns]
    outer = [
        f"{literal('warehouse:' + unit.table)} as source_file",
        "ordinality as source_row",
        *contract.text_columns,
        f"_ts as {ts}",
    ]
    if "value" in contract.core_columns:
        typed.append(f"raw.exptrack_try_double(nullif(trim({raw_name('value')}), '')) as _value")
        outer.append("_value as value")
    outer += [ident(name) for name in mapping.attributes]
    outer += [REASON, f"case when {REASON} is not null then line end as _record"]
    return (
        f"select {', '.join(outer)} from ("
        f"select *, {rejection_reason_sql(contract, NOT_FINITE)} as {REASON} from ("
        f"select *, {', '.join(typed)} from ("
        f"select ordinality, line, {', '.join(mapped)} from ({records}) as r) as m) as c) as k"
    )


def _accepted_sql(unit: LoadUnit) -> str:
    """Valid rows, and of rows sharing a de-duplication key only the first (lowest row number)."""
    key = unit.contract.dedup_key
    if not key:
        return f"select * from _staged where {REASON} is null"
    return (
        f"select * from (select *, row_number() over (partition by {key} order by source_file, source_row) as _copy "
        f"from _staged where {REASON} is null) as v where _copy = 1"
    )


def _undated_problem(con, unit: LoadUnit) -> str | None:
    """Why the table cannot be read for any day (missing, or rows without a day), or None."""
    import psycopg2

    column = unit.in_place.day_column
    try:
        undated = con.execute(f"select count(*) from {unit.table} where {ident(column)} is null").fetchone()[0]
    except psycopg2.Error as exc:
        return f"unreadable table: {str(exc).strip().splitlines()[0]}"
    if undated:
        return (
            f"unreadable table: {undated} row(s) of {unit.table} have no {column} and belong to no day; fill it or "
            "set day_column"
        )
    return None


def _insert_day(con, unit: LoadUnit, day: dt.date) -> tuple[int, int]:
    """Stage the day and insert its valid rows and attributes; (rows read, rows de-duplicated)."""
    contract, source = unit.contract, unit.name
    con.execute(f"create temp table _staged on commit drop as {staged_sql(unit)}", [day])
    key = contract.dedup_key or "source_row"
    read, valid, distinct = con.execute(
        f"select count(*), count(*) filter (where {REASON} is null), count(distinct {key}) filter (where "
        f"{REASON} is null) from _staged"
    ).fetchone()
    columns = ", ".join(contract.core_columns)
    con.execute(
        f"insert into raw.{contract.table} (partition_date, source_file, source_row, {columns}, source) "
        f"select ?, source_file, source_row, {columns}, ? from ({_accepted_sql(unit)}) as a",
        [day, source],
    )
    attributes = list(unit.in_place.attributes)
    if contract.keeps_attributes and attributes:
        ids = ", ".join(f"(s.{key})" for key in ("user_id", "anonymous_id", "device_id"))
        pairs = ", ".join(f"({literal(name)}, s.{ident(name)})" for name in attributes)
        con.execute(
            "insert into raw.exposure_attributes (partition_date, user_id, experiment_id, exposed_at, "
            "attribute, value, source) "
            f"select ?, k.id, s.experiment_id, s.{contract.timestamp_column}, a.attribute, a.value, ? from "
            "_staged as s "
            f"cross join lateral (values {ids}) as k(id) cross join lateral (values {pairs}) as a(attribute, value) "
            f"where s.{REASON} is null and k.id is not null and a.value is not null",
            [day, source],
        )
    con.execute(
        f"insert into raw.quarantine (source, partition_date, source_file, source_row, reason, record) "
        f"select ?, ?, source_file, source_row, {REASON}, _record from _staged where {REASON} is not null "
        "order by source_row",
        [source, day],
    )
    return int(read), int(valid - distinct)


def load_table_day(con, unit: LoadUnit, day: dt.date) -> IngestionReport:
    """Replace `day` of the table unit in the PostgreSQL warehouse `con` (a PgConnection), in one transaction."""
    contract, source = unit.contract, unit.name
    report = IngestionReport(source=source, partition_date=day, files=[f"warehouse:{unit.table}"])
    problem = _undated_problem(con, unit)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{contract.table} where {unit.slice_sql}", [day, source])
        if contract.keeps_attributes:
            con.execute(f"delete from raw.exposure_attributes where {unit.slice_sql}", [day, source])
        con.execute("delete from raw.quarantine where source = ? and partition_date = ?", [source, day])
        if problem:
            con.execute(
                "insert into raw.quarantine values (?, ?, ?, null, ?, null)", [source, day, report.files[0], problem]
            )
            report.file_problems[report.files[0]] = problem
        else:
            report.rows_read, report.rows_deduplicated = _insert_day(con, unit, day)
        report.rows_loaded = con.execute(
            f"select count(*) from raw.{contract.table} where {unit.slice_sql}", [day, source]
        ).fetchone()[0]
        report.rows_quarantined = con.execute(
            "select count(*) from raw.quarantine where source = ? and partition_date = ? and record is not null",
            [source, day],
        ).fetchone()[0]
        con.execute("delete from raw.ingestion_log where source = ? and partition_date = ?", [source, day])
        con.execute(
            "insert into raw.ingestion_log values (?, ?, 1, ?, ?, ?, ?)",
            [source, day, report.rows_read, report.rows_loaded, report.rows_quarantined, report.rows_deduplicated],
        )
        report.quarantine_reasons = dict(
            con.execute(
                "select regexp_replace(reason, ': .*', '') as reason, count(*) from raw.quarantine "
                "where source = ? and partition_date = ? group by 1 order by 1",
                [source, day],
            ).fetchall()
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return report


def ensure_functions(con) -> None:
    """The raw schema, its tables and the try-cast functions (created once; later loads find them)."""
    ensure_raw_tables(con)
    if con.execute("select to_regprocedure('raw.exptrack_try_double(text)') is null").fetchone()[0]:
        con.execute("begin transaction")
        try:  # two ingestion assets starting at once create them one after the other
            con.execute("select pg_advisory_xact_lock(hashtext('exptrack raw functions'))")
            con.execute(FUNCTIONS)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def load_table_days(con, unit: LoadUnit, days: list[dt.date]) -> Iterator[IngestionReport]:
    """Each day of a table unit, read in place by PostgreSQL."""
    try:
        staged_sql(unit)
    except ValueError as exc:
        raise SourcesError(f"source {unit.name} (table {unit.table}): {exc}") from None
    ensure_functions(con)
    for day in days:
        yield load_table_day(con, unit, day)
