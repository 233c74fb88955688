"""Incremental dbt models (issue 16), on DuckDB and PostgreSQL.

After any sequence of daily runs (late events, re-sent days, duplicate ids days later, first exposures moving
earlier, units becoming multi-variant, new / changed metrics, new experiments, changed dates and phases) the
warehouse equals a `--full-refresh` build of the same inputs to 1e-9, experiment_results included; and each run
rebuilds only the scope its changes touch (int_refresh_scope), never a fixed lookback.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from incremental_world import World
from pipeline_support import REPO

DBT_DIR = REPO / "dbt_project"
SELECT = ["+fct_variant_metric_stats", "+int_refresh_state", "+int_refresh_assignments", "+int_unit_metric_values"]
COMPARED = {
    "int_events_deduplicated": ["event_id"],
    "int_unit_metric_daily": ["experiment_id", "metric_id", "user_id", "activity_date"],
    "int_unit_metric_covariates": ["experiment_id", "metric_id", "user_id"],
    "int_unit_metric_values": ["experiment_id", "metric_id", "user_id"],
    "fct_variant_metric_stats": ["experiment_id", "metric_id", "variant", "analysis_date"],
}
EVENT_CASES = ["late_events", "resend_day", "duplicate_later", "duplicate_earlier"]
EXPOSURE_CASES = ["first_exposure_earlier", "multi_variant"]
EXPERIMENT_CASES = ["new_experiment", "changed_dates", "changed_phases"]
METRIC_CASES = ["new_metric", "changed_window"]
REGISTRY_CASES = {
    "new_metric": {("metric", "checkouts"), ("experiment", "exp_c")},
    "changed_window": {("metric", "revenue_per_user")},
    "new_experiment": {("experiment", "exp_c")},
    "changed_dates": {("experiment", "exp_a")},
    "changed_phases": {("experiment", "exp_b")},
}


class Warehouse:
    """One test warehouse: the world written into it, dbt run on it in-process, tables read back."""

    def __init__(self, warehouse, env: dict[str, str], root) -> None:
        self.warehouse, self.env, self.root = warehouse, env, root

    def build(self, world: World, full_refresh: bool = False) -> None:
        """Write the world, then `dbt run` the models up to the marts (a subprocess: dbt-duckdb keeps its file open)."""
        import os
        import subprocess

        from exptrack_pipeline.defs.project import dbt_executable

        world.write(self.warehouse, self.root / "registry")
        args = [dbt_executable(), "run", "--select", *SELECT, "--profiles-dir", ".", "--quiet"]
        args += ["--target-path", str(self.root / "target"), "--log-path", str(self.root / "logs")]
        result = subprocess.run(
            args + (["--full-refresh"] if full_refresh else []),
            cwd=DBT_DIR,
            env={**os.environ, **self.env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"dbt run failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"

    def history(self, through: object) -> pd.DataFrame:
        """exp_a's and exp_b's rows of int_unit_metric_daily_by_partition from partitions up to `through`."""
        return self.warehouse.read_df(
            "select * from main.int_unit_metric_daily_by_partition "
            f"where experiment_id in ('exp_a', 'exp_b') and partition_date <= cast('{through}' as date)"
        )

    def scope(self) -> set[tuple[str, object]]:
        frame = self.warehouse.read_df("select scope_kind, scope_key, since_date from main.int_refresh_scope")
        return {
            (kind, pd.Timestamp(since).date() if kind == "events" else key)
            for kind, key, since in frame.itertuples(index=False)
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        from exptrack_pipeline.analysis.results import compute_results
        from exptrack_pipeline.schemas import VariantMetricStats

        out = {
            name: self.warehouse.read_df(f"select * from main.{name}").sort_values(keys).reset_index(drop=True)
            for name, keys in COMPARED.items()
        }
        stats = VariantMetricStats.validate(out["fct_variant_metric_stats"].copy())
        alphas = self.warehouse.read_df("select experiment_id, alpha from registry.experiments")
        margins = self.warehouse.read_df(
            "select experiment_id, metric_id, max_relative_harm from registry.experiment_metrics"
        )
        results = compute_results(stats, alphas.set_index("experiment_id")["alpha"], margins)
        out["experiment_results"] = results.sort_values(list(results.columns[:4])).reset_index(drop=True)
        return out


def assert_same(incremental: dict[str, pd.DataFrame], full: dict[str, pd.DataFrame]) -> None:
    """Every table equal: the same rows, text and dates exactly, numbers to 1e-9 (relative beyond 1)."""
    for name, expected in full.items():
        got = incremental[name]
        assert len(got) == len(expected), f"{name}: {len(got)} rows incrementally, {len(expected)} in a full refresh"
        assert list(got.columns) == list(expected.columns), name
        for column in expected.columns:
            a, b = got[column], expected[column]
            if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
                a, b = a.astype(float).to_numpy(), b.astype(float).to_numpy()
                close = np.isclose(a, b, rtol=1e-9, atol=1e-9) | (np.isnan(a) & np.isnan(b))
                assert close.all(), (
                    f"{name}.{column}: {np.flatnonzero(~close)[:5]} differ: {a[~close][:5]} vs {b[~close][:5]}"
                )
            else:
                assert a.astype(str).tolist() == b.astype(str).tolist(), f"{name}.{column} differs"


def run_step(warehouse: Warehouse, world: World, cases: list[str]) -> None:
    """A daily run: a new day plus `cases`; the run's scope must be exactly what they changed — the earliest changed
    partition, the changed metrics and experiments — nothing earlier, nothing else."""
    changed_days = [world.new_day()]
    expected: set[tuple[str, object]] = set()
    for case in cases:
        touched = getattr(world, case)()
        if case in REGISTRY_CASES:
            expected |= REGISTRY_CASES[case]
        elif case in EVENT_CASES:
            changed_days.append(touched)
    warehouse.build(world)
    scope = warehouse.scope()
    assert scope == expected | {("events", day) for day in set(changed_days)}, (cases, scope)


def run_sequence(warehouse: Warehouse, seed: int) -> None:
    """Three days, a quiet day, then the hard cases in groups, one run each (in a random order within the group),
    ordered so that no case hides behind a later run's wider scope: the event cases' partitions first, then the
    experiment edits, the metric edits (a metric reload), the exposure cases' units last. Finally the incremental
    tables equal a full refresh of the same inputs."""
    rng = np.random.default_rng(seed)
    world = World(seed)
    for _ in range(3):
        world.new_day()
    warehouse.build(world)
    assert ("all", None) in warehouse.scope()  # no state yet: the first build is a full one
    run_step(warehouse, world, [])  # the daily schedule's usual run: the new partition only
    for group in (EVENT_CASES, EXPERIMENT_CASES):
        run_step(warehouse, world, [str(case) for case in rng.permutation(group)])
    before = warehouse.history(world.days[-1])
    run_step(warehouse, world, [str(case) for case in rng.permutation(METRIC_CASES)])
    after = warehouse.history(world.days[-2])
    changed = set(before.itertuples(index=False)) ^ set(after.itertuples(index=False))
    # the metric reload rebuilt revenue_per_user's history (its window changed) and touched nothing else of exp_a/b
    assert {row.metric_id for row in changed} == {"revenue_per_user"}, changed
    run_step(warehouse, world, [str(case) for case in rng.permutation(EXPOSURE_CASES)])
    incremental = warehouse.tables()
    warehouse.build(world, full_refresh=True)
    assert_same(incremental, warehouse.tables())


@pytest.mark.parametrize("seed", [1])
def test_incremental_runs_equal_a_full_refresh_on_duckdb(tmp_path, seed):
    from exptrack_pipeline.warehouse.duckdb_backend import DuckDBWarehouse

    path = tmp_path / "warehouse.duckdb"
    env = {"EXPTRACK_DBT_TARGET": "duckdb", "EXPTRACK_WAREHOUSE": str(path)}
    run_sequence(Warehouse(DuckDBWarehouse(str(path)), env, tmp_path), seed)


def test_incremental_runs_equal_a_full_refresh_on_postgres(pg_server, tmp_path):
    from exptrack_pipeline.warehouse.postgres_backend import PostgresWarehouse

    pg_server.create_database("incremental")
    warehouse = PostgresWarehouse(
        host=pg_server.host,
        port=pg_server.port,
        user=pg_server.user,
        database="incremental",
        sslmode="disable",
        password=pg_server.password,
    )
    env = {**pg_server.env("incremental"), "EXPTRACK_DBT_TARGET": "postgres"}
    run_sequence(Warehouse(warehouse, env, tmp_path), 3)


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
