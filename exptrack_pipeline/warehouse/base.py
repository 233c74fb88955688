"""The warehouse interface, its errors and the helpers every backend shares (the backend choice: targets.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

import pandas as pd


class WarehouseBusy(RuntimeError):
    """Another process holds the DuckDB file (a pipeline run is writing)."""


class Connection(Protocol):
    """The subset of a DuckDB connection exptrack uses; :class:`PgConnection` offers the same on PostgreSQL."""

    def execute(self, sql: str, params: list | tuple | None = None) -> Any:
        """Run a statement with optional parameters; returns the connection for chaining."""

    def fetchone(self) -> tuple | None:
        """The next row of the last result, None when exhausted."""

    def fetchall(self) -> list[tuple]:
        """The remaining rows of the last result."""

    def df(self) -> pd.DataFrame:
        """The last result as a DataFrame."""

    def register(self, name: str, frame: pd.DataFrame) -> Any:
        """Make `frame` queryable as table `name` on this connection."""

    def unregister(self, name: str) -> Any:
        """Drop the table `register` made."""


Connect = Callable[[], AbstractContextManager[Connection]]  # e.g. Warehouse.connect: a short-lived connection


class Warehouse(Protocol):
    """A DuckDB file or PostgreSQL database the pipeline reads and writes."""

    kind: str

    def connect(self, read_only: bool = False) -> AbstractContextManager[Connection]:
        """A connection (read-only when asked), closed on exit."""

    def read_df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """The query's result as a DataFrame."""

    def replace_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with the frame's rows in one transaction."""

    def execute(self, sql: str, params: list | None = None) -> None:
        """Run one statement in its own connection."""

    def describe(self) -> str:
        """The warehouse in words, for messages."""


def table_exists(con: Connection, qualified: str) -> bool:
    """True when the table or view `schema.table` exists, on any backend."""
    if hasattr(con, "table_exists"):  # Spark: the catalog, no information_schema
        return bool(con.table_exists(qualified))
    schema, table = qualified.split(".")
    sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    found = con.execute(sql, [schema, table]).fetchone()
    return bool(found and found[0])


def table_columns(con: Connection, qualified: str) -> list[str]:
    """Column names of `schema.table` in order (empty when it does not exist), on any backend."""
    if hasattr(con, "table_columns"):
        return list(con.table_columns(qualified))
    schema, table = qualified.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? order by "
        "ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def is_lock_error(exc: BaseException) -> bool:
    """True for DuckDB's "file is locked by another process" (PostgreSQL has no such error)."""
    import duckdb

    text = str(exc).lower()
    return isinstance(exc, duckdb.IOException) and ("lock" in text or "conflicting" in text)


def is_write_conflict(exc: BaseException) -> bool:
    """True when a concurrent transaction changed the same row (DuckDB's conflict, PostgreSQL's serialization
    failure)."""
    import duckdb

    if isinstance(exc, duckdb.TransactionException):
        return True
    code = getattr(exc, "pgcode", None)
    return code in ("40001", "40P01")
