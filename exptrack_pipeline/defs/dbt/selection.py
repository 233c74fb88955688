"""Which dbt data tests a run executes: the whole suite on a backfill, the cheap ones on a daily run.

A data test tagged `exptrack_full_scan` (in the models' YAML) reads a whole event-scale table — a unique or not-null
test over every event, every unit-day — so it costs a pass over all history, whatever the day added. A daily
(incremental) run leaves those out (`dbt build --exclude tag:exptrack_full_scan`); every other test, and every model,
still runs. The full suite runs on a full refresh, on the first build of a warehouse (no refresh state yet: the
backfill) and whenever the run config asks for it (`all_tests: true`, `exptrack run --all-tests`).

A test over a per-unit incremental table (unique / not null per experiment × unit) has two versions: the full one
(tag `exptrack_full_scan`) and one that reads only the rows the run rebuilt (tag `exptrack_daily_scope`, its `where`
naming the model's refresh scope: dbt_project/macros/exptrack_test_scope.sql). A daily run runs the scoped one, a run
with every test the full one (which covers the scoped one's rows).
"""

from __future__ import annotations

from exptrack_pipeline.warehouse.base import Connection, table_exists

FULL_SCAN_TAG = "exptrack_full_scan"
DAILY_SCOPE_TAG = "exptrack_daily_scope"
REFRESH_STATE = "main.int_refresh_state"
"""The incremental models' bookkeeping (dbt_project/models/intermediate/int_refresh_state.sql): written once every
incremental model is built, so it is absent until the first build of the warehouse has succeeded."""


def dbt_build_args(full_refresh: bool, all_tests: bool) -> list[str]:
    """`dbt build` arguments of a run: `--full-refresh` when asked; the full-scan tests left out unless the run is
    a full refresh or asks for every test, their run-scoped versions left out when it is."""
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    every_test = full_refresh or all_tests
    return [*args, "--exclude", f"tag:{DAILY_SCOPE_TAG if every_test else FULL_SCAN_TAG}"]


def is_backfill(con: Connection) -> bool:
    """True when the warehouse has never completed a build (no refresh state): the run builds all history."""
    return not table_exists(con, REFRESH_STATE)
