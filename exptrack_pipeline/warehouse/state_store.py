"""The operational state beside a Spark warehouse: a transactional store for alerts, pauses, lifecycle and flags.

Spark tables on parquet have no row-level UPDATE, no sequences and no transactions, but the state tables need them:
an alert is claimed for delivery by one conditional `update ... returning` (exactly once across processes), status
events are numbered by a sequence, and a pause, its flag change and its outbox rows commit together. So on the
`spark` target these tables live in a transactional database — the *state store* — and everything else in Spark,
the way GrowthBook, Eppo or Statsig keep their application state in their own database beside the customer's
warehouse:

* `EXPTRACK_STATE_URL` names it: a PostgreSQL URL (`postgresql://user@host:5432/db?sslmode=require`, password from
  `EXPTRACK_STATE_PASSWORD`, else `EXPTRACK_PG_PASSWORD`) for a deployment with several processes, or a DuckDB
  file (`duckdb:///path/exptrack-state.duckdb` or a plain path). Unset: the DuckDB file `EXPTRACK_WAREHOUSE` names
  (on the spark target that file holds nothing else).
* :class:`StateRoutedConnection` is the connection the Spark warehouse hands out: a statement naming a table of the
  schemas in STATE_SCHEMAS runs in the state store (with its transactions), every other statement in Spark. The
  monitoring, lifecycle and flag code is the same on every target; a statement mixing both kinds is refused.
* The state tables dbt reads (MIRRORED: dbt's `dim_experiment_status` and the source tests) are copied into Spark
  when a connection that wrote one of them closes; the registry asset rewrites state.experiment_status on every
  run, so a copy missed by a crash is repaired by the next run.
"""

from __future__ import annotations

import os
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pandas as pd

from exptrack_pipeline.warehouse.base import Warehouse
from exptrack_pipeline.warehouse.duckdb_backend import DuckDBWarehouse
from exptrack_pipeline.warehouse.postgres_backend import PostgresWarehouse

STATE_SCHEMAS = ("alerts", "state", "monitoring")
MIRRORED = ("state.experiment_status_events", "state.experiment_status", "state.lifecycle_events")  # dbt sources
TRANSACTION = {"begin", "begin transaction", "start transaction"}
ENDS = {"commit", "rollback"}
_QUALIFIED = re.compile(r"\b([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\b", re.I)
_CREATE_SCHEMA = re.compile(r"^\s*create\s+(?:schema|database)\s+(?:if\s+not\s+exists\s+)?([a-z_][a-z0-9_]*)", re.I)
_WRITE = re.compile(r"^\s*(insert|update|delete|create|drop|alter|truncate)\b", re.I)
# DuckDB takes one process per file: other processes wait for the state store this long (short transactions)
STATE_LOCK_ATTEMPTS, STATE_LOCK_WAIT_SECONDS = 120, 0.5


def state_store(url: str | None, default_path: str | Path) -> Warehouse:
    """The state store `url` names (EXPTRACK_STATE_URL), else the DuckDB file `default_path`."""
    if not url:
        return _duckdb_store(str(default_path))
    parsed = urlparse(url)
    if parsed.scheme in ("postgres", "postgresql"):
        query = parse_qs(parsed.query)
        password = unquote(parsed.password) if parsed.password else os.environ.get("EXPTRACK_STATE_PASSWORD")
        return PostgresWarehouse(
            host=parsed.hostname or "localhost",
            port=parsed.port or 5432,
            user=unquote(parsed.username or "exptrack"),
            database=parsed.path.lstrip("/") or "exptrack",
            sslmode=query.get("sslmode", ["prefer"])[0],
            password=password,
        )
    if parsed.scheme in ("", "duckdb", "file"):
        return _duckdb_store(parsed.path if parsed.scheme else url)
    raise ValueError(
        f"EXPTRACK_STATE_URL={url!r}: expected postgresql://user@host:port/database or a DuckDB file "
        "(duckdb:///path/exptrack-state.duckdb)"
    )


