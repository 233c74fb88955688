"""Read a tool's export file as records `j` (JSON) and map them onto one contract's columns, all in DuckDB.

Each format yields (ordinality, line, j): the record's position in the file, its text as read and the parsed
record (null when the line is not valid JSON). The mapped relation adds the contract's columns (text, cleaned and
checked by the loader like any landing-zone file), the exposure attributes and `_source_record` (the line, kept in
the quarantine). Only records routed to the contract are selected; events take everything the other routes do not
(a malformed line too, so it is quarantined as an event and counted).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import duckdb

from exptrack_pipeline.ingest.contract import CONTRACTS, ident
from exptrack_pipeline.ingest.loader import SOURCE_RECORD, FileProblem
from exptrack_pipeline.sources.mapping import field_sql, literal, predicate_sql
from exptrack_pipeline.sources.snowplow import tsv_records_sql

SUFFIXES = {
    "jsonl": (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson", ".ndjson.gz", ".gz"),
    "amplitude_zip": (".zip",),
    "snowplow_tsv": (".tsv", ".tsv.gz", ".gz", ".txt"),
    "parquet": (".parquet",),
    "csv": (".csv", ".csv.gz", ".tsv", ".tsv.gz"),
    "table": (),
}
_UNIT_SEPARATOR = "\x1f"  # a delimiter that does not occur in JSON text: every line is one column


def _lines(files: list[Path]) -> str:
    paths = "[" + ", ".join(literal(str(p)) for p in files) + "]"
    return (
        f"select ordinality, line, case when json_valid(line) then json(line) end as j from read_csv({paths}, "
        f"columns = {{'line': 'VARCHAR'}}, header = false, delim = '{_UNIT_SEPARATOR}', quote = '', escape = '', "
        f"auto_detect = false, strict_mode = false, hive_partitioning = false) with ordinality "
        f"where line is not null and trim(line) <> ''"
    )


def _unzip(path: Path, scratch: Path) -> list[Path]:
    """The members of an Amplitude export zip (hourly `.json.gz` files), extracted flat into `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(m for m in archive.namelist() if not m.endswith("/"))
            out = []
            for number, member in enumerate(members):
                target = scratch / f"{number:05d}_{Path(member).name}"  # flat: no path from the archive is trusted
                target.write_bytes(archive.read(member))
                out.append(target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileProblem(f"unreadable file: not an Amplitude export zip ({exc})") from None
    if not out:
        raise FileProblem("unreadable file: the zip holds no files")
    return out


def table_records_sql(con: duckdb.DuckDBPyConnection, table: str, day_column: str, day) -> str:
    """(ordinality, line, j) of a warehouse table's rows whose `day_column` falls on `day` (UTC). Rows without a
    day would belong to no partition: the table is refused for the day (recorded in the quarantine) until fixed."""
    column = ident(day_column)
    try:
        undated = con.execute(f"select count(*) from {table} where {column} is null").fetchone()[0]
    except duckdb.Error as exc:
        raise FileProblem(f"unreadable table: {str(exc).strip().splitlines()[0]}") from None
    if undated:
        raise FileProblem(
            f"unreadable table: {undated} row(s) of {table} have no {day_column} and belong to no day; fill it "
            "or set day_column"
        )
    return (
        f"select row_number() over () as ordinality, cast(to_json(t) as varchar) as line, to_json(t) as j "
        f"from {table} as t where cast({column} as date) = date '{day.isoformat()}'"
    )


def records_sql(fmt: str, path: Path, scratch: Path) -> str:
    """(ordinality, line, j) of one file in `fmt`."""
    if fmt == "jsonl":
        return _lines([path])
    if fmt == "amplitude_zip":
        return _lines(_unzip(path, scratch))
    if fmt == "snowplow_tsv":
        return tsv_records_sql(_lines([path]))
    p = literal(str(path))
    table = (
        f"read_parquet({p}, hive_partitioning = false)"
        if fmt == "parquet"
        else f"read_csv({p}, all_varchar = true, header = true, hive_partitioning = false)"
    )
    return (
        "select row_number() over () as ordinality, cast(to_json(t) as varchar) as line, to_json(t) as j from "
        f"{table} as t"
    )


def routing_sql(contract: str, routes: dict[str, dict[str, Any]]) -> str:
    """The condition selecting the contract's records: its own route, or (events) none of the others."""
    if contract in routes:
        return predicate_sql(routes[contract])
    others = [predicate_sql(r) for c, r in routes.items() if c != "events"]
    return " and ".join(f"not {o}" for o in others) if others else "true"


def mapped_reader(
    fmt: str,
    contract: str,
    fields: dict[str, Any],
    routes: dict[str, dict[str, Any]],
    attributes: dict[str, Any],
    day_column: str | None = None,
):
    """A loader `reader` (see ingest.loader.LoadUnit) for one contract of a tool's files (or warehouse table)."""
    columns = CONTRACTS[contract].core_columns

    def reader(con: duckdb.DuckDBPyConnection, path: Path, scratch: Path, day) -> tuple[str, dict[str, str]]:
        selected = [f"{field_sql(fields.get(c))} as {ident(c)}" for c in columns]
        selected += [f"{field_sql(spec)} as {ident(name)}" for name, spec in attributes.items()]
        records = (
            table_records_sql(con, str(path), day_column, day) if fmt == "table" else records_sql(fmt, path, scratch)
        )
        relation = (
            f"(select {', '.join(selected)}, line as {SOURCE_RECORD}, ordinality "
            f"from ({records}) where {routing_sql(contract, routes)})"
        )
        try:
            con.execute(f"describe select * from {relation}").fetchall()
        except duckdb.Error as exc:
            raise FileProblem(f"unreadable file: {str(exc).strip().splitlines()[0]}") from None
        types = dict.fromkeys([*columns, *attributes], "VARCHAR")
        types[SOURCE_RECORD] = "VARCHAR"
        return relation, types

    return reader
