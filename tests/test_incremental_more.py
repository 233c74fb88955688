"""The incremental unit sums, daily deltas and daily activity (issue 16), on DuckDB: a daily run rebuilds the daily
deltas of an experiment's metric only from the earliest day its changes touch (int_refresh_metric_dates) — a quiet new
day only that day, a late event from its day on, a metric reload the whole metric — and after late events, a re-sent
day, a duplicate id days later, a first exposure moving earlier, a unit becoming multi-variant and a metric reload the
tables equal a full refresh. The refresh state built alone fails instead of moving ahead of the models.
dbt runs in-process on the session's parsed manifest (incremental_lab.Lab), as the property test's runs do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from incremental_lab import Lab, _environ, _release_duckdb
from incremental_world import World
from pipeline_support import REPO

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

DBT_DIR = REPO / "dbt_project"
SELECT = [
    "+fct_variant_metric_stats",
    "+mon_experiment_daily_activity",
    "+int_refresh_state",
    "+int_refresh_assignments",
    "+int_refresh_caps",
]
COMPARED = {
    "int_unit_metric_daily": ["experiment_id", "metric_id", "user_id", "activity_date"],
    "int_unit_metric_covariates": ["experiment_id", "metric_id", "user_id"],
    "int_variant_metric_daily_deltas": ["experiment_id", "metric_id", "variant", "analysis_date"],
    "fct_variant_metric_stats": ["experiment_id", "metric_id", "variant", "analysis_date"],
    "int_experiment_unit_activity": ["experiment_id", "activity_date"],
    "mon_experiment_daily_activity": ["experiment_id", "activity_date"],
}
TAMPERED = "delta_n = delta_n + 1000"
"""A mark on deltas rows the next run must leave alone (outside its scope) or replace (inside it)."""


def lab(root: Path, manifest_path: Path) -> Lab:
    """A DuckDB test warehouse whose daily run and full refresh build SELECT, dbt in-process on the session's
    parsed manifest (incremental_lab.py: no dbt start-up and parse per run)."""
    out = Lab.duckdb(root, manifest_path)
    out.daily_selection = out.full_selection = SELECT
    return out


def run_alone(warehouse: Lab, world: World, *models: str) -> tuple[bool, str]:
    """Write the world, then `dbt run --select MODELS` alone: (success, every node's message and the exception)."""
    from dbt.cli.main import dbtRunner

    world.write(warehouse.resource.backend(), warehouse.root / "registry")
    args = ["run", "--select", *models, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--quiet"]
    args += ["--target-path", str(warehouse.root / "target"), "--log-path", str(warehouse.root / "logs")]
    args += warehouse.dbt_output
    with _environ({**warehouse.env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
        try:
            result = dbtRunner(manifest=warehouse.manifest).invoke(args)
        finally:
            _release_duckdb()
    messages = [str(r.message) for r in getattr(result.result, "results", [])]
    return result.success, "\n".join([*messages, str(result.exception or "")])


def tables(warehouse) -> dict[str, pd.DataFrame]:
    return {
        name: warehouse.read_df(f"select * from main.{name}").sort_values(keys).reset_index(drop=True)
        for name, keys in COMPARED.items()
    }


def assert_equal(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    """The same rows; text and dates exactly, numbers to 1e-9."""
    for name, frame in expected.items():
        assert len(got[name]) == len(frame), f"{name}: {len(got[name])} rows incrementally, {len(frame)} in full"
        for column in frame.columns:
            a, b = got[name][column], frame[column]
            if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
                close = np.isclose(a.astype(float), b.astype(float), rtol=1e-9, atol=1e-9, equal_nan=True)
                assert close.all(), f"{name}.{column}: {a[~close].head().tolist()} vs {b[~close].head().tolist()}"
            else:
                assert a.astype(str).tolist() == b.astype(str).tolist(), f"{name}.{column} differs"


def tamper(warehouse, metric_id: str) -> set:
    """Mark exp_a's deltas rows of `metric_id`; returns the days marked."""
    where = f"where experiment_id = 'exp_a' and metric_id = '{metric_id}'"
    warehouse.execute(f"update main.int_variant_metric_daily_deltas set {TAMPERED} {where}")
    return marked_days(warehouse, metric_id)


def marked_days(warehouse, metric_id: str) -> set:
    frame = warehouse.read_df(
        "select analysis_date from main.int_variant_metric_daily_deltas "
        f"where experiment_id = 'exp_a' and metric_id = '{metric_id}' and delta_n >= 1000"
    )
    return {pd.Timestamp(day).date() for day in frame["analysis_date"]}


def since_dates(warehouse) -> dict[tuple[str, str], object]:
    frame = warehouse.read_df("select experiment_id, metric_id, since_date from main.int_refresh_metric_dates")
    return {(e, m): pd.Timestamp(d).date() for e, m, d in frame.itertuples(index=False)}


def test_daily_deltas_rebuild_from_the_earliest_changed_day_and_equal_a_full_refresh(tmp_path, dbt_manifest):
    runs = lab(tmp_path, dbt_manifest)
    warehouse = runs.resource.backend()
    world = World(7)
    for _ in range(4):
        world.new_day()
    runs.build(world)

    # the refresh state built alone (e.g. from the Dagster UI) would move ahead of the models: it fails instead
    state = warehouse.read_df("select * from main.int_refresh_state")
    day = world.new_day()
    succeeded, output = run_alone(runs, world, "int_source_fingerprints", "int_refresh_state")
    assert not succeeded and "only built together with every model upstream" in output, output
    assert "int_unit_metric_daily_by_partition" in output
    after = warehouse.read_df("select * from main.int_refresh_state")
    assert len(after) == len(state) and set(after["row_hash_sum"]) == set(state["row_hash_sum"])

    # a quiet new day: exp_a's purchase conversion (uncapped) is rebuilt from that day only
    marked = tamper(warehouse, "purchase_conversion")
    runs.build(world)
    assert since_dates(warehouse)[("exp_a", "purchase_conversion")] == day
    kept = marked_days(warehouse, "purchase_conversion")
    assert kept == marked and max(kept) < day, kept  # every earlier day untouched, the new day's row rebuilt

    # late events of earlier days: rebuilt from the earliest day they touch on, earlier days untouched
    world.new_day()
    late_day = max(world.late_events() for _ in range(4))  # enough late rows (the world is tiny) to reach back
    runs.build(world)
    reached = {metric: day for (experiment, metric), day in since_dates(warehouse).items() if experiment == "exp_a"}
    assert min(reached.values()) < late_day, reached  # the late events reach back: rebuilt from an earlier day
    since = reached["purchase_conversion"]
    assert since <= late_day
    assert marked_days(warehouse, "purchase_conversion") == {d for d in kept if d < since}

    # a metric reload (revenue_per_user's window) rebuilds that metric's every day
    tamper(warehouse, "revenue_per_user")
    world.new_day()
    world.changed_window()
    runs.build(world)
    assert str(since_dates(warehouse)[("exp_a", "revenue_per_user")]) == "1900-01-01"
    assert not marked_days(warehouse, "revenue_per_user")

    # the marks left on days no run rebuilt are taken off; the hard cases in one run, then the tables equal a full
    # refresh of the same inputs
    warehouse.execute("update main.int_variant_metric_daily_deltas set delta_n = delta_n - 1000 where delta_n >= 1000")
    world.new_day()
    for case in ("resend_day", "late_events", "duplicate_later", "first_exposure_earlier", "multi_variant"):
        getattr(world, case)()
    runs.build(world)
    incremental = tables(warehouse)
    runs.build(world, full_refresh=True)
    assert_equal(incremental, tables(warehouse))