def _duckdb_store(path: str) -> DuckDBWarehouse:
    """A DuckDB state file; its name must not be a state schema's (DuckDB names the database after the file, and
    `state.x` would then be ambiguous)."""
    if Path(path).stem.lower() in STATE_SCHEMAS:
        raise ValueError(
            f"the state store {path}: DuckDB names a database after its file, so {Path(path).name} clashes with the "
            f"schema {Path(path).stem}; name it e.g. exptrack-state.duckdb (EXPTRACK_STATE_URL)"
        )
    return DuckDBWarehouse(path, lock_attempts=STATE_LOCK_ATTEMPTS, lock_wait_seconds=STATE_LOCK_WAIT_SECONDS)


def state_store_from_env(default_path: str | Path) -> Warehouse:
    """The state store of the environment (EXPTRACK_STATE_URL), defaulting to the DuckDB file `default_path`."""
    return state_store(os.environ.get("EXPTRACK_STATE_URL"), default_path)


def is_state_table(qualified: str) -> bool:
    """True when `schema.table` is operational state (it lives in the state store)."""
    return qualified.split(".")[0].lower() in STATE_SCHEMAS


def _uncommented(sql: str) -> str:
    """The SQL without string literals and `--` comments (their text must not route a statement)."""
    return re.sub(r"'(?:[^']|'')*'|--[^\n]*", "''", sql)


def routes_to_state(sql: str) -> bool:
    """Whether a statement belongs to the state store; a ValueError when it mixes state and warehouse tables."""
    code = _uncommented(sql)
    created = _CREATE_SCHEMA.match(code)
    if created:
        return created.group(1).lower() in STATE_SCHEMAS
    schemas = {m.group(1).lower() for m in _QUALIFIED.finditer(code)}
    state = schemas & set(STATE_SCHEMAS)
    tables = {
        m.group(1).lower() for m in _QUALIFIED.finditer(code) if m.group(1).lower() in ("main", "raw", "registry")
    }
    if state and tables:
        raise ValueError(
            f"one statement reads both the state store ({', '.join(sorted(state))}) and the Spark warehouse "
            f"({', '.join(sorted(tables))}), which are two databases on the spark target: split it in two "
            f"(exptrack_pipeline/warehouse/state_store.py):\n{' '.join(sql.split())[:300]}"
        )
    return bool(state)


def written_mirrored_tables(sql: str) -> set[str]:
    """The mirrored tables a writing statement names."""
    if not _WRITE.match(_uncommented(sql)):
        return set()
    named = {f"{a}.{b}".lower() for a, b in _QUALIFIED.findall(_uncommented(sql))}
    return named & set(MIRRORED)


