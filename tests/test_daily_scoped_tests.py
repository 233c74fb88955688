"""Daily data tests that check what the run wrote (issue 16): the uniqueness and not-null tests over the per-unit
incremental tables read, on a daily run, only the rows of the run's refresh scope (tag exptrack_daily_scope,
dbt_project/macros/exptrack_test_scope.sql); their full versions (tag exptrack_full_scan) run on a backfill.

On a real DuckDB warehouse after a daily run: every scoped test passes; a duplicate of a unit outside the scope
(a row no run rewrote) is not read by the scoped test but fails the full one; a duplicate of a unit inside the
scope fails the scoped test. The scope's units are taken from the scope tables the pre-hooks read
(int_refresh_exposure_units, int_refresh_units), not from the macro under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from incremental_lab import DBT_DIR, Lab, _environ, _release_duckdb, parse_manifest
from incremental_world import World

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)


def dbt_test(lab: Lab, *select: str) -> dict[str, str]:
    """`dbt test --select ...` in-process on the lab's manifest: each test's name and status (pass / fail)."""
    from dbt.cli.main import dbtRunner

    args = ["test", "--select", *select, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--quiet"]
    args += ["--target-path", str(lab.root / "target"), "--log-path", str(lab.root / "logs"), *lab.dbt_output]
    with _environ({**lab.env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
        try:
            result = dbtRunner(manifest=lab.manifest).invoke(args)
        finally:
            _release_duckdb()
    assert result.result is not None, f"dbt test did not run: {result.exception}"
    errors = [f"{r.node.name}: {r.message}" for r in result.result.results if r.status == "error"]
    assert not errors, errors  # a test that does not compile or run is not a failed check
    return {r.node.name: str(r.status) for r in result.result.results}


def _duplicate(lab: Lab, table: str, key: str, where: str) -> None:
    """Insert a second copy of the first row of `table` matching `where` (columns of `key` ordered)."""
    lab.resource.backend().execute(
        f"insert into main.{table} select * from main.{table} where {where} order by {key} limit 1"
    )


OUT_OF_EXPOSURE_SCOPE = """
(experiment_id, user_id) not in (select experiment_id, user_id from main.int_refresh_exposure_units)
and experiment_id not in (select experiment_id from main.int_refresh_exposure_experiments)
"""
IN_EXPOSURE_SCOPE = "(experiment_id, user_id) in (select experiment_id, user_id from main.int_refresh_exposure_units)"
IN_UNIT_SCOPE = (
    "(experiment_id, metric_id, user_id) in (select experiment_id, metric_id, user_id from main.int_refresh_units)"
)


def test_daily_tests_read_the_run_scope_and_catch_a_duplicate_in_it(tmp_path: Path, dbt_manifest):
    lab = Lab.duckdb(tmp_path, dbt_manifest)
    lab.manifest = parse_manifest(lab.env, tmp_path / "parse")  # generic tests compile only on a parsed manifest
    world = World(11)
    for _ in range(4):
        world.new_day()
    lab.build(world)  # the backfill
    world.new_day()
    lab.build(world)  # a daily run: a new day's exposures and events

    scoped = dbt_test(lab, "tag:exptrack_daily_scope")
    assert len(scoped) >= 10, sorted(scoped)
    assert set(scoped.values()) == {"pass"}, scoped

    unique = "unique_combination_int_assignments_in_run_scope"
    full = [name for name in dbt_test(lab, "int_assignments,tag:exptrack_full_scan") if name.startswith("unique")]
    assert len(full) == 1, full
    assert lab.read(f"select count(*) as n from main.int_assignments where {IN_EXPOSURE_SCOPE}")["n"][0] > 0

    # a duplicate no run wrote (outside the scope): the full test sees it, the run's test does not read it
    _duplicate(lab, "int_assignments", "experiment_id, user_id", OUT_OF_EXPOSURE_SCOPE)
    assert dbt_test(lab, unique, full[0]) == {unique: "pass", full[0]: "fail"}

    # a duplicate among the rows the run rebuilt fails the run's own test; so does a null value among the unit values
    # the run rebuilt (their unit-days changed)
    _duplicate(lab, "int_assignments", "experiment_id, user_id", IN_EXPOSURE_SCOPE)
    not_null = "columns_valid_int_unit_metric_values_in_run_scope"  # its rules include not_null: [metric_value]
    assert lab.read(f"select count(*) as n from main.int_unit_metric_values where {IN_UNIT_SCOPE}")["n"][0] > 0
    lab.resource.backend().execute(f"update main.int_unit_metric_values set metric_value = null where {IN_UNIT_SCOPE}")
    assert dbt_test(lab, unique, not_null) == {unique: "fail", not_null: "fail"}
