"""Between pandas frames and PostgreSQL: column types for a frame, CSV for COPY, and query results as DuckDB gives them.

DuckDB's `.df()` is the reference the Python code was written against: DATE and TIMESTAMP → datetime64[us],
integers → int64 (Int64 when a value is null), HUGEINT/DECIMAL → float64, BOOLEAN → bool. PostgreSQL's `numeric`
(what `sum(bigint)` returns) maps to float64 like DuckDB's HUGEINT.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io

import numpy as np
import pandas as pd

NULL = r"\N"

# PostgreSQL type OIDs (pg_type.oid) of the columns a query returns.
_INTEGER_OIDS = {20, 21, 23}
_FLOAT_OIDS = {700, 701, 1700}
_DATE_OIDS = {1082, 1114}
_TIMESTAMPTZ_OID = 1184
_BOOL_OID = 16


def frame_from_rows(rows: list[tuple], description) -> pd.DataFrame:
    """psycopg2 rows as a DataFrame with dtypes from the column type codes."""
    names = [d.name for d in description]
    frame = pd.DataFrame.from_records(rows, columns=names) if rows else pd.DataFrame({n: [] for n in names})
    out = {}
    for i, d in enumerate(description):
        column = frame.iloc[:, i]
        code = d.type_code
        if code in _INTEGER_OIDS:
            out[d.name] = column.astype("Int64") if column.isna().any() else column.astype("int64")
        elif code in _FLOAT_OIDS:
            out[d.name] = pd.to_numeric(
                column.map(lambda v: float(v) if isinstance(v, decimal.Decimal) else v), errors="coerce"
            ).astype("float64")
        elif code in _DATE_OIDS:
            out[d.name] = pd.to_datetime(column).astype("datetime64[us]")
        elif code == _TIMESTAMPTZ_OID:
            out[d.name] = pd.to_datetime(column, utc=True)
        elif code == _BOOL_OID:
            out[d.name] = column.astype(bool) if not column.isna().any() else column.astype(object)
        else:
            out[d.name] = column.astype(object)
    result = pd.DataFrame(out, columns=names)
    return result


def _object_type(values: pd.Series) -> str:
    sample = values.dropna()
    if sample.empty:
        return "text"
    first = sample.iloc[0]
    if isinstance(first, (bool, np.bool_)):
        return "boolean"
    if isinstance(first, (int, np.integer)):
        return "bigint"
    if isinstance(first, (float, np.floating, decimal.Decimal)):
        return "double precision"
    if isinstance(first, (dt.datetime, pd.Timestamp)):
        return "timestamp"
    if isinstance(first, dt.date):
        return "date"
    return "text"


def column_types(frame: pd.DataFrame) -> dict[str, str]:
    """PostgreSQL column type per frame column, as information_schema.columns.data_type spells it."""
    types = {}
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            types[name] = "boolean"
        elif pd.api.types.is_integer_dtype(dtype):
            types[name] = "bigint"
        elif pd.api.types.is_float_dtype(dtype):
            types[name] = "double precision"
        elif isinstance(dtype, pd.DatetimeTZDtype):
            types[name] = "timestamp with time zone"
        elif pd.api.types.is_datetime64_dtype(dtype):
            types[name] = "timestamp without time zone"
        else:
            inferred = _object_type(frame[name])
            types[name] = "timestamp without time zone" if inferred == "timestamp" else inferred
    return types


def _cell(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT or value is pd.NA:
        return NULL
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ")
    return str(value)


def frame_to_csv(frame: pd.DataFrame) -> io.StringIO:
    r"""The frame as CSV for `COPY ... (format csv, null '\N')`: floats in round-trip form, nulls as \N."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns]
    for row in zip(*columns, strict=True):
        writer.writerow([_cell(v) for v in row])
    buffer.seek(0)
    return buffer
