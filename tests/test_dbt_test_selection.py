"""dbt data tests that scale (issue 16): a daily run leaves out the tests that scan a whole event-scale table, a
backfill or full refresh runs the whole suite.

The selection is dbt's own (`dbt ls` with the arguments the Dagster step passes), read against the manifest: the
expensive tests are named here by the models they test, not by the tag the code selects on, so a new unique test
on the events without the tag fails this module.
"""

from __future__ import annotations

import json
import os
import shutil

import duckdb
import pytest
from pipeline_support import REPO

DBT_DIR = REPO / "dbt_project"
EVENT_SCALE = {
    # one row per event (or a view over every event)
    "source.exptrack.raw.events",
    "model.exptrack.stg_events",
    "model.exptrack.int_events_deduplicated",
    "model.exptrack.int_metric_event_amounts",
    # one row per unit and day (and event partition), or per unit and analysis date
    "model.exptrack.int_unit_metric_daily_by_partition",
    "model.exptrack.int_unit_metric_pre_period",
    "model.exptrack.int_unit_metric_daily",
    "model.exptrack.int_quantile_observations",
}
CHEAP = {"model.exptrack.stg_experiments", "model.exptrack.fct_variant_metric_stats", "model.exptrack.int_metric_caps"}
COLUMN_RULES = "exptrack_columns_valid"
RULES_BEFORE = REPO / "tests" / "dbt_column_rules_before.txt"


def _manifest_tests() -> dict[str, dict]:
    manifest = json.loads((DBT_DIR / "target" / "manifest.json").read_text())
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}


def _tested(node: dict) -> set[str]:
    """The models and sources a data test reads."""
    depends = node["depends_on"]["nodes"]
    return {n for n in depends if n.startswith(("model.", "source."))}


