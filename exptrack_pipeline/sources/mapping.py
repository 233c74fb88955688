"""Field expressions of a source mapping → DuckDB SQL over the record `j` (JSON), evaluated in the warehouse.

A field is written in the sources YAML as one of:

- a path into the record, `properties.experiment_id` or `$.properties['Experiment name']` (JSON path; a leading
  `$.` is optional) — its text, or null when absent;
- `{field: <path>, epoch: s | ms | us | auto}` — a number of seconds / milliseconds / microseconds since 1970
  (`auto` decides by magnitude: below 1e11 seconds, below 1e14 milliseconds, else microseconds);
- `{field: <path>, format: "%d/%m/%Y %H:%M:%S"}` — a timestamp in a strptime format (UTC);
- `{value: <text>}` — a constant; `{sql: <expression>}` — any DuckDB expression over `j` (escape hatch);
- `{first_of: [<field>, ...]}` — the first of several fields that is present;
- `{param: <key>, in: <path>}` — the value of a key/value record list (GA4's `event_params`: `[{key, value:
  {string_value | int_value | float_value | double_value}}]`).

An epoch outside 2000-01-01 .. 2100-01-01 in its unit, or text that does not match the format, is kept as an
explanation ("epoch 1730000000000 in s is out of range ...") that the loader cannot parse: the row is quarantined
as `unparseable <timestamp>: <explanation>` with the record, never loaded with a wrong date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RECORD = "j"
EPOCH_FACTORS = {"s": 1_000_000, "ms": 1_000, "us": 1}
EPOCH_SECONDS_RANGE = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01
_FORMS = (("value",), ("sql",), ("first_of",), ("param", "in"), ("field", "epoch", "format"))
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def literal(text: str) -> str:
    """`text` as a SQL string literal (quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def json_path(path: str) -> str:
    """`a.b['c d']` or `$.a.b` → a DuckDB JSON path literal; keys with other characters are quoted."""
    path = path.strip()
    if path.startswith("$"):
        return literal(path)
    parts = []
    for part in re.findall(r"\[[^\]]*\]|[^.\[\]]+", path):
        if part.startswith("[") and part[1:2] in ("'", '"'):
            key = part[2:-2]
            parts.append('."' + key.replace('"', '\\"') + '"')
        elif part.startswith("["):
            parts.append(part)
        elif _SIMPLE_KEY.match(part):
            parts.append("." + part)
        else:
            parts.append('."' + part.replace('"', '\\"') + '"')
    return literal("$" + "".join(parts))


def text_at(path: str, record: str = RECORD) -> str:
    """The text at `path` (a JSON string unquoted, a number or object as its JSON text)."""
    return f"json_extract_string({record}, {json_path(path)})"


def _epoch_sql(text: str, unit: str) -> str:
    number = f"try_cast({text} as double)"
    if unit == "auto":
        factor = f"(case when abs({number}) < 1e11 then 1000000 when abs({number}) < 1e14 then 1000 else 1 end)"
        name = "(case when abs(" + number + ") < 1e11 then 's' when abs(" + number + ") < 1e14 then 'ms' else 'us' end)"
    else:
        factor, name = str(EPOCH_FACTORS[unit]), literal(unit)
    micros = f"({number} * {factor})"
    low, high = (bound * 1_000_000 for bound in EPOCH_SECONDS_RANGE)
    return (
        f"case when {text} is null or trim({text}) = '' then null "
        f"when {number} is null then {text} "
        f"when {micros} < {low} or {micros} >= {high} then 'epoch ' || {text} || ' in ' || {name} || "
        f"' is out of range (2000..2100): wrong epoch unit?' "
        f"else strftime(make_timestamp(cast({micros} as bigint)), '%Y-%m-%dT%H:%M:%S.%fZ') end"
    )


def _format_sql(text: str, fmt: str) -> str:
    parsed = f"try_strptime({text}, {literal(fmt)})"
    return (
        f"case when {text} is null then null when {parsed} is null then 'does not match format {fmt}: ' || {text} "
        f"else strftime({parsed}, '%Y-%m-%dT%H:%M:%S.%fZ') end"
    )


def _param_sql(key: str, within: str, record: str) -> str:
    items = f"cast(json_extract({record}, {json_path(within)}) as json[])"
    value = (
        "coalesce(p->>'$.value.string_value', p->>'$.value.int_value', p->>'$.value.double_value', "
        "p->>'$.value.float_value')"
    )
    return f"(select {value} from (select unnest({items}) as p) where p->>'$.key' = {literal(key)} limit 1)"


@dataclass(frozen=True)
class Dialect:
    """How one engine writes the parts of a field: a path's text, an epoch, a strptime format, a key/value param."""

    path: Callable[[str, str], str]
    epoch: Callable[[str, str], str]
    format: Callable[[str, str], str]
    param: Callable[[str, str, str], str]
    text: str = "varchar"


DUCKDB = Dialect(path=text_at, epoch=_epoch_sql, format=_format_sql, param=_param_sql)


def field_sql(spec: Any, record: str = RECORD, dialect: Dialect = DUCKDB) -> str:
    """The SQL text expression of one field spec (see the module docstring); raises ValueError on a bad spec."""
    if spec is None:
        return f"null::{dialect.text}"
    if isinstance(spec, str):
        return dialect.path(spec, record)
    if not isinstance(spec, dict):
        raise ValueError(f"a field is a path or a mapping, got {spec!r}")
    form = next((f for f in _FORMS if f[0] in spec), None)
    unknown = sorted(set(spec) - set(form)) if form else sorted(spec)
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(unknown)} in a field mapping; write one of: "
            "{field, epoch | format}, {value}, {sql}, {first_of: [...]}, {param, in}"
        )
    if "value" in spec:
        return f"{literal(spec['value'])}::{dialect.text}"
    if "sql" in spec:
        return f"cast(({spec['sql']}) as {dialect.text})"
    if "first_of" in spec:
        return "coalesce(" + ", ".join(field_sql(s, record, dialect) for s in spec["first_of"]) + ")"
    if "param" in spec:
        return dialect.param(spec["param"], spec.get("in", "event_params"), record)
    text = field_sql(spec["field"], record, dialect)
    if spec.get("epoch"):
        unit = "auto" if spec["epoch"] is True else spec["epoch"]
        if unit not in (*EPOCH_FACTORS, "auto"):
            raise ValueError(f"epoch unit {unit!r} is not one of s, ms, us, auto")
        return dialect.epoch(text, unit)
    if spec.get("format"):
        return dialect.format(text, spec["format"])
    return text


def predicate_sql(route: dict[str, Any] | None, record: str = RECORD) -> str:
    """A route `{field, equals | in | not_in}` (or `{sql}`) → a SQL condition that is never null."""
    if not route:
        return "false"
    if "sql" in route:
        return f"coalesce(({route['sql']}), false)"
    text = field_sql(route["field"], record)
    if "equals" in route:
        return f"coalesce({text} = {literal(route['equals'])}, false)"
    values = ", ".join(literal(v) for v in route.get("in") or route.get("not_in") or [])
    if "not_in" in route:
        return f"coalesce({text} not in ({values}), {text} is null)"
    return f"coalesce({text} in ({values}), false)"
