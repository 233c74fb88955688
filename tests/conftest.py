"""Shared fixtures: the dbt manifest, and one real end-to-end pipeline run on generated demo data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_support import PipelineRun, make_settings

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = REPO / "dbt_project"
DEMO_START, DEMO_END = "2026-10-18", "2026-11-24"
E2E_SCALE = float(os.environ.get("EXPTRACK_TEST_SCALE", "1.0"))

# Never post to a real Slack workspace from the test suite.
os.environ.pop("SLACK_BOT_TOKEN", None)


def _dbt() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """dagster-dbt reads target/manifest.json when the definitions import: parse the project once per session."""
    subprocess.run([_dbt(), "parse", "--quiet", "--profiles-dir", "."], cwd=DBT_DIR, check=True)
    return DBT_DIR / "target" / "manifest.json"


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


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the session (tests/postgres_server.py); skipped only without server binaries."""
    import postgres_server

    bindir = postgres_server.find_bindir()
    if bindir is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH, via pg_config or in "
            "/usr/lib/postgresql/*/bin: install them with `python3 tests/postgres_server.py install` "
            "(apt-get install postgresql) or point EXPTRACK_PG_BINDIR at them"
        )
    server = postgres_server.PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
