"""Shared fixtures: the dbt manifest, and one real end-to-end pipeline run on generated demo data."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import background_runs
import background_tests
import cpu_log
import pytest
import spark_support
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
    """dagster-dbt reads target/manifest.json when the definitions import: parse the project once per session (the
    background pytest process reads the session's, background_tests.py)."""
    if not _parsed and os.environ.get(background_tests.MANIFEST_ENV):
        _parsed.append(Path(os.environ[background_tests.MANIFEST_ENV]))
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


def pytest_configure(config):
    background_tests.register(config)
    cpu_log.register(config, child=background_tests.in_child())  # EXPTRACK_TEST_CPU_LOG: CPU-s per test


@pytest.hookimpl(trylast=True)  # after -k / -m deselection
def pytest_collection_modifyitems(config, items):
    """Tests marked `background` go to a second pytest process when others run here (background_tests.py)."""
    background_tests.split(config, items)


def pytest_collection_finish(session):
    """Start the slow runs the selected test modules declare (BACKGROUND_RUNS) in the background: each takes about
    as long as the DuckDB demo run and overlaps with the foreground tests on the second core (background_runs.py).
    Nothing starts on `--collect-only` (no test runs)."""
    if session.config.option.collectonly:
        return
    background_tests.start(session.config, prepare=_parse_manifest)  # the marked tests, in a second pytest process
    background_runs.start_declared(session, prepare=_parse_manifest)
    spark_support.start(session, DEMO_START, DEMO_END, E2E_SCALE, prepare=_parse_manifest)  # the session's JVM


def pytest_sessionfinish(session):
    background_runs.stop_all(session.config)
    spark_support.stop(session)  # the Spark runs, then the server
    background_tests.stop(session.config)


def pytest_terminal_summary(terminalreporter, config):
    background_tests.summary(terminalreporter, config)


@pytest.fixture(scope="session")
def background(pytestconfig):
    """`background(run)`: the BackgroundProcess of a declared run (started at collection, else now); skips when the
    run cannot happen here (no PostgreSQL server binaries)."""

    def get(run):
        process = background_runs.handle(pytestconfig, run)
        if process is None:
            pytest.skip(f"{run.name}: {NO_POSTGRES}")
        return process

    return get


NO_POSTGRES = (
    "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH, via pg_config or in "
    "/usr/lib/postgresql/*/bin: install them with `python3 tests/postgres_server.py install` "
    "(apt-get install postgresql) or point EXPTRACK_PG_BINDIR at them"
)


@pytest.fixture(scope="session")
def pg_server(pytestconfig):
    """The session's real PostgreSQL server (tests/postgres_server.py), shared with the background runs and stopped
    at session finish; skipped only without server binaries."""
    server = background_runs.shared(pytestconfig).postgres()
    if server is None:
        pytest.skip(NO_POSTGRES)
    return server
