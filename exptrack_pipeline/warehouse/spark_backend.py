"""Apache Spark over Spark Connect: the same read_df / replace_table / execute / connect as on DuckDB.

The client is pyspark's Spark Connect (`sc://host:port`, the `spark` extra of pyproject.toml): no JVM in the
process, so dbt, Dagster's assets and the CLI all talk to one Spark (a cluster's Connect endpoint, or the local server
of tests/spark_server.py) that owns the metastore and the warehouse directory. Tables are written in
`EXPTRACK_SPARK_FILE_FORMAT` (parquet by default; delta on clusters that have it).

What Spark on parquet has not: transactions, UPDATE/DELETE, sequences, constraints. `begin transaction` / `commit` /
`rollback` are accepted and do nothing (each statement is its own commit); a whole-table `replace_table` is atomic per
statement only on Delta. The operational state tables (alerts.outbox, state.*, monitoring.health_findings) need
UPDATE ... RETURNING, sequences and transactions: they live in a transactional state store beside Spark
(warehouse/state_store.py), and `SparkWarehouse.connect` routes each statement to where its tables are.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from exptrack_pipeline.warehouse.spark_types import frame_from_spark, rows_from_the_client, spark_frame
from exptrack_pipeline.warehouse.state_store import StateRoutedConnection, is_state_table

NO_OPS = {"begin", "begin transaction", "commit", "rollback", "start transaction"}
DEFAULT_FILE_FORMAT = "parquet"


def _drop_parenthesised(text: str, keyword: str) -> str:
    """`text` without every `keyword (...)` (balanced parentheses), e.g. `check (status in ('a', 'b'))`."""
    lowered, out, i = text.lower(), [], 0
    while (start := lowered.find(keyword + " (", i)) != -1:
        out.append(text[i:start])
        depth, j = 0, start + len(keyword) + 1
        while j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    return "".join(out) + text[i:]


def spark_ddl(sql: str, file_format: str) -> str | None:
    """The DuckDB/PostgreSQL DDL of warehouse/schema.py in Spark SQL, or None for what Spark has no use for.

    Sequences, keys, defaults and checks have no Spark equivalent on parquet: they are dropped (the writers keep the
    rules); `varchar` is `string`; the table gets `using <file_format>`.
    """
    text = " ".join(sql.split())
    lowered = text.lower()
    if lowered.startswith("create sequence"):
        return None
    if not lowered.startswith("create table") or " using " in lowered:
        return sql
    text = _drop_parenthesised(text, "check")
    text = _drop_parenthesised(text, ", primary key")
    text = re.sub(r"\s+default\s+(nextval\([^)]*\)|\S+?)(?=\s*[,)])", "", text, flags=re.I)
    text = re.sub(r"\s+(primary key|not null)", "", text, flags=re.I)
    text = re.sub(r"\bvarchar\b", "string", text, flags=re.I)
    text = re.sub(r"\binteger\b", "int", text, flags=re.I)
    return f"{text.rstrip()} using {file_format}"


def _param(value: Any) -> Any:
    """A Python value Spark's positional parameters accept (numpy scalars and pandas timestamps unwrapped)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes, dt.date)):
        return value.item()
    return value


def lowered_head(sql: str) -> str:
    """The statement's first 40 characters, lower case, whitespace collapsed (to recognise its kind)."""
    return " ".join(sql.split())[:40].lower()


