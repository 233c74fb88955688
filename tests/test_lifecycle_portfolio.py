"""Backlog priority (ICE), the scheduling-conflict rule and check, and the operational metrics."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import yaml

from exptrack_pipeline.config import Settings
from exptrack_pipeline.lifecycle import portfolio


def make_settings(root: Path, experiments_dir: Path | None = None) -> Settings:
    """Settings under `root` (the session conftest's helper is not importable by name when tests/stats/conftest.py loads
    first)."""
    experiments_dir = experiments_dir or Path(__file__).resolve().parents[1] / "experiments"
    return Settings(
        raw_dir=root / "raw",
        experiments_dir=experiments_dir,
        metrics_file=experiments_dir / "metrics.yaml",
        warehouse=root / "warehouse.duckdb",
        output_dir=root / "output",
    )


REPO = Path(__file__).resolve().parents[1]
D = dt.date
NOV_1, NOV_14 = D(2026, 11, 1), D(2026, 11, 14)


def _row(
    eid,
    surface="checkout",
    audience="all_users",
    layer=None,
    start=NOV_1,
    end=NOV_14,
    status="running",
    ice=None,
):
    impact, confidence, effort = ice or (None, None, None)
    return {
        "experiment_id": eid,
        "experiment_name": eid,
        "owner": "@x",
        "status": status,
        "surface": surface,
        "audience": audience,
        "layer": layer,
        "start_date": start,
        "end_date": end,
        "expected_impact": impact,
        "confidence": confidence,
        "effort": effort,
        "ice_score": portfolio.ice_score(impact, confidence, effort),
    }


def test_backlog_is_ordered_by_impact_times_confidence_over_effort():
    frame = pd.DataFrame(
        [
            _row("a", status="backlog", ice=(9, 4, 6)),  # 6.0
            _row("b", status="backlog", ice=(8, 5, 2)),  # 20.0
            _row("c", status="scheduled", ice=(5, 5, 5)),  # 5.0
            _row("d", status="backlog"),  # no prioritization: last
            _row("e", status="running", ice=(10, 10, 1)),  # running: not in the backlog
        ]
    )
    backlog = portfolio.backlog(frame)
    assert backlog["experiment_id"].tolist() == ["b", "a", "c", "d"]
    assert backlog["ice_score"].iloc[:3].tolist() == [20.0, 6.0, 5.0]
    assert backlog["priority_rank"].tolist() == [1, 2, 3, 4]


def test_conflict_rule():
    rows = [
        _row("a"),
        _row("b", start=D(2026, 11, 10), end=D(2026, 11, 30)),  # overlaps a on 11-10..11-14
        _row("c", layer="L1", start=D(2026, 11, 20), end=D(2026, 11, 25)),  # overlaps b only
        _row(
            "d", layer="L1", start=D(2026, 11, 20), end=D(2026, 11, 25)
        ),  # same layer as c: allowed with c; overlaps b
        _row("e", surface="home_page"),  # other surface
        _row("f", audience="new_visitors", surface="home_page"),  # overlaps e (all_users contains new_visitors)
        _row("g", start=D(2026, 12, 1), end=D(2026, 12, 9)),  # after everyone
        _row("h", status="backlog"),  # not active
        _row(
            "i", surface="home_page", audience="returning", layer="L2"
        ),  # overlaps e (all_users) and not f (audiences differ)
    ]
    conflicts = portfolio.find_conflicts(pd.DataFrame(rows))
    pairs = {(c.experiment_a, c.experiment_b): (c.overlap_start, c.overlap_end) for c in conflicts.itertuples()}
    assert pairs == {
        ("a", "b"): (D(2026, 11, 10), D(2026, 11, 14)),
        ("b", "c"): (D(2026, 11, 20), D(2026, 11, 25)),
        ("b", "d"): (D(2026, 11, 20), D(2026, 11, 25)),
        ("e", "f"): (D(2026, 11, 1), D(2026, 11, 14)),
        ("e", "i"): (D(2026, 11, 1), D(2026, 11, 14)),
    }


def test_operational_metrics_from_launch_and_decision_events():
    frame = pd.DataFrame(
        [
            _row("a", start=D(2026, 1, 5)),
            _row("b", start=D(2026, 4, 1)),
            _row("c", start=D(2026, 4, 20)),
            _row("d", status="backlog", start=D(2026, 6, 1)),
        ]
    )
    t = pd.Timestamp
    events = pd.DataFrame(
        [
            {
                "experiment_id": "a",
                "event_type": "decision",
                "decision": "ship",
                "variant": "v",
                "occurred_at": t("2026-01-15 10:00"),
                "to_status": None,
            },
            {
                "experiment_id": "a",
                "event_type": "implemented",
                "decision": None,
                "variant": None,
                "occurred_at": t("2026-02-01"),
                "to_status": None,
            },
            {
                "experiment_id": "b",
                "event_type": "transition",
                "decision": None,
                "variant": None,
                "occurred_at": t("2026-04-03"),
                "to_status": "running",
            },
            {
                "experiment_id": "b",
                "event_type": "decision",
                "decision": "rollback",
                "variant": None,
                "occurred_at": t("2026-04-30"),
                "to_status": None,
            },
            {
                "experiment_id": "c",
                "event_type": "decision",
                "decision": "ship",
                "variant": "v",
                "occurred_at": t("2026-04-28"),
                "to_status": None,
            },
        ]
    )
    outcomes = portfolio.launch_and_decision(frame, events).set_index("experiment_id")
    # a: launched on its YAML start (no running event) 01-05, decided 01-15 -> 10 days; b: launched by event 04-03 -> 27
    # days
    assert outcomes["days_to_decision"].dropna().to_dict() == {"a": 10, "b": 27, "c": 8}
    assert pd.isna(outcomes.loc["d", "days_to_decision"]) and pd.isna(outcomes.loc["d", "launched_on"])
    metrics = portfolio.operational_metrics(outcomes.reset_index())
    assert metrics["experiments_per_quarter"] == {"2026Q1": 1, "2026Q2": 2}
    assert metrics["experiments_decided"] == 3
    assert metrics["median_days_to_decision"] == 10.0
    assert abs(metrics["share_decided_within_target"] - 2 / 3) < 1e-12
    assert abs(metrics["win_rate"] - 2 / 3) < 1e-12
    assert metrics["implementation_rate"] == 0.5


def _write_overlapping_registry(target: Path) -> None:
    target.mkdir()
    shutil.copy(REPO / "experiments" / "metrics.yaml", target / "metrics.yaml")
    base = yaml.safe_load((REPO / "experiments" / "checkout_redesign.yaml").read_text())
    first = {
        **base,
        "id": "checkout_fast_lane",
        "name": "Fast lane",
        "start_date": "2026-12-01",
        "end_date": "2026-12-21",
    }
    second = {
        **base,
        "id": "checkout_trust_badges",
        "name": "Trust badges",
        "start_date": "2026-12-15",
        "end_date": "2027-01-05",
    }
    for doc in (first, second):
        (target / f"{doc['id']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def test_conflict_check_fails_naming_both_experiments_and_dates(tmp_path):
    from exptrack_pipeline.defs.lifecycle.assets import experiment_lifecycle as lifecycle_asset
    from exptrack_pipeline.defs.lifecycle.checks import no_scheduling_conflicts as check
    from exptrack_pipeline.defs.registry.assets import experiment_registry
    from exptrack_pipeline.defs.resources import RegistryResource, WarehouseResource

    experiments = tmp_path / "experiments"
    _write_overlapping_registry(experiments)
    settings = make_settings(tmp_path, experiments)
    result = dg.materialize(
        [experiment_registry, lifecycle_asset, check],
        resources={
            "warehouse": WarehouseResource(path=str(settings.warehouse)),
            "registry": RegistryResource(
                experiments_dir=str(experiments), metrics_file=str(experiments / "metrics.yaml")
            ),
        },
    )
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "no_scheduling_conflicts")
    assert not evaluation.passed
    assert "checkout_fast_lane" in evaluation.description and "checkout_trust_badges" in evaluation.description
    assert "2026-12-15" in evaluation.description and "2026-12-21" in evaluation.description

    # the same two experiments in one layer are mutually exclusive by construction: the check passes
    for path in experiments.glob("checkout_*.yaml"):
        doc = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump({**doc, "layer": "checkout_layer"}, sort_keys=False))
    result = dg.materialize(
        [experiment_registry, lifecycle_asset, check],
        resources={
            "warehouse": WarehouseResource(path=str(settings.warehouse)),
            "registry": RegistryResource(
                experiments_dir=str(experiments), metrics_file=str(experiments / "metrics.yaml")
            ),
        },
    )
    assert next(e for e in result.get_asset_check_evaluations() if e.check_name == "no_scheduling_conflicts").passed
