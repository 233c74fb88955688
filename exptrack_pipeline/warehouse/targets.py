"""The choice of backend, in one place: EXPTRACK_DBT_TARGET (the setting dbt reads too) names DuckDB or PostgreSQL.

Both the CLI (`open_warehouse(settings)`) and the Dagster `WarehouseResource` call `make_warehouse`.
"""

from __future__ import annotations

from typing import Any

from exptrack_pipeline.warehouse.base import Warehouse
from exptrack_pipeline.warehouse.duckdb_backend import DEFAULT_MEMORY_LIMIT, DuckDBWarehouse
from exptrack_pipeline.warehouse.postgres_backend import PostgresWarehouse

TARGETS = ("duckdb", "postgres")


def make_warehouse(
    target: str, path: str, postgres: Any = None, password: str | None = None, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> Warehouse:
    """The DuckDB file `path` (target duckdb) or the PostgreSQL server `postgres` describes (host, port, user,
    database, sslmode; the password given, else EXPTRACK_PG_PASSWORD when a connection opens)."""
    if target == "postgres":
        pg = postgres
        return PostgresWarehouse(
            host=pg.host, port=pg.port, user=pg.user, database=pg.database, sslmode=pg.sslmode, password=password
        )
    if target != "duckdb":
        raise ValueError(f"warehouse target {target!r}: expected one of {', '.join(TARGETS)} (EXPTRACK_DBT_TARGET)")
    return DuckDBWarehouse(path, memory_limit=memory_limit)


def open_warehouse(settings: Any, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> Warehouse:
    """The warehouse the settings name: the DuckDB file `settings.warehouse`, or PostgreSQL `settings.postgres`."""
    return make_warehouse(settings.target, str(settings.warehouse), settings.postgres, memory_limit=memory_limit)
