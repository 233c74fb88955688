"""Shared fixtures: the dbt manifest, and one real end-to-end pipeline run on generated demo data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = REPO / "dbt_project"
DEMO_START, DEMO_END = "2026-10-18", "2026-11-24"
E2E_SCALE = float(os.environ.get("EXPTRACK_TEST_SCALE", "0.5"))


def _dbt() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """dagster-dbt reads target/manifest.json when the definitions import: parse the project once per session."""
    subprocess.run([_dbt(), "parse", "--quiet", "--profiles-dir", "."], cwd=DBT_DIR, check=True)
    return DBT_DIR / "target" / "manifest.json"


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


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, dbt_manifest) -> PipelineRun:
    """Generate the seeded demo data set and run the whole pipeline on it with real dbt on a real DuckDB file."""
    import datetime as dt

    from dagster import DagsterInstance

    from exptrack_pipeline.cli import run_pipeline
    from exptrack_pipeline.demo.generate import generate_demo

    root = tmp_path_factory.mktemp("demo")
    settings = make_settings(root)
    generate_demo(settings.raw_dir, seed=7, scale=E2E_SCALE)
    truth = json.loads((settings.raw_dir / "demo_truth.json").read_text())
    with DagsterInstance.ephemeral() as instance:
        run_pipeline(dt.date.fromisoformat(DEMO_START), dt.date.fromisoformat(DEMO_END), settings, instance=instance)
    return PipelineRun(settings=settings, truth=truth)
