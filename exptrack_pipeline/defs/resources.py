"""Configurable resources: where the data lives. Paths come from the EXPTRACK_* environment variables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from dagster import ConfigurableResource

from exptrack_pipeline.config import Registry, load_registry


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file that dbt and the Python assets share (one writer at a time: pool `duckdb`)."""

    path: str
    memory_limit: str = "3GB"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only, config={"memory_limit": self.memory_limit})
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    def read_df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with self.connect(read_only=True) as con:
            return con.execute(sql, params or []).df()

    def replace_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with the frame's rows in one transaction."""
        with self.connect() as con:
            con.execute(f"create schema if not exists {schema}")
            con.register("_frame", frame)
            con.execute("begin transaction")
            con.execute(f"create or replace table {schema}.{table} as select * from _frame")
            con.execute("commit")
            con.unregister("_frame")


class RegistryResource(ConfigurableResource):
    """The experiment registry (one YAML per experiment) and the metric catalog."""

    experiments_dir: str
    metrics_file: str

    def load(self) -> Registry:
        return load_registry(Path(self.experiments_dir), Path(self.metrics_file))


class LandingZoneResource(ConfigurableResource):
    """The landing zone: <raw_dir>/{exposures,events}/date=YYYY-MM-DD/*.{parquet,csv,jsonl}."""

    raw_dir: str
