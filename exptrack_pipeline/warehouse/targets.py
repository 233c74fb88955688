"""The choice of backend, in one place: EXPTRACK_DBT_TARGET (the setting dbt reads too) names DuckDB, PostgreSQL or
Spark.

Both the CLI (`open_warehouse(settings)`) and the Dagster `WarehouseResource` call `make_warehouse`.
"""

from __future__ import annotations

import os
from typing import Any

from exptrack_pipeline.warehouse.base import Warehouse
from exptrack_pipeline.warehouse.duckdb_backend import DuckDBWarehouse, duckdb_memory_limit
from exptrack_pipeline.warehouse.postgres_backend import PostgresWarehouse
from exptrack_pipeline.warehouse.spark_backend import SparkWarehouse
from exptrack_pipeline.warehouse.state_store import state_store_from_env

TARGETS = ("duckdb", "postgres", "spark")


def make_warehouse(
    target: str, path: str, postgres: Any = None, password: str | None = None, memory_limit: str | None = None
) -> Warehouse:
    """The DuckDB file `path` (target duckdb; memory_limit None: EXPTRACK_DUCKDB_MEMORY_LIMIT, else 3GB) or the
    PostgreSQL server `postgres` describes (host, port, user, database, sslmode; the password given, else
    EXPTRACK_PG_PASSWORD when a connection opens)."""
    if target == "postgres":
        pg = postgres
        return PostgresWarehouse(
            host=pg.host, port=pg.port, user=pg.user, database=pg.database, sslmode=pg.sslmode, password=password
        )
    if target == "spark":  # Spark Connect: EXPTRACK_SPARK_REMOTE / SPARK_REMOTE (spark_backend.py)
        file_format = os.environ.get("EXPTRACK_SPARK_FILE_FORMAT") or "parquet"
        return SparkWarehouse(file_format=file_format, state=state_store_from_env(path))  # state: EXPTRACK_STATE_URL
    if target != "duckdb":
        raise ValueError(f"warehouse target {target!r}: expected one of {', '.join(TARGETS)} (EXPTRACK_DBT_TARGET)")
    return DuckDBWarehouse(path, memory_limit=memory_limit or duckdb_memory_limit())


def open_warehouse(settings: Any, memory_limit: str | None = None) -> Warehouse:
    """The warehouse the settings name: the DuckDB file `settings.warehouse`, or PostgreSQL `settings.postgres`."""
    return make_warehouse(settings.target, str(settings.warehouse), settings.postgres, memory_limit=memory_limit)


def writer_pool(target: str | None = None) -> str | None:
    """The Dagster concurrency pool of every asset that writes the warehouse, for `target` (None:
    EXPTRACK_DBT_TARGET): `duckdb` on a DuckDB file, which takes one writing process (dagster.yaml gives pools one
    slot); None — no pool, parallel writers — on PostgreSQL and Spark. Read when the asset modules are imported."""
    target = (target or os.environ.get("EXPTRACK_DBT_TARGET") or "duckdb").strip().lower()
    return "duckdb" if target == "duckdb" else None
