"""Configurable resources: where the data lives. Values come from the EXPTRACK_* environment variables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import ConfigurableResource

from exptrack_pipeline.config import Registry, load_registry
from exptrack_pipeline.warehouse import DuckDBWarehouse, PostgresWarehouse, Warehouse


class WarehouseResource(ConfigurableResource):
    """The warehouse dbt and the Python assets share: a DuckDB file (default; one writer at a time, pool `duckdb`)
    or a PostgreSQL database (`target="postgres"`, the `pg_*` fields; the password only from an `EnvVar`)."""

    target: str = "duckdb"
    path: str = ""
    memory_limit: str = "3GB"
    pg_host: str = "localhost"
    pg_port: int = 5432
    pg_user: str = "exptrack"
    pg_database: str = "exptrack"
    pg_sslmode: str = "prefer"
    pg_password: str | None = None

    def backend(self) -> Warehouse:
        if self.target == "postgres":
            return PostgresWarehouse(
                host=self.pg_host, port=self.pg_port, user=self.pg_user, database=self.pg_database,
                sslmode=self.pg_sslmode, password=self.pg_password,
            )
        if self.target != "duckdb":
            raise ValueError(f"warehouse target {self.target!r}: expected duckdb or postgres (EXPTRACK_DBT_TARGET)")
        return DuckDBWarehouse(self.path, memory_limit=self.memory_limit)

    @property
    def kind(self) -> str:
        return self.target

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Any]:
        with self.backend().connect(read_only=read_only) as con:
            yield con

    def read_df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.backend().read_df(sql, params)

    def execute(self, sql: str, params: list | None = None) -> None:
        self.backend().execute(sql, params)

    def replace_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with the frame's rows in one transaction."""
        self.backend().replace_table(schema, table, frame)

    def describe(self) -> str:
        return self.backend().describe()

    @classmethod
    def from_settings(cls, settings: Any) -> "WarehouseResource":
        if settings.target != "postgres":
            return cls(target="duckdb", path=str(settings.warehouse))
        from dagster import EnvVar

        pg = settings.postgres
        return cls(
            target="postgres", path=str(settings.warehouse), pg_host=pg.host, pg_port=pg.port, pg_user=pg.user,
            pg_database=pg.database, pg_sslmode=pg.sslmode, pg_password=EnvVar("EXPTRACK_PG_PASSWORD"),
        )


class RegistryResource(ConfigurableResource):
    """The experiment registry (one YAML per experiment) and the metric catalog."""

    experiments_dir: str
    metrics_file: str

    def load(self) -> Registry:
        return load_registry(Path(self.experiments_dir), Path(self.metrics_file))


class LandingZoneResource(ConfigurableResource):
    """The landing zone: <raw_dir>/{exposures,events}/date=YYYY-MM-DD/*.{parquet,csv,jsonl}, or the folders the
    sources YAML names (`sources_file`, when it exists; exptrack_pipeline/sources)."""

    raw_dir: str
    sources_file: str = ""
