"""Helpers shared by test modules (import as `pipeline_support`; every conftest.py is a module named `conftest`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from background_runs import BackgroundProcess, BackgroundRun, Shared, python_script

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PipelineRun:
    settings: object
    truth: dict

    @property
    def warehouse(self) -> Path:
        return self.settings.warehouse

    def query(self, sql: str, params: list | None = None):
        import duckdb

        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).df()


def make_settings(root: Path, experiments_dir: Path | None = None):
    from exptrack_pipeline.config import Settings

    experiments_dir = experiments_dir or REPO / "experiments"
    return Settings(
        raw_dir=root / "raw",
        experiments_dir=experiments_dir,
        metrics_file=experiments_dir / "metrics.yaml",
        warehouse=root / "warehouse.duckdb",
        output_dir=root / "output",
    )


class BackgroundPipeline(BackgroundProcess):
    """The documented commands (`python -m exptrack_pipeline.demo.generate`, `exptrack run`) in a subprocess, started
    early so a second pipeline (the PostgreSQL run) overlaps with the session's other tests on the other core."""

    def __init__(
        self,
        root: Path,
        env: dict[str, str],
        start: str,
        end: str,
        scale: float,
        runner: tuple[str, ...] = ("-m", "exptrack_pipeline.cli", "run"),
    ) -> None:
        self.raw_dir, self.output_dir = root / "raw", root / "output"
        script = python_script(
            ["-m", "exptrack_pipeline.demo.generate", "--out", self.raw_dir, "--seed", "7", "--scale", scale],
            [*runner, "--start", start, "--end", end],
        )
        paths = {
            "EXPTRACK_RAW_DIR": str(self.raw_dir),
            "EXPTRACK_OUTPUT_DIR": str(self.output_dir),
            "EXPTRACK_WAREHOUSE": str(root / "unused.duckdb"),
        }
        super().__init__(root, script, {**env, **paths})


def _start_postgres_demo(shared: Shared) -> BackgroundPipeline | None:
    """`exptrack run` of the demo range on the shared PostgreSQL server, database `exptrack`."""
    import os

    server = shared.postgres()
    if server is None:
        return None
    server.create_database("exptrack")
    env = {"EXPTRACK_DBT_TARGET": "postgres", **server.env("exptrack"), "EXPTRACK_PG_SSLMODE": "disable"}
    scale = float(os.environ.get("EXPTRACK_TEST_SCALE", "1.0"))
    return BackgroundPipeline(shared.temp_dir("exptrack-pg-run-"), env, "2026-10-18", "2026-11-24", scale)


POSTGRES_DEMO = BackgroundRun("postgres_demo", _start_postgres_demo)
"""The demo pipeline on PostgreSQL (tests/test_postgres_pipeline.py)."""


def dbt_run_in_place(units: list, env: dict[str, str], target_path: Path):
    """`dbt run` of the in_place models for `units` (sources/in_place.py) against the warehouse `env` names
    (EXPTRACK_DBT_TARGET, EXPTRACK_WAREHOUSE or EXPTRACK_PG_*), as the ingestion job runs it; its own target path,
    so the session's manifest is never rewritten. Returns the CompletedProcess (output captured)."""
    import os
    import subprocess

    from exptrack_pipeline.defs.project import dbt_executable
    from exptrack_pipeline.sources.in_place import dbt_run_args

    command = [dbt_executable(), *dbt_run_args(units), "--profiles-dir", ".", "--target-path", str(target_path)]
    return subprocess.run(
        command,
        cwd=REPO / "dbt_project",
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env},
        capture_output=True,
        text=True,
    )
