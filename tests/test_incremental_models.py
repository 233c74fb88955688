"""Incremental dbt models (issue 16), on DuckDB and PostgreSQL.

After any sequence of daily runs (late events, re-sent days — also with fewer rows, a unit gone —, duplicate ids
days later, first exposures moving earlier, units becoming multi-variant, a percentile cap moved by a day's sale, new /
changed metrics — windows, caps, a retention metric's events —, new / removed experiments, changed dates and phases,
an analysed phase moving with the data, identity-map changes, registry edits and late data in one run) every mart,
lifecycle and monitoring table, every incremental model and experiment_results equal a `--full-refresh` build of the
same inputs to 1e-9; and each run rebuilds only the scope its changes touch (int_refresh_scope,
int_assignment_changes), never a fixed lookback. The sequences are in incremental_runs.py: hand-written hard cases
(exact scope per run; every kind of change at least once) and a randomized property (EXPTRACK_INCREMENTAL_SEEDS=1,2,3
runs other seeds; a failure names the seeds and each run's cases). The PostgreSQL half runs in the background lane
(background_runs.py).
"""

from __future__ import annotations

import os

from background_runs import BackgroundProcess, BackgroundRun, Shared, python_script
from incremental_lab import Lab
from incremental_runs import run_hard_cases, run_property
from pipeline_support import REPO

SEEDS = tuple(int(s) for s in os.environ.get("EXPTRACK_INCREMENTAL_SEEDS", "").split(",") if s)
DUCKDB_SEEDS, POSTGRES_SEEDS = SEEDS or (5,), SEEDS or (6, 7)  # other seeds per engine: more sequences covered


def _start_postgres(shared: Shared) -> BackgroundProcess | None:
    """The hard cases and the property on the shared PostgreSQL server, database `incremental`."""
    server = shared.postgres()
    if server is None:
        return None
    server.create_database("incremental")
    root = shared.temp_dir("exptrack-incremental-pg-")
    seeds = ",".join(map(str, POSTGRES_SEEDS))
    script = python_script([REPO / "tests" / "incremental_runs.py", "--root", root, "--seeds", seeds])
    env = {**server.env("incremental"), "EXPTRACK_DBT_TARGET": "postgres", "EXPTRACK_PG_SSLMODE": "disable"}
    return BackgroundProcess(root, script, env)


INCREMENTAL_POSTGRES = BackgroundRun("incremental_postgres", _start_postgres)
BACKGROUND_RUNS = (INCREMENTAL_POSTGRES,)  # started at collection (conftest.py, background_runs.py)


def test_hard_cases_rebuild_their_scope_and_equal_a_full_refresh_on_duckdb(tmp_path, dbt_manifest):
    run_hard_cases(Lab.duckdb(tmp_path, dbt_manifest), seed=1)


def test_random_daily_runs_equal_a_full_refresh_on_duckdb(tmp_path, dbt_manifest):
    run_property(Lab.duckdb(tmp_path, dbt_manifest), DUCKDB_SEEDS)


def test_hard_cases_and_random_daily_runs_equal_a_full_refresh_on_postgres(background):
    """Both sequences on PostgreSQL, run by incremental_runs.py in the background lane (started at collection)."""
    background(INCREMENTAL_POSTGRES).check("incremental runs on PostgreSQL")


def test_full_refresh_is_a_run_config_of_the_dagster_jobs_and_a_flag_of_exptrack_run():
    """The daily schedule runs incrementally (the default); `exptrack run --full-refresh` and the run config
    ops.exptrack_dbt_models.config.full_refresh rebuild everything."""
    import argparse

    import dagster as dg

    from exptrack_pipeline.commands.pipeline import register
    from exptrack_pipeline.definitions import build_definitions

    defs = build_definitions()
    for job in ("analysis_job", "daily_pipeline"):
        job_def = defs.resolve_job_def(job)
        config = {"ops": {"exptrack_dbt_models": {"config": {"full_refresh": True}}}}
        assert dg.validate_run_config(job_def, config)["ops"]["exptrack_dbt_models"]["config"]["full_refresh"]
        assert not dg.validate_run_config(job_def, {})["ops"]["exptrack_dbt_models"]["config"]["full_refresh"]
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["run", "--start", "2026-10-01", "--end", "2026-10-02", "--full-refresh"]).full_refresh
    assert not parser.parse_args(["run", "--start", "2026-10-01", "--end", "2026-10-02"]).full_refresh
