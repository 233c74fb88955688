"""The embedded default: one DuckDB file, one writer process at a time (Dagster pool `duckdb`)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from exptrack_pipeline.warehouse.base import WarehouseBusy, is_lock_error

# DuckDB's memory ceiling, one setting for both sides: EXPTRACK_DUCKDB_MEMORY_LIMIT is read by dbt
# (dbt_project/profiles.yml) and by the Python side (ingestion, the Python assets: duckdb_memory_limit); the
# profile's fallback must be this value (tests/test_warehouse_backends.py holds them together). Ingestion and dbt
# never run at the same time (one writer: the Dagster pool `duckdb`), so the run's peak is one DuckDB at this
# limit plus the Python processes around it (BENCHMARKS.md, "Peak RSS").
MEMORY_LIMIT_VAR = "EXPTRACK_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "3GB"


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit for this process and dbt: EXPTRACK_DUCKDB_MEMORY_LIMIT, else DEFAULT_MEMORY_LIMIT."""
    return os.environ.get(MEMORY_LIMIT_VAR, "").strip() or DEFAULT_MEMORY_LIMIT


@dataclass(frozen=True)
class DuckDBWarehouse:
    """A DuckDB file. `connect` retries briefly while another process holds the file's lock."""

    path: str
    memory_limit: str = field(default_factory=duckdb_memory_limit)
    lock_attempts: int = 5
    lock_wait_seconds: float = 0.5
    kind: str = "duckdb"

    def describe(self) -> str:
        """The warehouse in words: the DuckDB file."""
        return f"DuckDB file {self.path}"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection, retried while another process holds the file's lock."""
        path = Path(self.path)
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(self.lock_attempts):
            try:
                con = duckdb.connect(
                    str(path), read_only=read_only and path.exists(), config={"memory_limit": self.memory_limit}
                )
                break
            except duckdb.IOException as exc:
                if not is_lock_error(exc):
                    raise
                if attempt == self.lock_attempts - 1:
                    raise WarehouseBusy(
                        f"the warehouse {path} is locked by another process (a pipeline run?); try again in a minute"
                    ) from None
                time.sleep(self.lock_wait_seconds)
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    @contextmanager
    def one_connection(self, read_only: bool = False) -> Iterator[DuckDBSession]:
        """One connection for a block of reads and writes (an asset's): opening the file costs ~30 ms of CPU (its
        catalog is read; closing a writer checkpoints), a query on an open connection ~1 ms."""
        with self.connect(read_only=read_only) as con:
            yield DuckDBSession(con, self)

    def read_df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """The query's result as a DataFrame (read-only connection)."""
        with self.one_connection(read_only=True) as held:
            return held.read_df(sql, params)

    def execute(self, sql: str, params: list | None = None) -> None:
        """Run one statement in its own connection."""
        with self.one_connection() as held:
            held.execute(sql, params)

    def replace_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with the frame's rows in one transaction."""
        with self.one_connection() as held:
            held.replace_table(schema, table, frame)


@dataclass(frozen=True)
class DuckDBSession:
    """The warehouse's reads and writes on one open connection (DuckDBWarehouse.one_connection); each write is still its
    own transaction."""

    con: duckdb.DuckDBPyConnection
    warehouse: DuckDBWarehouse

    @property
    def kind(self) -> str:
        """The backend kind: duckdb."""
        return self.warehouse.kind

    def describe(self) -> str:
        """The warehouse in words: the DuckDB file."""
        return self.warehouse.describe()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The held connection (left open: one_connection closes it)."""
        yield self.con

    def read_df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """The query's result as a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def execute(self, sql: str, params: list | None = None) -> None:
        """Run one statement."""
        self.con.execute(sql, params or [])

    def replace_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with the frame's rows in one transaction."""
        con = self.con
        con.execute(f"create schema if not exists {schema}")
        con.register("_frame", frame)
        con.execute("begin transaction")
        con.execute(f"create or replace table {schema}.{table} as select * from _frame")
        con.execute("commit")
        con.unregister("_frame")
