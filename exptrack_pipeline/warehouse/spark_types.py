"""Between pandas frames and Spark: a Spark schema for a frame, and query results typed as DuckDB's `.df()` types them.

DuckDB's `.df()` is the reference the Python code was written against: DATE and TIMESTAMP → datetime64[us],
integers → int64 (Int64 when a value is null), DECIMAL → float64, BOOLEAN → bool. Timestamps are naive UTC on every
target: the Spark session's time zone is UTC (spark_backend.py, tests/spark_server.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from exptrack_pipeline.warehouse import pg_types

# PostgreSQL's names (pg_types.column_types, the one place a frame's column types are inferred) in Spark SQL.
SPARK_NAMES = {
    "boolean": "boolean",
    "bigint": "bigint",
    "double precision": "double",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamp",
    "date": "date",
    "text": "string",
}


def column_types(frame: pd.DataFrame) -> dict[str, str]:
    """Spark SQL type per frame column: pg_types.column_types's inference, in Spark's spelling."""
    return {name: SPARK_NAMES[kind] for name, kind in pg_types.column_types(frame).items()}


def _cells(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """The frame with values Spark's converter takes for each type (tz-aware → naive UTC, numbers as floats/ints)."""
    out = {}
    for name, kind in types.items():
        column = frame[name]
        if kind == "timestamp":
            values = pd.to_datetime(column)
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            out[name] = values.astype("datetime64[us]")
        elif kind == "double":
            out[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        elif kind == "string":
            out[name] = column.astype(object).where(column.notna(), None).map(lambda v: v if v is None else str(v))
        else:
            out[name] = column.astype(object).where(column.notna(), None)
    return pd.DataFrame(out, columns=list(types), index=frame.index)


EXCLUDED_RULES = "spark.sql.optimizer.excludedRules"
LOCAL_RELATION_RULE = "org.apache.spark.sql.catalyst.optimizer.ConvertToLocalRelation"


@contextmanager
def rows_from_the_client(session: Any) -> Iterator[None]:
    """Writes of rows sent from Python (a pandas frame or Arrow table: a `LocalRelation` in the plan) without Spark's
    `ConvertToLocalRelation` optimizer rule, the session's setting restored after.

    The rule evaluates a projection over client rows in the driver, row by row and interpreted, before the plan runs;
    without it the projection is part of the compiled write task. An optimization rule, not one the result depends
    on (Spark refuses to exclude those). Measured on local Spark (2026-12-01): a 400,000-row Arrow table written
    into a parquet table partitioned by 10 days, 4 alternating pairs, 10.5 JVM CPU-s per write (9.3–11.5) against 15.4
    (13.4–18.1) with the rule (BENCHMARKS.md, "Session of 2026-12-01 night").
    """
    before = session.conf.get(EXCLUDED_RULES, None)
    rules = [rule for rule in (before or "").split(",") if rule.strip()]
    session.conf.set(EXCLUDED_RULES, ",".join([*rules, LOCAL_RELATION_RULE]))
    try:
        yield
    finally:
        if before is None:
            session.conf.unset(EXCLUDED_RULES)
        else:
            session.conf.set(EXCLUDED_RULES, before)


def spark_frame(session: Any, frame: pd.DataFrame) -> Any:
    """A Spark DataFrame of the pandas frame with an explicit schema (an all-null column is a string, not void)."""
    from pyspark.sql.types import _parse_datatype_string

    types = column_types(frame)
    schema = ", ".join(f"`{name}` {kind}" for name, kind in types.items())
    data = _cells(frame.reset_index(drop=True), types)
    if data.empty:
        return session.createDataFrame([], schema=_parse_datatype_string(schema) if types else schema)
    return session.createDataFrame(data, schema=schema)


def frame_from_spark(result: Any) -> pd.DataFrame:
    """A Spark DataFrame's rows as a pandas frame typed the way DuckDB's `.df()` types them."""
    if result is None:
        return pd.DataFrame()
    frame = result.toPandas()
    out = {}
    for field, name in zip(result.schema.fields, frame.columns, strict=True):
        column, kind = frame[name], field.dataType.typeName()
        if kind in ("date", "timestamp", "timestamp_ntz"):
            out[name] = pd.to_datetime(column).astype("datetime64[us]")
        elif kind in ("decimal", "double", "float"):
            out[name] = pd.to_numeric(column.astype(object), errors="coerce").astype("float64")
        elif kind in ("long", "integer", "short", "byte"):
            out[name] = column.astype("Int64") if column.isna().any() else column.astype("int64")
        elif kind == "boolean":
            out[name] = column.astype(bool) if not column.isna().any() else column.astype(object)
        else:
            out[name] = column.astype(object)
    return pd.DataFrame(out, columns=list(frame.columns))
