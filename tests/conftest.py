"""Shared fixtures: the dbt manifest, and one real end-to-end pipeline run on generated demo data."""

from __future__ import annotations

import json
import os
import subprocess
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
    from exptrack_pipeline.defs.project import dbt_executable  # the one lookup: the venv's dbt, else PATH's

    return dbt_executable()


_parsed: list[Path] = []


def _parse_manifest() -> Path:
    """dagster-dbt reads target/manifest.json when the definitions import: parse the project once per session."""
    if not _parsed:
        subprocess.run(
            [_dbt(), "parse", "--quiet", "--profiles-dir", "."],
            cwd=DBT_DIR,
            check=True,
            env={**os.environ, "EXPTRACK_DBT_TARGET": "duckdb"},
        )
        _parsed.append(DBT_DIR / "target" / "manifest.json")
    return _parsed[0]


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    return _parse_manifest()


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


def _start_postgres_server():
    import postgres_server

    bindir = postgres_server.find_bindir()
    return postgres_server.PostgresServer(bindir).start() if bindir else None


def pytest_collection_finish(session):
    """When the PostgreSQL pipeline tests are selected, start their server and their pipeline run now, in the
    background: the run takes about as long as the DuckDB demo run and overlaps with it on the second core."""
    import spark_support  # the same for the Spark pipeline tests (tests/spark_support.py)

    spark_support.start(session, DEMO_START, DEMO_END, E2E_SCALE, prepare=_parse_manifest)
    if not any(item.path.name == "test_postgres_pipeline.py" for item in session.items):
        return
    import shutil
    import tempfile

    from pipeline_support import BackgroundPipeline

    server = _start_postgres_server()
    if server is None:
        return
    _parse_manifest()  # before the background run imports the definitions, never while it reads the manifest
    server.create_database("exptrack")
    root = Path(tempfile.mkdtemp(prefix="exptrack-pg-run-"))
    env = {"EXPTRACK_DBT_TARGET": "postgres", **server.env("exptrack"), "EXPTRACK_PG_SSLMODE": "disable"}
    run = BackgroundPipeline(root, env, DEMO_START, DEMO_END, E2E_SCALE)
    session.config.stash[_PG] = (server, run, lambda: shutil.rmtree(root, ignore_errors=True))


def pytest_sessionfinish(session):
    import spark_support

    spark_support.stop(session)
    started = session.config.stash.get(_PG, None)
    if started:
        server, run, cleanup = started
        run.stop()
        server.stop()
        cleanup()


_PG = pytest.StashKey[tuple]()


@pytest.fixture(scope="session")
def postgres_background_run(pytestconfig):
    """(server, BackgroundPipeline) started at collection time, or None when the module was not selected then."""
    started = pytestconfig.stash.get(_PG, None)
    return started[:2] if started else None


@pytest.fixture(scope="session")
def pg_server(pytestconfig):
    """A real PostgreSQL server for the session (tests/postgres_server.py); skipped only without server binaries."""
    import postgres_server

    bindir = postgres_server.find_bindir()
    if bindir is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH, via pg_config or in "
            "/usr/lib/postgresql/*/bin: install them with `python3 tests/postgres_server.py install` "
            "(apt-get install postgresql) or point EXPTRACK_PG_BINDIR at them"
        )
    started = pytestconfig.stash.get(_PG, None)
    if started:  # the server the background PostgreSQL run uses; stopped at session finish
        yield started[0]
        return
    server = postgres_server.PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
