"""Warehouse tables read in place: the sources YAML's table mappings as the dbt var of the `in_place_*` models.

A table source (the `segment_warehouse` preset, the `exptrack` preset with `warehouse_schema`, a custom `format:
table`) is mapped by dbt, not by Python: dbt_project/models/in_place/in_place_<contract>.sql renders every table
unit of its contract into one select (macros/exptrack_in_place.sql, engine pieces in macros/portable/), from the
var `exptrack_in_place` built here. The ingestion assets then read the day's rows of one unit from that model and
check, quarantine, de-duplicate and count them like a file's rows (DuckDB: ingest/loader.py through
`in_place_reader`; PostgreSQL: sources/in_place_postgres.py).

The var is data, not SQL: each field spec of the sources YAML (sources/mapping.py's forms) becomes a tree
`{path: [keys]}`, `{epoch: unit, of: field}`, `{format: strptime, of: field}`, `{value}`, `{sql}`, `{first_of}`,
`{param, in: [keys]}` or `{null: true}`, and the macros write it in each warehouse's SQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from exptrack_pipeline.ingest.contract import ident
from exptrack_pipeline.ingest.loader import SOURCE_RECORD, FileProblem, LoadUnit
from exptrack_pipeline.sources.mapping import EPOCH_SECONDS_RANGE, literal

IN_PLACE_TAG = "exptrack_in_place"
"""The dbt tag of the in_place_* models: built by the ingestion job (defs/ingestion/in_place.py), not by `dbt build`."""
IN_PLACE_VAR = "exptrack_in_place"
_PART = re.compile(r"\[[^\]]*\]|[^.\[\]]+")


def model_name(contract: str) -> str:
    """The relation of the in_place model of a contract (dbt writes models to `main` on DuckDB and PostgreSQL)."""
    return f"main.in_place_{contract}"


def path_keys(path: str) -> list[str | int]:
    """`a.b['c d'][0]` or `$.a.b` → ['a', 'b', 'c d', 0]."""
    path = path.strip()
    if path.startswith("$"):
        path = path[1:].lstrip(".")
    keys: list[str | int] = []
    for part in _PART.findall(path):
        if part.startswith("[") and part[1:2] in ("'", '"'):
            keys.append(part[2:-2])
        elif part.startswith("[") and part[1:-1].strip().lstrip("-").isdigit():
            keys.append(int(part[1:-1]))
        else:
            keys.append(part.strip("[]").strip())
    return keys


def field_tree(spec: Any) -> dict[str, Any]:
    """One field spec of the sources YAML (validated by sources/config.py) as the macros' tree."""
    if spec is None:
        return {"null": True}
    if isinstance(spec, str):
        return {"path": path_keys(spec)}
    if "value" in spec:
        return {"value": str(spec["value"])}
    if "sql" in spec:
        return {"sql": spec["sql"]}
    if "first_of" in spec:
        return {"first_of": [field_tree(part) for part in spec["first_of"]]}
    if "param" in spec:
        return {"param": spec["param"], "in": path_keys(spec.get("in", "event_params"))}
    inner = field_tree(spec["field"])
    if spec.get("epoch"):
        return {"epoch": "auto" if spec["epoch"] is True else spec["epoch"], "of": inner}
    if spec.get("format"):
        return {"format": spec["format"], "of": inner}
    return inner


def in_place_vars(units: Iterable[LoadUnit]) -> dict[str, Any]:
    """The dbt vars of the in_place models: every table unit's mapping (an empty list when no source is a table)."""
    entries = [
        {
            "unit": unit.name,
            "contract": unit.contract.name,
            "table": unit.table,
            "day_column": unit.in_place.day_column,
            "fields": {column: field_tree(spec) for column, spec in unit.in_place.fields.items()},
            "attributes": {name: field_tree(spec) for name, spec in unit.in_place.attributes.items()},
        }
        for unit in units
        if unit.in_place
    ]
    return {IN_PLACE_VAR: {"units": entries, "epoch_seconds": list(EPOCH_SECONDS_RANGE)}}


def dbt_run_args(units: Iterable[LoadUnit]) -> list[str]:
    """`dbt run` arguments that build the in_place models for `units` (the ingestion job passes them)."""
    return ["run", "--select", f"tag:{IN_PLACE_TAG}", "--vars", json.dumps(in_place_vars(units))]


def table_problem(con, unit: LoadUnit, errors: type[Exception] | tuple[type[Exception], ...]) -> str | None:
    """Why the unit's table cannot be read for any day (missing, or rows without a day), or None."""
    column = unit.in_place.day_column
    try:
        undated = con.execute(f"select count(*) from {unit.table} where {ident(column)} is null").fetchone()[0]
    except errors as exc:
        return f"unreadable table: {str(exc).strip().splitlines()[0]}"
    if undated:
        return (
            f"unreadable table: {undated} row(s) of {unit.table} have no {column} and belong to no day; fill it or "
            "set day_column"
        )
    return None


def mapped_rows_sql(unit: LoadUnit, day_sql: str) -> str:
    """The unit's rows of one day in its in_place model, numbered in scan order: (ordinality, contract columns as
    text, exposure attributes, _source_record)."""
    columns = [*unit.contract.core_columns, *(ident(name) for name in unit.in_place.attributes)]
    return (
        f"select row_number() over () as ordinality, {', '.join(columns)}, {SOURCE_RECORD} "
        f"from {model_name(unit.contract.name)} where source = {literal(unit.name)} and partition_date = {day_sql}"
    )


def in_place_reader(unit: LoadUnit):
    """A loader `reader` (ingest.loader.LoadUnit) for a table unit on DuckDB: the day's rows of its in_place model."""
    import duckdb

    def reader(con: duckdb.DuckDBPyConnection, path: Path, scratch: Path, day) -> tuple[str, dict[str, str]]:
        problem = table_problem(con, unit, duckdb.Error)
        if problem:
            raise FileProblem(problem)
        relation = f"({mapped_rows_sql(unit, f'date {literal(day.isoformat())}')})"
        try:
            con.execute(f"describe select * from {relation}").fetchall()
        except duckdb.CatalogException as exc:
            raise FileProblem(
                f"unreadable table: the dbt model {model_name(unit.contract.name)} does not exist or lacks a column "
                f"({str(exc).strip().splitlines()[0]}); the ingestion job builds it "
                f"(dbt run --select tag:{IN_PLACE_TAG})"
            ) from None
        columns = [*unit.contract.core_columns, *unit.in_place.attributes, SOURCE_RECORD]
        return relation, dict.fromkeys(columns, "VARCHAR")

    return reader
