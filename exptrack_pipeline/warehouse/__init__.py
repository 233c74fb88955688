"""One warehouse interface for the Python side, on DuckDB (the embedded default), PostgreSQL or Spark.

Everything exptrack's Python code does to a warehouse goes through a :class:`Warehouse`: ``read_df``,
``replace_table``, ``execute`` and ``connect`` (a connection with the DuckDB-style subset ``execute(sql, params)``
→ ``fetchone`` / ``fetchall`` / ``df``, ``register(name, frame)`` and ``begin transaction`` / ``commit``).
SQL written for it is plain: ``?`` placeholders, no DuckDB-only syntax (``insert or replace``, ``qualify``,
``group by all``), dates and timestamps without time zone.
"""

from exptrack_pipeline.warehouse.base import (
    Connect,
    Warehouse,
    WarehouseBusy,
    is_lock_error,
    is_write_conflict,
    table_exists,
)
from exptrack_pipeline.warehouse.duckdb_backend import (
    DEFAULT_MEMORY_LIMIT,
    MEMORY_LIMIT_VAR,
    DuckDBWarehouse,
    duckdb_memory_limit,
)
from exptrack_pipeline.warehouse.postgres_backend import PostgresWarehouse
from exptrack_pipeline.warehouse.spark_backend import SparkWarehouse
from exptrack_pipeline.warehouse.targets import TARGETS, make_warehouse, open_warehouse

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "MEMORY_LIMIT_VAR",
    "TARGETS",
    "Connect",
    "DuckDBWarehouse",
    "PostgresWarehouse",
    "SparkWarehouse",
    "Warehouse",
    "WarehouseBusy",
    "duckdb_memory_limit",
    "is_lock_error",
    "is_write_conflict",
    "make_warehouse",
    "open_warehouse",
    "table_exists",
]
