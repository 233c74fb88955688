"""Portfolio metrics against their targets, learnings search and synthesis, chart geometry: pure functions on
hand-made frames whose answers are worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pipeline_support import REPO

from exptrack_pipeline.config import load_registry
from exptrack_pipeline.site import charts, learnings, scorecard

D = dt.date


@pytest.fixture(scope="module")
def experiments():
    return {e.id: e for e in load_registry(REPO / "experiments", REPO / "experiments" / "metrics.yaml").experiments}


def _outcomes(rows):
    cols = [
        "experiment_id",
        "launched_on",
        "decided_on",
        "decision",
        "shipped_variant",
        "days_to_decision",
        "implemented",
    ]
    return pd.DataFrame(rows, columns=cols)


def test_scorecard_by_quarter_against_targets():
    outcomes = _outcomes(
        [
            ["a", D(2026, 9, 1), D(2026, 9, 20), "ship", "v", 19, True],  # Q3
            ["b", D(2026, 10, 1), D(2026, 10, 10), "ship", "v", 9, False],  # Q4, win
            ["c", D(2026, 10, 5), D(2026, 10, 25), "rollback", None, 20, False],  # Q4
            ["d", D(2026, 11, 1), D(2026, 11, 12), "ship", "v", 11, True],  # Q4, win
            ["e", D(2026, 11, 3), None, None, None, None, False],  # running
        ]
    )
    wins = {"a": False, "b": True, "c": False, "d": True}
    rows = {r.key: r for r in scorecard.scorecard(outcomes, wins, scorecard.Targets(), D(2026, 11, 29))}
    # Q4: 3 completed (< 12), median days (9, 20, 11) = 11 (≤ 14), wins 2/3 ≥ 30%, implemented 1 of 2 shipped < 90%
    assert (rows["completed"].value, rows["completed"].status) == (3.0, "missed")
    assert (rows["time_to_decision_days"].value, rows["time_to_decision_days"].status) == (11.0, "met")
    assert rows["win_rate"].value == pytest.approx(2 / 3) and rows["win_rate"].status == "met"
    assert (rows["implementation_rate"].value, rows["implementation_rate"].status) == (0.5, "missed")
    assert rows["completed"].trend == [("2026Q3", 1.0), ("2026Q4", 3.0)]
    assert rows["win_rate"].trend[0] == ("2026Q3", 0.0)
    # a quarter without decisions: nothing completed, the rates are unknown rather than zero
    empty = {r.key: r for r in scorecard.scorecard(outcomes, wins, scorecard.Targets(), D(2027, 2, 1))}
    assert empty["completed"].value == 0.0 and empty["win_rate"].value is None and empty["win_rate"].status == "n/a"


def test_targets_from_a_yaml_file(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text("win_rate: 0.5\ncompleted_per_quarter: 4\n")
    t = scorecard.Targets.from_file(path)
    assert (t.win_rate, t.completed_per_quarter, t.time_to_decision_days) == (0.5, 4.0, 14)
    path.write_text("win_rte: 0.5\n")
    with pytest.raises(ValueError, match=r"unknown target.*win_rte.*known: completed_per_quarter"):
        scorecard.Targets.from_file(path)


def _results(experiment, rows):
    """rows: (analysis_date, variant, rel_lift, seq_is_significant, is_significant)."""
    return pd.DataFrame(
        [
            {
                "experiment_id": experiment.id,
                "metric_id": experiment.primary_metric,
                "metric_role": "primary",
                "direction": "increase",
                "analysis_date": pd.Timestamp(d),
                "variant": v,
                "rel_lift": lift,
                "seq_is_significant": seq,
                "is_significant": fixed,
            }
            for d, v, lift, seq, fixed in rows
        ]
    )


def test_win_and_time_to_significance(experiments):
    e = experiments["signup_social_proof"]  # 2026-11-01 .. 2026-11-14
    res = _results(
        e,
        [
            ("2026-11-05", "social_proof", 0.10, False, True),
            ("2026-11-09", "social_proof", 0.12, True, False),
            ("2026-11-15", "social_proof", 0.11, False, True),
        ],
    )
    # before the end the always-valid test decides (11-09: significant, positive); on 11-05 it is not significant
    assert scorecard.significant_win(e, res, D(2026, 11, 10)) is True
    assert scorecard.significant_win(e, res, D(2026, 11, 6)) is False
    # after the planned end the fixed-horizon test decides
    assert scorecard.significant_win(e, res, D(2026, 11, 20)) is True
    worse = res.assign(rel_lift=-res["rel_lift"])
    assert scorecard.significant_win(e, worse, D(2026, 11, 20)) is False
    tts = scorecard.time_to_significance([e, experiments["homepage_cards"]], res).set_index("experiment_id")
    assert tts.loc["signup_social_proof", "days"] == 9.0  # 11-01 .. 11-09 inclusive
    assert np.isnan(tts.loc["homepage_cards", "days"]) and tts.loc["homepage_cards", "reason"] == "no results yet"


def _library():
    return pd.DataFrame(
        [
            {
                "experiment_id": "a",
                "experiment_name": "Social proof",
                "hypothesis": "Showing counts builds trust",
                "surface": "signup_page",
                "primary_metric": "signup_conversion",
                "metrics": "signup_conversion error_rate",
                "decision": "ship",
                "variant": "v",
                "decided_on": D(2026, 11, 15),
                "rationale": "clear win",
                "result": "+12%",
                "learned": "Trust cues work on new visitors",
                "evidence": "D7 flat",
                "follow_up": "badges on checkout; testimonials",
            },
            {
                "experiment_id": "b",
                "experiment_name": "Checkout redesign",
                "hypothesis": "Fewer steps",
                "surface": "checkout",
                "primary_metric": "purchase_conversion",
                "metrics": "purchase_conversion error_rate session_duration",
                "decision": "rollback",
                "variant": "",
                "decided_on": D(2026, 11, 30),
                "rationale": "errors",
                "result": "-3%",
                "learned": "",
                "evidence": "",
                "follow_up": "",
            },
        ]
    )


def test_learnings_search_by_text_surface_and_metric():
    lib = _library()
    assert learnings.search(lib, "TRUST")["experiment_id"].tolist() == ["a"]  # case-insensitive, hypothesis and learned
    assert learnings.search(lib, "fewer steps")["experiment_id"].tolist() == ["b"]
    assert learnings.search(lib, surface="checkout")["experiment_id"].tolist() == ["b"]
    assert learnings.search(lib, metric="error_rate")["experiment_id"].tolist() == ["a", "b"]  # any role
    assert learnings.search(lib, metric="error")["experiment_id"].tolist() == []  # a metric id, not a substring
    assert learnings.search(lib, "trust", surface="checkout").empty


def test_learnings_synthesis_themes_and_ideas():
    backlog = pd.DataFrame({"experiment_id": ["checkout_express"], "surface": ["signup_page"]})
    out = learnings.synthesis(_library(), {"a": True, "b": False}, backlog)
    by_surface = out["by_surface"].set_index("surface")
    assert by_surface.loc["signup_page", ["decided", "shipped", "wins"]].tolist() == [1, 1, 1]
    assert by_surface.loc["checkout", "win_rate"] == 0.0
    assert [(i["idea"], i["queued"]) for i in out["ideas"]] == [
        ("badges on checkout", "checkout_express"),
        ("testimonials", "checkout_express"),
    ]


def test_decide_needs_a_learning_for_ship_and_rollback():
    import argparse

    at = dt.datetime(2026, 11, 15)
    for decision in ("ship", "rollback"):
        args = argparse.Namespace(decision=decision, variant="v", learned="  ", evidence="", follow_up="", actor="@a")
        with pytest.raises(ValueError, match=f"{decision} decision needs its learning: add --learned"):
            learnings.from_args("exp", args, at)
    args = argparse.Namespace(decision="iterate", variant=None, learned=None, evidence="", follow_up="", actor="@a")
    assert learnings.from_args("exp", args, at) is None


def test_chart_geometry_maps_values_onto_the_axes():
    s = charts.Scale(-0.1, 0.3, 100, 500)
    assert (s(-0.1), s(0.1), s(0.3)) == (100, 300, 500)
    assert charts.ticks(-0.1, 0.3, 4) == [-0.1, 0.0, 0.1, 0.2, 0.3]
    frame = pd.DataFrame({"variant": ["a", "a", "b"], "day": [1, 2, 1], "rate": [0.5, 0.4, 0.6]})
    chart = charts.lines(frame, "day", "rate", None, y_format="rate")
    assert [len(s["points"]) for s in chart["series"]] == [2, 1]
    a = chart["series"][0]["points"]
    assert a[0]["cx"] == chart["left"] and a[1]["cx"] == chart["right"]  # x range = [1, 2]
    assert a[0]["cy"] < a[1]["cy"]  # 0.5 is higher on screen than 0.4
