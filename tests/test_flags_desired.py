"""What a flag serves for each lifecycle status, decision and date (the table in exptrack_pipeline/flags/desired.py),
and the flagd definitions written for each case."""

from __future__ import annotations

import datetime as dt

import pytest
from flags_support import RAMP, START, experiment

from exptrack_pipeline.flags.definition import FlagError
from exptrack_pipeline.flags.desired import FlagDesign, design_from_json, design_to_json, desired_serving

DESIGN = FlagDesign.from_experiment(experiment())
DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("status", "decision", "winner", "today", "mode", "weights"),
    [
        ("scheduled", None, None, RAMP, "control", {"control": 1.0, "express": 0.0}),
        (
            "running",
            None,
            None,
            START - DAY,
            "control",
            {"control": 1.0, "express": 0.0},
        ),  # moved early: split from the start date
        ("running", None, None, START, "split", {"control": 0.9, "express": 0.1}),
        ("running", None, None, RAMP - DAY, "split", {"control": 0.9, "express": 0.1}),
        ("running", None, None, RAMP, "split", {"control": 0.5, "express": 0.5}),
        ("paused", None, None, RAMP, "control", {"control": 1.0, "express": 0.0}),
        ("concluded", "ship", "express", RAMP, "winner", {"control": 0.0, "express": 1.0}),
        ("archived", "ship", "express", RAMP, "winner", {"control": 0.0, "express": 1.0}),
        ("concluded", "rollback", None, RAMP, "control", {"control": 1.0, "express": 0.0}),
        ("concluded", "iterate", None, RAMP, "control", {"control": 1.0, "express": 0.0}),
    ],
)
def test_what_the_flag_serves(status, decision, winner, today, mode, weights):
    serving = desired_serving(DESIGN, status, decision, winner, today)
    assert (serving.mode, serving.weights) == (mode, weights)
    entry = DESIGN.entry(serving)
    assert entry["state"] == "ENABLED" and entry["variants"] == {"control": "control", "express": "express"}
    assert entry["metadata"] == {"experiment_id": "checkout_x", "serving": mode, "managed_by": "exptrack"}
    if mode == "split":
        fractional = entry["targeting"]["fractional"]
        total = sum(w for _, w in fractional)
        assert entry["defaultVariant"] == "control" and [v for v, _ in fractional] == [
            "control",
            "express",
        ]  # control first
        assert all(isinstance(w, int) for _, w in fractional) and {
            v: w / total for v, w in fractional
        } == pytest.approx(weights, abs=1e-12)
    else:
        assert "targeting" not in entry and entry["defaultVariant"] == max(weights, key=weights.get)


def test_shipping_an_unknown_variant_is_an_error_and_designs_round_trip():
    with pytest.raises(FlagError, match="shipped variant 'nope'"):
        desired_serving(DESIGN, "concluded", "ship", "nope", RAMP)
    assert design_from_json(design_to_json(DESIGN)) == DESIGN
    assert FlagDesign.from_experiment(experiment(flag_key="checkout-v2")).flag_key == "checkout-v2"


def test_a_configured_ship_ramp_moves_units_to_the_winner_on_its_days():
    ramped = FlagDesign.from_experiment(
        experiment(ship_ramp=[{"after_days": 0, "winner_share": 0.2}, {"after_days": 3, "winner_share": 1.0}])
    )
    assert design_from_json(design_to_json(ramped)) == ramped
    decided = RAMP
    first = desired_serving(ramped, "concluded", "ship", "express", decided + DAY, decided_on=decided)
    assert (first.mode, first.weights) == ("ship_ramp", {"control": 0.8, "express": 0.2})
    assert ramped.entry(first)["targeting"]["fractional"] == [["control", 4], ["express", 1]]
    done = desired_serving(ramped, "concluded", "ship", "express", decided + 3 * DAY, decided_on=decided)
    assert (done.mode, done.weights) == ("winner", {"control": 0.0, "express": 1.0})
    with pytest.raises(ValueError, match="ship_ramp must start at after_days 0"):
        experiment(ship_ramp=[{"after_days": 1, "winner_share": 1.0}])