@pytest.fixture(scope="module")
def dbt_ls(tmp_path_factory):
    """`dbt ls` in-process on one parsed manifest: unique_ids of the tests `dbt build <args>` would run with the
    Dagster step's own selection (the op's --select / --exclude plus the args)."""
    from dagster_dbt.asset_utils import DAGSTER_DBT_EXCLUDE_METADATA_KEY, DAGSTER_DBT_SELECT_METADATA_KEY
    from dbt.cli.main import dbtRunner

    from exptrack_pipeline.defs.dbt.assets import exptrack_dbt_models

    target = tmp_path_factory.mktemp("dbt")
    (target / "target").mkdir()
    if (DBT_DIR / "target" / "partial_parse.msgpack").exists():  # parse only what changed since `make manifest`
        shutil.copy(DBT_DIR / "target" / "partial_parse.msgpack", target / "target")
    common = ["--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR), "--quiet"]
    common += ["--target-path", str(target / "target"), "--log-path", str(target / "logs")]
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    parsed = dbtRunner().invoke(["parse", *common])
    assert parsed.success, parsed.exception
    runner = dbtRunner(manifest=parsed.result)
    tags = exptrack_dbt_models.op.tags
    base = ["--select", tags[DAGSTER_DBT_SELECT_METADATA_KEY], "--exclude", tags[DAGSTER_DBT_EXCLUDE_METADATA_KEY]]

    def selected(args: list[str]) -> set[str]:
        assert args[0] == "build"
        flags = [a for a in args[1:] if a != "--full-refresh"]  # `ls` takes the selection, not the build flags
        command = ["ls", "--resource-type", "test", "--output", "json", "--output-keys", "unique_id"]
        result = runner.invoke([*command, *flags, *base, *common])
        assert result.success, result.exception
        return {json.loads(line)["unique_id"] for line in result.result}

    return selected


def test_daily_runs_leave_out_the_full_scan_tests_and_a_backfill_runs_them(dbt_ls):
    from exptrack_pipeline.defs.dbt.selection import dbt_build_args

    tests = _manifest_tests()
    expensive = {uid for uid, node in tests.items() if _tested(node) & EVENT_SCALE}
    cheap = {uid for uid, node in tests.items() if _tested(node) and _tested(node) <= CHEAP}
    # one test per model and kind of run since the column rules were grouped (a unique test per key besides)
    assert len(expensive) >= 8 and len(cheap) >= 5

    daily = dbt_ls(dbt_build_args(full_refresh=False, all_tests=False))
    assert not daily & expensive, f"a daily run scans all history in {sorted(daily & expensive)}"
    assert cheap <= daily, f"a daily run lost cheap tests {sorted(cheap - daily)}"
    assert daily, "a daily run runs no test at all"

    backfill = dbt_ls(dbt_build_args(full_refresh=False, all_tests=True))
    full_refresh = dbt_ls(dbt_build_args(full_refresh=True, all_tests=False))
    in_place = {uid for uid, node in tests.items() if "exptrack_in_place" in node["tags"]}
    run_scoped = {uid for uid, node in tests.items() if node.get("test_metadata", {}).get("kwargs", {}).get("scope")}
    assert backfill == full_refresh == set(tests) - in_place - run_scoped
    assert expensive <= backfill
    assert run_scoped and run_scoped <= daily, f"a daily run lost its run-scoped tests {sorted(run_scoped - daily)}"


def test_every_run_scoped_test_has_its_full_version_on_a_backfill(dbt_ls):
    """A daily test that reads only the rows the run rebuilt (argument `scope`) stands for a test of the whole table
    that a backfill runs: the same check (test name, columns) on the same model."""
    from exptrack_pipeline.defs.dbt.selection import dbt_build_args

    tests = _manifest_tests()
    backfill = dbt_ls(dbt_build_args(full_refresh=False, all_tests=True))

    def check(node: dict) -> tuple:
        meta = node["test_metadata"]
        kwargs = {k: v for k, v in meta["kwargs"].items() if k not in ("scope", "model")}
        return meta["name"].removesuffix("_in_run_scope"), node["attached_node"], json.dumps(kwargs, sort_keys=True)

    full = {check(tests[uid]) for uid in backfill if "test_metadata" in tests[uid]}
    scoped = [node for node in tests.values() if node.get("test_metadata", {}).get("kwargs", {}).get("scope")]
    assert len(scoped) >= 10
    for node in scoped:
        assert check(node) in full, f"{node['name']} has no full version in a backfill"


@pytest.mark.parametrize("full_refresh", [False, True])
def test_dbt_build_args_pass_the_full_refresh(full_refresh):
    from exptrack_pipeline.defs.dbt.selection import dbt_build_args

    assert ("--full-refresh" in dbt_build_args(full_refresh, all_tests=False)) is full_refresh


def test_a_warehouse_without_refresh_state_is_a_backfill(tmp_path):
    """The first build of a warehouse (no main.int_refresh_state yet) runs every test; later builds are daily."""
    from exptrack_pipeline.defs.dbt.selection import is_backfill

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert is_backfill(con)
        con.execute("create table main.int_refresh_state as select 1 as x")
        assert not is_backfill(con)


def test_the_run_config_and_exptrack_run_ask_for_every_test():
    """`all_tests` is a run config field of the dbt step, `exptrack run --all-tests` its flag."""
    import argparse

    import dagster as dg

    from exptrack_pipeline.commands import pipeline
    from exptrack_pipeline.config import Settings
    from exptrack_pipeline.definitions import build_definitions

    defs = build_definitions(Settings.from_env())
    for job in ("analysis_job", "daily_pipeline"):
        job_def = defs.resolve_job_def(job)
        config = {"ops": {"exptrack_dbt_models": {"config": {"all_tests": True}}}}
        assert dg.validate_run_config(job_def, config)["ops"]["exptrack_dbt_models"]["config"]["all_tests"]
        assert not dg.validate_run_config(job_def, {})["ops"]["exptrack_dbt_models"]["config"]["all_tests"]
    parser = argparse.ArgumentParser()
    pipeline.register(parser.add_subparsers())
    assert parser.parse_args(["run", "--start", "2026-10-01", "--end", "2026-10-02", "--all-tests"]).all_tests


def _node_name(uid: str) -> str:
    """`int_assignments` for a model, `source:raw.events` for a source table (tests/dbt_column_rules_before.txt)."""
    kind, *_, name = uid.split(".")
    return name if kind == "model" else "source:" + ".".join(uid.split(".")[-2:])


def _tested_node(node: dict) -> str:
    """The model or source table a generic test is attached to (a run-scoped test reads the scope tables too)."""
    if node["attached_node"]:
        return node["attached_node"]
    [source] = [n for n in node["depends_on"]["nodes"] if n.startswith("source.")]
    return source


def _when(node: dict) -> str:
    """When a test runs: every_run, full_scan (backfill, full refresh, --all-tests) or daily_scope:<scope>."""
    scope = node["test_metadata"]["kwargs"].get("scope")
    if scope:
        assert node["tags"] == ["exptrack_daily_scope"], node["name"]
        return f"daily_scope:{scope}"
    return "full_scan" if "exptrack_full_scan" in node["tags"] else "every_run"


def _column_rules(node: dict) -> set[tuple[str, ...]]:
    """The (model, column, rule, when[, values]) rules of one exptrack_columns_valid test."""
    kwargs, model = node["test_metadata"]["kwargs"], _tested_node(node)
    rules = set()
    for rule in ("not_null", "non_negative"):
        rules |= {(_node_name(model), column, rule, _when(node)) for column in kwargs.get(rule, [])}
    for column, values in kwargs.get("accepted_values", {}).items():
        rules.add((_node_name(model), column, "accepted_values", _when(node), ",".join(values)))
    return rules


def test_every_column_rule_from_before_the_grouping_still_holds():
    """Grouping the single-column tests per model (issue 16) kept every rule, on the same model and column, run on
    the same runs: the list is the project's tests before the change (tests/dbt_column_rules_before.txt)."""
    before = set()
    for line in RULES_BEFORE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            before.add(tuple(line.split(" ")))
    assert len(before) >= 170
    now = set()
    for node in _manifest_tests().values():
        if node.get("test_metadata", {}).get("name") == COLUMN_RULES:
            now |= _column_rules(node)
    assert not before - now, f"column rules lost: {sorted(before - now)}"


def test_one_column_rules_test_per_model_and_run_kind():
    """Column rules are no longer one dbt node (and one Dagster check) per column: at most one
    exptrack_columns_valid test per model and kind of run, and no single-column not_null / non_negative /
    accepted_values test left."""
    tests = _manifest_tests().values()
    single = sorted(
        n["name"]
        for n in tests
        if n.get("test_metadata", {}).get("name")
        in ("not_null", "non_negative", "accepted_values", "not_null_in_run_scope")
    )
    assert not single, f"single-column tests left (give the rule to the model's {COLUMN_RULES}): {single}"
    grouped = [(_tested_node(n), _when(n)) for n in tests if n.get("test_metadata", {}).get("name") == COLUMN_RULES]
    assert len(grouped) >= 50
    repeated = sorted({g for g in grouped if grouped.count(g) > 1})
    assert not repeated, f"more than one {COLUMN_RULES} test for {repeated}"
