"""Field expressions of a source mapping → PostgreSQL SQL over the record `j` (jsonb of a warehouse table's row).

The same field specs as mapping.py (which renders them for DuckDB), with the same results as text, so a table read
in place on PostgreSQL loads exactly what DuckDB loads from the same rows:

- a path `a.b`, `a['c d']`, `a[0]` or `$.a.b` → `j #>> '{a,b}'` (a JSON string unquoted, anything else its JSON text);
- `{field, epoch}` → an ISO-8601 UTC text, or the same "epoch ... is out of range" explanation as on DuckDB;
- `{value}`, `{first_of}`, `{param, in}` as on DuckDB; `{sql}` is the warehouse's own SQL over `j` (jsonb here).

`{field, format}` (a strptime format) has no safe PostgreSQL equivalent (to_timestamp raises instead of returning
null): it is refused with the fix. Text that must parse uses raw.exptrack_try_timestamp / raw.exptrack_try_double
(FUNCTIONS: PL/pgSQL casts that return null instead of failing, created with the raw schema).
"""

from __future__ import annotations

import re
from typing import Any

from exptrack_pipeline.sources.mapping import EPOCH_FACTORS, EPOCH_SECONDS_RANGE, RECORD, Dialect, field_sql, literal

FUNCTIONS = """
create or replace function raw.exptrack_try_timestamp(t text) returns timestamp language plpgsql stable
set timezone to 'UTC' as $fn$
begin
    if t is null or lower(trim(t)) in ('now', 'today', 'tomorrow', 'yesterday', 'epoch', 'infinity', '-infinity',
        'allballs') then
        return null;
    end if;
    return (trim(t)::timestamptz) at time zone 'UTC';
exception when others then
    return null;
end $fn$;
create or replace function raw.exptrack_try_double(t text) returns double precision language plpgsql immutable as $fn$
begin
    return trim(t)::double precision;
exception when others then
    return null;
end $fn$;
"""
"""Try-casts for PostgreSQL 13+ (pg_input_is_valid exists from 16 only): text → UTC timestamp (no zone means UTC,
as DuckDB's cast with TimeZone UTC) and text → double, null when the text does not parse."""

_PART = re.compile(r"\[[^\]]*\]|[^.\[\]]+")


def path_sql(path: str, record: str = RECORD) -> str:
    """`a.b['c d'][0]` or `$.a.b` → `j #>> '{a,b,"c d",0}'`."""
    path = path.strip()
    if path.startswith("$"):
        path = path[1:].lstrip(".")
    keys = []
    for part in _PART.findall(path):
        if part.startswith("[") and part[1:2] in ("'", '"'):
            part = part[2:-2]
        elif part.startswith("["):
            part = part[1:-1].strip()
        keys.append('"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return f"({record} #>> {literal('{' + ','.join(keys) + '}')})"


def _epoch_sql(text: str, unit: str) -> str:
    number = f"raw.exptrack_try_double({text})"
    if unit == "auto":
        factor = f"(case when abs({number}) < 1e11 then 1000000 when abs({number}) < 1e14 then 1000 else 1 end)"
        name = f"(case when abs({number}) < 1e11 then 's' when abs({number}) < 1e14 then 'ms' else 'us' end)"
    else:
        factor, name = str(EPOCH_FACTORS[unit]), literal(unit)
    micros = f"({number} * {factor})"
    low, high = (bound * 1_000_000 for bound in EPOCH_SECONDS_RANGE)
    instant = f"(timestamp '1970-01-01' + cast({micros} as bigint) * interval '1 microsecond')"
    return (
        f"case when {text} is null or trim({text}) = '' then null "
        f"when {number} is null then {text} "
        f"when {micros} < {low} or {micros} >= {high} then 'epoch ' || {text} || ' in ' || {name} || "
        f"' is out of range (2000..2100): wrong epoch unit?' "
        f'else to_char({instant}, \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') end'
    )


def _param_sql(key: str, within: str, record: str) -> str:
    value = (
        "coalesce(p #>> '{value,string_value}', p #>> '{value,int_value}', p #>> '{value,double_value}', p #>> "
        "'{value,float_value}')"
    )
    items = path_sql(within, record).replace("#>>", "#>")
    return (
        f"(select {value} from jsonb_array_elements(case when jsonb_typeof({items}) = 'array' then {items} "
        "end) as e(p) "
        f"where p ->> 'key' = {literal(key)} limit 1)"
    )


def _format_sql(text: str, fmt: str) -> str:
    raise ValueError(
        f"a field with `format: {fmt}` cannot be read on PostgreSQL (no strptime that returns null on a mismatch); "
        "select the column as a timestamp in a view, or write {sql: <PostgreSQL expression over j>}"
    )


POSTGRES = Dialect(path=path_sql, epoch=_epoch_sql, format=_format_sql, param=_param_sql, text="text")


def pg_field_sql(spec: Any, record: str = RECORD) -> str:
    """The PostgreSQL text expression of one field spec; raises ValueError naming the fix for what it cannot run."""
    return field_sql(spec, record, POSTGRES)
