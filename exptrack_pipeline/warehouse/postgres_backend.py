"""PostgreSQL: the same SQL the DuckDB side runs, through a connection with DuckDB's call shape.

psycopg2 (installed with dbt-postgres) in autocommit mode, so ``begin transaction`` / ``commit`` in the caller's SQL
work as they do on DuckDB. ``?`` placeholders become ``%s``; ``register(name, frame)`` is a temp table filled by COPY.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from exptrack_pipeline.warehouse.pg_types import column_types, frame_from_rows, frame_to_csv

COPY_OPTIONS = "(format csv, null '\\N')"


def to_pyformat(sql: str) -> str:
    """`?` placeholders → `%s` and `%` → `%%`, outside quoted strings, identifiers and comments."""
    out, i, n = [], 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
            continue
        out.append("%s" if ch == "?" else "%%" if ch == "%" else ch)
        i += 1
    return "".join(out)


def _param(value):
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy scalars
    return value


class PgConnection:
    """A psycopg2 connection that answers like a DuckDB connection: execute(...).fetchone() / .fetchall() / .df()."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self._cursor = raw.cursor()

    def execute(self, sql: str, params: list | tuple | None = None) -> PgConnection:
        """Run a statement (DuckDB's `?` placeholders); returns self for chaining."""
        self._cursor = self.raw.cursor()
        if params:
            self._cursor.execute(to_pyformat(sql), [_param(p) for p in params])
        else:
            self._cursor.execute(sql)
        return self

    def fetchone(self) -> tuple | None:
        """The next row of the last result, None when exhausted."""
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple]:
        """The remaining rows of the last result."""
        return self._cursor.fetchall()

    def df(self) -> pd.DataFrame:
        """The last result as a DataFrame with pandas dtypes."""
        return frame_from_rows(self._cursor.fetchall(), self._cursor.description)

    def copy_frame(self, table: str, frame: pd.DataFrame) -> None:
        """COPY the frame's rows into `table`."""
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        with self.raw.cursor() as cur:
            cur.copy_expert(f"copy {table} ({columns}) from stdin with {COPY_OPTIONS}", frame_to_csv(frame))

    def copy_csv(self, table: str, columns: list[str], stream) -> None:
        """COPY a CSV stream (nulls as unquoted empty fields, as DuckDB writes them) into `table`."""
        with self.raw.cursor() as cur:
            cur.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin with (format csv)", stream)

    def register(self, name: str, frame: pd.DataFrame) -> PgConnection:
        """Load `frame` into temp table `name` (DuckDB's register on PostgreSQL)."""
        types = column_types(frame)
        self.execute(f"drop table if exists pg_temp.{name}")
        self.execute(f"create temp table {name} ({', '.join(f'{chr(34)}{c}{chr(34)} {t}' for c, t in types.items())})")
        self.copy_frame(name, frame)
        return self

    def unregister(self, name: str) -> PgConnection:
        """Drop the temp table `register` made."""
        return self.execute(f"drop table if exists pg_temp.{name}")

    def close(self) -> None:
        """Close the connection."""
        self.raw.close()


@dataclass(frozen=True)
class PostgresWarehouse:
    """A PostgreSQL database; the password is given (Dagster: `EnvVar`) or read from EXPTRACK_PG_PASSWORD when a
    connection opens."""

    host: str = "localhost"
    port: int = 5432
    user: str = "exptrack"
    database: str = "exptrack"
    sslmode: str = "prefer"
    password: str | None = field(default=None, repr=False)  # None: EXPTRACK_PG_PASSWORD at connect time
    kind: str = "postgres"

    def describe(self) -> str:
        """The warehouse in words: database, host, port and user."""
        return f"PostgreSQL database {self.database} on {self.host}:{self.port} as {self.user}"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[PgConnection]:
        """A psycopg2 connection (UTC; read-only transactions when asked), committed on success."""
        import psycopg2

        options = "-c timezone=UTC" + (" -c default_transaction_read_only=on" if read_only else "")
        try:
            raw = psycopg2.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                dbname=self.database,
                sslmode=self.sslmode,
                password=self.password if self.password is not None else os.environ.get("EXPTRACK_PG_PASSWORD", ""),
                options=options,
                connect_timeout=10,
                application_name="exptrack",
            )
        except psycopg2.OperationalError as exc:
            raise ConnectionError(
                f"cannot connect to the {self.describe()}: {str(exc).strip().splitlines()[0]} "
                "(check EXPTRACK_PG_HOST/PORT/USER/DATABASE and EXPTRACK_PG_PASSWORD)"
            ) from None
        raw.autocommit = True
        con = PgConnection(raw)
        try:
            yield con
        finally:
            con.close()

    def read_df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """The query's result as a DataFrame (read-only connection)."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, params).df()

    def execute(self, sql: str, params: list | None = None) -> None:
        """Run one statement in its own connection."""
        with self.connect() as con:
            con.execute(sql, params)

    def replace_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with the frame's rows in one transaction.

        Same columns and types: delete and COPY, so views built on the table (dbt's staging models) keep working.
        A different shape: drop (cascading to such views; the next dbt build re-creates them) and create.
        """
        wanted = column_types(frame)
        with self.connect() as con:
            con.execute(f"create schema if not exists {schema}")
            con.execute("begin transaction")
            try:
                current = con.execute(
                    "select column_name, data_type from information_schema.columns where table_schema = ? and "
                    "table_name = ? "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if current and dict(current) == wanted and [c for c, _ in current] == list(wanted):
                    con.execute(f"delete from {schema}.{table}")
                else:
                    con.execute(f"drop table if exists {schema}.{table} cascade")
                    con.execute(
                        f"create table {schema}.{table} "
                        f"({', '.join(f'{chr(34)}{c}{chr(34)} {t}' for c, t in wanted.items())})"
                    )
                con.copy_frame(f"{schema}.{table}", frame)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
            con.execute(f"analyze {schema}.{table}")
