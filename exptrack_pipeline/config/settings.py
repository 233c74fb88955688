"""Where exptrack reads and writes: one absolute path each, and the warehouse target, from environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

TARGETS = ("duckdb", "postgres")


def _path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default).expanduser().resolve()


class PostgresSettings(BaseModel):
    """Where the `postgres` target lives (the same EXPTRACK_PG_* variables dbt_project/profiles.yml reads).

    The password is not a field: it is read from EXPTRACK_PG_PASSWORD when a connection opens, never stored or logged.
    """

    host: str = "localhost"
    port: int = 5432
    user: str = "exptrack"
    database: str = "exptrack"
    schema_: str = Field("main", alias="schema")
    sslmode: str = "prefer"

    model_config = {"populate_by_name": True}

    @classmethod
    def from_env(cls) -> PostgresSettings:
        """Connection settings from the EXPTRACK_PG_* variables (defaults: localhost:5432)."""
        env = os.environ.get
        port = env("EXPTRACK_PG_PORT") or "5432"
        if not port.isdigit():
            raise ValueError(f"EXPTRACK_PG_PORT={port!r} is not a port number")
        return cls(
            host=env("EXPTRACK_PG_HOST") or "localhost",
            port=int(port),
            user=env("EXPTRACK_PG_USER") or "exptrack",
            database=env("EXPTRACK_PG_DATABASE") or "exptrack",
            schema=env("EXPTRACK_PG_SCHEMA") or "main",
            sslmode=env("EXPTRACK_PG_SSLMODE") or "prefer",
        )

    def export(self) -> None:
        """Set the EXPTRACK_PG_* variables dbt's postgres profile reads."""
        os.environ.update(
            EXPTRACK_PG_HOST=self.host,
            EXPTRACK_PG_PORT=str(self.port),
            EXPTRACK_PG_USER=self.user,
            EXPTRACK_PG_DATABASE=self.database,
            EXPTRACK_PG_SCHEMA=self.schema_,
            EXPTRACK_PG_SSLMODE=self.sslmode,
        )


class Settings(BaseModel):
    """Paths of the landing zone, the experiment registry, the metric catalog and the warehouse, and its target.

    EXPTRACK_RAW_DIR (default data/raw), EXPTRACK_EXPERIMENTS_DIR (default experiments/),
    EXPTRACK_METRICS_FILE (default <experiments dir>/metrics.yaml),
    EXPTRACK_WAREHOUSE (default data/warehouse.duckdb), EXPTRACK_OUTPUT_DIR (default data/output),
    EXPTRACK_DBT_TARGET (duckdb, the default, or postgres: then EXPTRACK_PG_* say where; docs/postgres.md).
    Relative paths resolve against the current directory, so dbt and Python see the same absolute file.
    """

    raw_dir: Path
    experiments_dir: Path
    metrics_file: Path
    warehouse: Path
    output_dir: Path
    target: Literal["duckdb", "postgres"] = "duckdb"
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the EXPTRACK_* environment variables, with the repo's defaults."""
        experiments_dir = _path("EXPTRACK_EXPERIMENTS_DIR", "experiments")
        target = (os.environ.get("EXPTRACK_DBT_TARGET") or "duckdb").strip().lower()
        if target not in TARGETS:
            raise ValueError(f"EXPTRACK_DBT_TARGET={target!r}: expected one of {', '.join(TARGETS)}")
        return cls(
            raw_dir=_path("EXPTRACK_RAW_DIR", "data/raw"),
            experiments_dir=experiments_dir,
            metrics_file=_path("EXPTRACK_METRICS_FILE", str(experiments_dir / "metrics.yaml")),
            warehouse=_path("EXPTRACK_WAREHOUSE", "data/warehouse.duckdb"),
            output_dir=_path("EXPTRACK_OUTPUT_DIR", "data/output"),
            target=target,
            postgres=PostgresSettings.from_env(),
        )

    def export(self) -> None:
        """Write the resolved settings back to the environment so dbt's env_var() sees the same warehouse."""
        os.environ["EXPTRACK_RAW_DIR"] = str(self.raw_dir)
        os.environ["EXPTRACK_EXPERIMENTS_DIR"] = str(self.experiments_dir)
        os.environ["EXPTRACK_METRICS_FILE"] = str(self.metrics_file)
        os.environ["EXPTRACK_WAREHOUSE"] = str(self.warehouse)
        os.environ["EXPTRACK_OUTPUT_DIR"] = str(self.output_dir)
        os.environ["EXPTRACK_DBT_TARGET"] = self.target
        if self.target == "postgres":
            self.postgres.export()