class StateRoutedConnection:
    """One connection over two databases: Spark (`spark`, a SparkConnection) and the state store (`store`).

    The store's connection opens on the first state statement and closes again at the next Spark statement outside a
    transaction, so a DuckDB state file is held only while state is being read or written. `begin` / `commit` /
    `rollback` apply to the store (Spark has no transactions). Frames given to `register` are visible on both sides.
    Attributes not defined here (`session`, `file_format`, ...) are the Spark connection's.
    """

    def __init__(self, spark: Any, store: Warehouse, read_only: bool = False) -> None:
        self.spark, self.store, self.read_only = spark, store, read_only
        self._store_con: Any = None
        self._stack = ExitStack()
        self._in_transaction = False
        self._frames: dict[str, pd.DataFrame] = {}
        self._on_spark: set[str] = set()
        self._last: Any = None
        self.dirty: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.spark, name)

    def _store(self) -> Any:
        if self._store_con is None:
            self._store_con = self._stack.enter_context(self.store.connect(read_only=self.read_only))
            for name, frame in self._frames.items():
                self._store_con.register(name, frame)
            if self._in_transaction:
                self._store_con.execute("begin transaction")
        return self._store_con

    def _release_store(self) -> None:
        if self._store_con is not None and not self._in_transaction:
            self._stack.close()
            self._store_con = None

    def execute(self, sql: str, params: list | tuple | None = None) -> StateRoutedConnection:
        """Run the statement where its tables live (see the class docstring); returns self."""
        head = sql.strip().rstrip(";").strip().lower()
        if head in TRANSACTION | ENDS:
            self._in_transaction = head in TRANSACTION
            if self._store_con is not None:
                self._store_con.execute(head)
            self._last = None
            return self
        if routes_to_state(sql):
            con = self._store()
            con.execute(sql, list(params) if params else [])
            self.dirty |= written_mirrored_tables(sql)
            self._last = con
            return self
        self._release_store()
        for name in self._frames.keys() - self._on_spark:
            if re.search(rf"\b{re.escape(name)}\b", sql):
                self.spark.register(name, self._frames[name])
                self._on_spark.add(name)
        self._last = self.spark.execute(sql, params)
        return self

    def fetchone(self) -> tuple | None:
        """The first (next) row of the last result, or None."""
        return None if self._last is None else self._last.fetchone()

    def fetchall(self) -> list[tuple]:
        """The remaining rows of the last result."""
        return [] if self._last is None else self._last.fetchall()

    def df(self) -> pd.DataFrame:
        """The last result as a DuckDB-typed DataFrame."""
        return self._last.df()

    def register(self, name: str, frame: pd.DataFrame) -> StateRoutedConnection:
        """`frame` as the table `name`, in the state store now and in Spark when a Spark statement names it."""
        self._frames[name] = frame
        self._on_spark.discard(name)
        if self._store_con is not None:
            self._store_con.register(name, frame)
        return self

    def unregister(self, name: str) -> StateRoutedConnection:
        """Drop the table `register` made, on both sides."""
        self._frames.pop(name, None)
        if self._store_con is not None:
            self._store_con.unregister(name)
        if name in self._on_spark:
            self.spark.unregister(name)
            self._on_spark.discard(name)
        return self

    def table_exists(self, qualified: str) -> bool:
        """Whether `schema.table` exists where it lives."""
        if not is_state_table(qualified):
            return self.spark.table_exists(qualified)
        schema, table = qualified.split(".")
        sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
        found = self._store().execute(sql, [schema, table]).fetchone()
        return bool(found and found[0])

    def table_columns(self, qualified: str) -> list[str]:
        """Column names of `schema.table` in order (empty when it does not exist)."""
        if not is_state_table(qualified):
            return self.spark.table_columns(qualified)
        schema, table = qualified.split(".")
        rows = self._store().execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, table],
        )
        return [r[0] for r in rows.fetchall()]

    def write_table(self, qualified: str, frame: Any, mode: str = "overwrite") -> None:
        """A Spark table written whole (SparkConnection.write_table); state tables are written with SQL instead."""
        if is_state_table(qualified):
            raise ValueError(f"{qualified} lives in the state store: write it with insert/update, not write_table")
        self.spark.write_table(qualified, frame, mode)

    def close(self) -> None:
        """Roll back a transaction left open (as closing a DuckDB or PostgreSQL connection does), copy the mirrored
        state tables written through this connection into Spark (committed rows only), then close the store."""
        try:
            if self._in_transaction and self._store_con is not None:
                self._store_con.execute("rollback")
            self._in_transaction = False
            if self.dirty:
                mirror(self._store(), self.spark)
                self.dirty.clear()
        finally:
            self._in_transaction = False
            self._release_store()


def mirror(store_con: Any, spark: Any) -> None:
    """Overwrite the Spark copies of the MIRRORED tables with the state store's rows (created by the DDL of
    warehouse/schema.py, so dbt's sources exist and keep their types even before the first pause)."""
    from exptrack_pipeline.warehouse.schema import DDL
    from exptrack_pipeline.warehouse.spark_types import spark_frame

    spark.execute("create database if not exists state")
    for table in MIRRORED:
        spark.execute(next(d for d in DDL if f"create table if not exists {table} (" in " ".join(d.split())))
        rows = store_con.execute(f"select * from {table}").df()
        spark_frame(spark.session, rows).write.insertInto(table, overwrite=True)
