"""The Definitions load the way the Dagster UI loads them, with every asset, check, job, schedule and sensor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

REPO = Path(__file__).resolve().parents[1]


def test_workspace_validates_like_the_ui(tmp_path):
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DAGSTER_HOME": str(tmp_path)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "All code locations passed validation" in proc.stderr + proc.stdout


def test_definitions_hold_the_whole_pipeline():
    from exptrack_pipeline.definitions import build_definitions

    defs = build_definitions()

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    expected = {
        "raw_exposures",
        "raw_events",
        "experiment_registry",
        "stg_exposures",
        "stg_events",
        "int_first_exposures",
        "fct_variant_metric_stats",
        "fct_daily_exposures",
        "experiment_results",
    }
    assert expected <= keys
    # dbt's schema tests become asset checks; ingestion carries its own conservation check
    check_names = {check.name for check in graph.asset_check_keys}
    assert "rows_conserved" in check_names
    assert any(name.startswith("unique_combination_fct_variant_metric_stats") for name in check_names)
    # every asset that writes to DuckDB is in the single-slot pool
    for key in ("raw_exposures", "raw_events", "experiment_registry", "experiment_results", "fct_variant_metric_stats"):
        assets_def = defs.resolve_assets_def(key)
        assert assets_def.op.pool == "duckdb", key
    schedule = defs.resolve_schedule_def("daily_pipeline_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert defs.resolve_job_def("daily_pipeline").partitions_def is not None


def test_every_asset_is_defined_at_module_level_under_defs():
    """The wiring is module-level (no closures): importing defs/<area>/*.py alone yields every asset of the project."""
    import importlib
    import pkgutil

    import dagster as dg

    import exptrack_pipeline.defs as root
    from exptrack_pipeline.definitions import build_definitions

    found = set()
    for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, dg.AssetsDefinition):
                found |= {key.to_user_string() for key in value.keys}
    keys = {key.to_user_string() for key in build_definitions().resolve_asset_graph().get_all_asset_keys()}
    assert keys == found


IMPORT_EACH_ALONE = """
import importlib, pkgutil, sys
import exptrack_pipeline.defs as root
names = [info.name for info in pkgutil.walk_packages(root.__path__, root.__name__ + ".")]
for name in names:
    for loaded in [m for m in sys.modules if m.startswith("exptrack_pipeline")]:
        del sys.modules[loaded]
    importlib.import_module(name)
    print(name)
"""


def test_each_defs_module_imports_alone():
    """Any module under defs/ (and so each asset) imports in a fresh package state, without the others first."""
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH_ALONE], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = proc.stdout.split()
    assert "exptrack_pipeline.defs.lifecycle.assets" in imported and "exptrack_pipeline.defs.results.assets" in imported
