"""The fixed cost of a dbt step (issue 16): partial parsing carried from run to run, no `dbt --version` subprocess and
no in-process adapter, and one DuckDB memory setting that reaches both dbt's DuckDB and the Python side's.

Real dbt throughout: the project's own parse, dbt's own partial-parsing events (`DBT_PP_TEST` makes dbt report at
INFO level that it parsed partially), a DuckDB file the warehouse resource opens.
"""

from __future__ import annotations

from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
from packaging.version import Version
from pipeline_support import REPO

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

DBT_DIR = REPO / "dbt_project"


def _parse(dbt, run_target: Path) -> list[str]:
    """`dbt parse` into run_target through the resource; the names of dbt's events."""
    invocation = dbt.cli(["parse"], target_path=run_target, raise_on_error=True)
    return [event.raw_event["info"]["name"] for event in invocation.stream_raw_events()]


def test_each_dbt_run_starts_from_the_previous_runs_parse(tmp_path, monkeypatch):
    from exptrack_pipeline.defs.dbt.cli_resource import ExptrackDbtCliResource
    from exptrack_pipeline.defs.dbt.parse_cache import (
        PARTIAL_PARSE,
        keep_partial_parse,
        run_target_path,
        seed_partial_parse,
    )
    from exptrack_pipeline.defs.project import dbt_executable

    monkeypatch.setenv("EXPTRACK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("DBT_PP_TEST", "1")
    dbt = ExptrackDbtCliResource(project_dir=str(DBT_DIR), dbt_executable=dbt_executable(), target="duckdb")
    assert dbt._cli_version == Version(installed_version("dbt-core"))
    cache = tmp_path / "target"

    first = run_target_path(cache, "exptrack_dbt_models", "run00001")
    assert not seed_partial_parse(cache, first)  # nothing to start from: dbt parses everything
    assert "PartialParsingEnabled" not in _parse(dbt, first)
    assert keep_partial_parse(cache, first)
    assert (cache / PARTIAL_PARSE).read_bytes() == (first / PARTIAL_PARSE).read_bytes()

    second = run_target_path(cache, "exptrack_dbt_models", "run00002")
    assert second != first and second.name.startswith("exptrack_dbt_models-run0000")
    assert seed_partial_parse(cache, second)
    assert "PartialParsingEnabled" in _parse(dbt, second)  # dbt re-used the first run's parse
    assert keep_partial_parse(cache, second)
    assert not keep_partial_parse(cache, tmp_path / "a run that wrote nothing")
    assert sorted(p.name for p in cache.iterdir() if p.is_file()) == [PARTIAL_PARSE]  # no temporary left behind


def test_runs_alternating_between_two_warehouses_each_start_from_their_own_parse(tmp_path, monkeypatch):
    """The kept parse is per profile: a run on warehouse A after one on warehouse B still parses partially (without
    the key, B's parse would make dbt re-parse everything: "profile has changed")."""
    from exptrack_pipeline.defs.dbt.cli_resource import ExptrackDbtCliResource
    from exptrack_pipeline.defs.dbt.parse_cache import (
        keep_partial_parse,
        profile_key,
        run_target_path,
        seed_partial_parse,
    )
    from exptrack_pipeline.defs.project import dbt_executable

    monkeypatch.setenv("DBT_PP_TEST", "1")
    dbt = ExptrackDbtCliResource(project_dir=str(DBT_DIR), dbt_executable=dbt_executable(), target="duckdb")
    cache, profiles = tmp_path / "target", DBT_DIR / "profiles.yml"
    started_partially = []
    for n, name in enumerate(["a", "b", "a"]):
        monkeypatch.setenv("EXPTRACK_WAREHOUSE", str(tmp_path / name / "warehouse.duckdb"))
        key = profile_key(profiles)
        run = run_target_path(cache, "exptrack_dbt_models", f"run{n:05d}")
        seed_partial_parse(cache, run, key)
        started_partially.append("PartialParsingEnabled" in _parse(dbt, run))
        assert keep_partial_parse(cache, run, key)
    assert started_partially == [False, False, True]
    monkeypatch.setenv("EXPTRACK_PG_PASSWORD", "changed")  # a secret is not part of the key (the last run's: a)
    assert profile_key(profiles) == key
    monkeypatch.setenv("EXPTRACK_DUCKDB_MEMORY_LIMIT", "1GB")  # a setting is
    assert profile_key(profiles) != key


def test_the_dbt_resource_builds_no_adapter_in_the_dagster_process():
    from exptrack_pipeline.config import Settings
    from exptrack_pipeline.defs.dbt.cli_resource import ExptrackDbtCliResource
    from exptrack_pipeline.defs.resources import build_resources

    dbt = build_resources(Settings.from_env())["dbt"]
    assert isinstance(dbt, ExptrackDbtCliResource)
    assert dbt._initialize_dbt_core_adapter(["build"]) is None


@pytest.mark.parametrize("level, write_json", [("", ""), ("debug", "true")])
def test_the_pipelines_dbt_writes_no_file_log_or_json_unless_asked(tmp_path, monkeypatch, level, write_json):
    """The dbt step's flags (`file_log_args`, `write_json_args`) as dbt receives them through the resource: by
    default no dbt.log and no JSON artifacts in the run's target folder (dagster-dbt reads stdout), but the partial
    parse the next run starts from; DBT_LOG_LEVEL_FILE=debug writes the log, SQL included, and DBT_WRITE_JSON=true
    the artifacts."""
    from exptrack_pipeline.defs.dbt.cli_resource import ExptrackDbtCliResource, file_log_args, write_json_args
    from exptrack_pipeline.defs.dbt.parse_cache import run_target_path, seed_partial_parse
    from exptrack_pipeline.defs.project import dbt_executable

    monkeypatch.setenv("EXPTRACK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", level)
    monkeypatch.setenv("DBT_WRITE_JSON", write_json)
    assert file_log_args() == ["--log-level-file", level or "none"]
    assert write_json_args() == ([] if write_json else ["--no-write-json"])
    dbt = ExptrackDbtCliResource(project_dir=str(DBT_DIR), dbt_executable=dbt_executable(), target="duckdb")
    run_target = run_target_path(tmp_path / "target", "exptrack_dbt_models", "run00001")
    seed_partial_parse(DBT_DIR / "target", run_target)
    args = ["show", "--inline", "select 42 as answer", *file_log_args(), *write_json_args()]
    invocation = dbt.cli(args, target_path=run_target, raise_on_error=True)
    events = [str(event.raw_event) for event in invocation.stream_raw_events()]
    assert any("42" in event for event in events)
    assert (run_target / "partial_parse.msgpack").exists()
    log = run_target / "dbt.log"
    if level:
        assert "select 42 as answer" in log.read_text()
    else:
        assert not log.exists()
    assert (run_target / "manifest.json").exists() == bool(write_json)


def test_one_memory_setting_reaches_dbt_and_the_python_side(tmp_path, monkeypatch):
    from dbt.cli.main import dbtRunner

    from exptrack_pipeline.defs.resources import WarehouseResource

    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("EXPTRACK_DUCKDB_MEMORY_LIMIT", "512MiB")
    monkeypatch.setenv("EXPTRACK_WAREHOUSE", str(warehouse))
    with WarehouseResource(target="duckdb", path=str(warehouse)).connect() as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "512.0 MiB"
    args = ["show", "--inline", "select current_setting('memory_limit') as memory_limit", "--quiet"]
    args += ["--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR), "--target", "duckdb"]
    args += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    result = dbtRunner().invoke(args)
    assert result.success, result.exception
    assert result.result.results[0].agate_table.rows[0][0] == "512.0 MiB"


@pytest.mark.parametrize(("setting", "shown"), [("", "2.7 GiB"), (" 1GiB ", "1.0 GiB")])
def test_the_python_side_reads_the_setting_or_the_3gb_default(tmp_path, monkeypatch, setting, shown):
    from exptrack_pipeline.defs.resources import WarehouseResource

    monkeypatch.setenv("EXPTRACK_DUCKDB_MEMORY_LIMIT", setting)  # empty: unset (3GB, shown as 2.7 GiB)
    with WarehouseResource(target="duckdb", path=str(tmp_path / "w.duckdb")).connect() as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == shown


def test_old_run_folders_are_removed_and_the_newest_kept(tmp_path):
    """Every dbt step leaves a run folder (≈ 3.3 MB: compiled SQL, the partial parse). All but the KEPT_RUNS newest
    of an op go once they are a day old; the current run's folder always stays, as do younger ones (a run still
    going on elsewhere), other ops' folders and the files beside them."""
    import os
    import time

    from exptrack_pipeline.defs.dbt.parse_cache import KEPT_RUN_AGE, KEPT_RUNS, prune_run_targets, run_target_path

    target = tmp_path / "target"
    two_days_ago = time.time() - 2 * 86400

    def folder(op: str, run_id: str, modified: float) -> Path:
        run = run_target_path(target, op, run_id)
        (run / "compiled").mkdir(parents=True)
        (run / "compiled" / "model.sql").write_text("select 1")
        os.utime(run, (modified, modified))
        return run

    old = [folder("exptrack_dbt_models", f"{n:07x}", two_days_ago + n * 60) for n in range(KEPT_RUNS + 5)]
    current = old[0]  # the oldest of all (a long run), but the one pruning: kept
    recent = folder("exptrack_dbt_models", "fffffff", time.time() - KEPT_RUN_AGE / 2)  # younger than a day: kept
    other_op = folder("in_place_models", "0000000", 0.0)
    lookalike = target / "exptrack_dbt_models-notes"
    lookalike.mkdir()
    beside = [target / "manifest.json", target / "partial_parse.msgpack", target / "partial_parse.0a1b2c3d4e5f.msgpack"]
    for path in beside:
        path.write_text("kept")

    removed = prune_run_targets(target, current)

    # the KEPT_RUNS - 1 newest besides the current one are `recent` and old[-12:]; old[1:7] are beyond the count
    assert sorted(removed) == sorted(old[1:7])
    assert not any(path.exists() for path in old[1:7])
    survivors = [current, recent, *old[7:], other_op, lookalike, *beside]
    assert all(path.exists() for path in survivors)
    assert len([p for p in target.iterdir() if p.name.startswith("exptrack_dbt_models-") and p != lookalike]) == (
        KEPT_RUNS  # the current run's folder among them
    )
    following = folder("exptrack_dbt_models", "1234567", time.time())
    assert prune_run_targets(target, following) == [current]  # the next run: the last one's folder is the oldest
    assert sorted(prune_run_targets(target, following, keep=1)) == sorted(old[7:])  # beyond the count and old
    assert recent.exists() and following.exists()  # beyond the count too, but younger than KEPT_RUN_AGE