class SparkConnection:
    """A Spark Connect session that answers like a DuckDB connection: execute(sql, params).fetchone() / .df()."""

    kind = "spark"

    def __init__(self, session: Any, file_format: str = DEFAULT_FILE_FORMAT) -> None:
        self.session = session
        self.file_format = file_format
        self._result: Any = None

    def execute(self, sql: str, params: list | tuple | None = None) -> SparkConnection:
        """Run one statement (`?` placeholders bound by Spark); transaction statements are accepted as no-ops."""
        if sql.strip().rstrip(";").strip().lower() in NO_OPS:
            self._result = None
            return self
        if lowered_head(sql).startswith(("create table", "create sequence")):
            translated = spark_ddl(sql, self.file_format)
            if translated is None:
                self._result = None
                return self
            sql = translated
        args = [_param(p) for p in params] if params else None
        self._result = self.session.sql(sql, args=args) if args else self.session.sql(sql)
        return self

    def fetchall(self) -> list[tuple]:
        """Every row of the last result as tuples (none after a command)."""
        return [] if self._result is None else [tuple(row) for row in self._result.collect()]

    def fetchone(self) -> tuple | None:
        """The first row of the last result, or None."""
        rows = [] if self._result is None else self._result.limit(1).collect()
        return tuple(rows[0]) if rows else None

    def df(self) -> pd.DataFrame:
        """The result typed as DuckDB's `.df()` types it (datetime64 dates, float64 decimals, Int64 with nulls)."""
        return frame_from_spark(self._result)

    def register(self, name: str, frame: pd.DataFrame) -> SparkConnection:
        """The frame as the temp view `name` of this session."""
        spark_frame(self.session, frame).createOrReplaceTempView(name)
        return self

    def unregister(self, name: str) -> SparkConnection:
        """Drop the temp view `name`."""
        self.session.catalog.dropTempView(name)
        return self

    def table_exists(self, qualified: str) -> bool:
        """Whether `schema.table` exists in the catalog (Spark has no information_schema.tables)."""
        return bool(self.session.catalog.tableExists(qualified))

    def table_columns(self, qualified: str) -> list[str]:
        """Column names of `schema.table` in order (empty when it does not exist)."""
        return list(self.session.table(qualified).columns) if self.table_exists(qualified) else []

    def write_table(self, qualified: str, frame: pd.DataFrame | Any, mode: str = "overwrite") -> None:
        """Write a pandas frame (or a Spark DataFrame) as `schema.table` in the configured file format."""
        if hasattr(frame, "write"):  # a Spark DataFrame: its rows are in Spark already
            frame.write.mode(mode).format(self.file_format).saveAsTable(qualified)
            return
        with rows_from_the_client(self.session):
            spark_frame(self.session, frame).write.mode(mode).format(self.file_format).saveAsTable(qualified)


@dataclass(frozen=True)
class SparkWarehouse:
    """A Spark reached over Spark Connect (`remote`: sc://host:port; None: EXPTRACK_SPARK_REMOTE, else SPARK_REMOTE)."""

    remote: str | None = None
    file_format: str = DEFAULT_FILE_FORMAT
    kind: str = "spark"
    state: Any = None  # the state store (a DuckDB or PostgreSQL Warehouse, state_store.py); None: Spark alone

    @property
    def url(self) -> str:
        """The Spark Connect URL, or a ConnectionError that says which variable to set."""
        url = self.remote or os.environ.get("EXPTRACK_SPARK_REMOTE") or os.environ.get("SPARK_REMOTE")
        if not url:
            raise ConnectionError(
                "the spark target needs a Spark Connect URL: set EXPTRACK_SPARK_REMOTE (or SPARK_REMOTE) to "
                "sc://host:15002 (a cluster's Connect endpoint, or `python3 tests/spark_server.py run` locally)"
            )
        return url

    def describe(self) -> str:
        """What `exptrack run` prints as the warehouse."""
        return f"Spark at {self.url} ({self.file_format} tables)"

    def session(self) -> Any:
        """The process's Spark Connect session for this URL (opened once, < 1 s; UTC like every other target)."""
        from pyspark.sql import SparkSession

        try:
            session = SparkSession.builder.remote(self.url).getOrCreate()
            session.conf.set("spark.sql.session.timeZone", "UTC")
        except Exception as exc:  # grpc's errors are long: the first line names the cause
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConnectionError(
                f"cannot reach {self.describe()}: {first} (check EXPTRACK_SPARK_REMOTE / SPARK_REMOTE)"
            ) from None
        return session

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Any]:
        """A connection on the process's session (Spark has no read-only sessions: `read_only` is accepted); with a
        state store, one that routes the state tables' statements there (state_store.StateRoutedConnection)."""
        spark = SparkConnection(self.session(), self.file_format)
        if self.state is None:
            yield spark
            return
        routed = StateRoutedConnection(spark, self.state, read_only=read_only)
        try:
            yield routed
        finally:
            routed.close()

    def read_df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """The query's rows as a DuckDB-typed pandas frame."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, params).df()

    def execute(self, sql: str, params: list | None = None) -> None:
        """Run one statement."""
        with self.connect() as con:
            con.execute(sql, params)

    def replace_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with the frame's rows (one overwrite; dbt's views on it read the new files)."""
        if self.state is not None and is_state_table(f"{schema}.{table}"):
            self.state.replace_table(schema, table, frame)
            return
        with self.connect() as con:
            con.execute(f"create database if not exists {schema}")
            con.write_table(f"{schema}.{table}", frame)
