"""The landing-zone contract (ingest/contract.py) in Spark SQL: the same rules, written with Spark's functions.

contract.py owns the rules — the columns, which are required, the null tokens, the reasons and their order
(`rejection_reason_sql`, rendered here with Spark's text type and finiteness test). This module only says how
Spark parses a file column into the contract's types, the counterpart of contract.timestamp_sql / value_sql:

* a timestamp: a typed `timestamp` column is already an instant (the session time zone is UTC, so it reads as UTC),
  `timestamp_ntz` and `date` are UTC wall-clock; text is ISO-8601 with an optional offset or zone name (`Z`,
  `+01:00`, `+0530`, ` America/New_York`), no zone meaning UTC — Spark's `try_cast(... as timestamp)` under the
  UTC session time zone, null when it does not parse;
* `value`: a numeric column cast to double; text trimmed, blank as null, `try_cast` to double.

Known differences of the two parsers (text the contract calls unparseable on one engine and not the other): Spark
also accepts a year or year-month alone (`2026`, `2026-10`) as a timestamp and Java's number suffixes (`1.5d`) as a
double. Landing files written by tools do not use these forms.
"""

from __future__ import annotations

from exptrack_pipeline.ingest.contract import SourceContract, rejection_reason_sql

TEXT = "string"
NOT_FINITE = "(isnan(_value) or abs(_value) = double('infinity'))"
NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double", "byte", "short", "integer", "long")


def quote(name: str) -> str:
    """A Spark SQL identifier (backticks; double quotes are string literals in Spark)."""
    return "`" + name.replace("`", "``") + "`"


def literal(text: object) -> str:
    """A Spark SQL string literal (Spark reads backslash escapes inside quotes)."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def timestamp_sql(column: str, spark_type: str) -> str:
    """A file column → a UTC timestamp (null when it does not parse); the session time zone must be UTC."""
    kind = spark_type.lower()
    if kind == "timestamp":
        return column
    if kind in ("timestamp_ntz", "date"):
        return f"cast({column} as timestamp)"
    return f"try_cast(trim(cast({column} as {TEXT})) as timestamp)"


def value_sql(column: str, spark_type: str) -> str:
    """A file column → double: directly when numeric, else trimmed text with blanks as null."""
    kind = spark_type.lower()
    if kind in NUMERIC or kind.startswith("decimal"):
        return f"cast({column} as double)"
    return f"try_cast(nullif(trim(cast({column} as {TEXT})), '') as double)"


def reason_sql(contract: SourceContract) -> str:
    """contract.py's CASE giving the first reason a staged row breaks the contract, in Spark SQL."""
    return rejection_reason_sql(contract, NOT_FINITE, text_type=TEXT)
