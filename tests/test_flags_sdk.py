"""The flag file exptrack writes, evaluated by the real OpenFeature SDK with the flagd provider (FILE resolver,
offline): 100,000 units split within binomial noise of each phase's weights; an automatic pause sends everyone to
control; a resume restores the same split; shipping serves the winner; ramps only move units toward the treatment."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from flags_support import RAMP, START, TODAY, evaluate, experiment, shares, warehouse

from exptrack_pipeline.flags.controller import FlagdFileController
from exptrack_pipeline.flags.sync import sync
from exptrack_pipeline.lifecycle import store as lifecycle_store
from exptrack_pipeline.lifecycle.states import LifecycleEvent, transitions_for_decision
from exptrack_pipeline.notify.service import status_note
from exptrack_pipeline.notify.state import latest_events, record_event, set_status_by_person, sync_flags

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

N = 100_000


def assert_split(assignment: dict[str, str], weights: dict[str, float]) -> None:
    """Each variant's share within 4.5 binomial standard errors of its weight (false alarm ≈ 7e-6 per check)."""
    observed = shares(assignment)
    assert set(observed) == {v for v, w in weights.items() if w > 0}, observed
    for variant, p in weights.items():
        assert abs(observed.get(variant, 0.0) - p) <= 4.5 * math.sqrt(p * (1 - p) / len(assignment)), (
            variant,
            observed,
            weights,
        )


def test_ramp_pause_resume_and_ship_drive_what_the_sdk_serves(tmp_path):
    connect = warehouse(tmp_path, [experiment()])
    path = tmp_path / "flags" / "flags.flagd.json"

    sync(connect, path, today=START, actor="exptrack", reason="daily run", source="schedule")
    phase1 = evaluate(path, "checkout_x", N)
    assert_split(phase1, {"control": 0.9, "express": 0.1})

    outcome = sync(connect, path, today=RAMP, actor="exptrack", reason="daily run", source="schedule")
    assert [c["note"] for c in outcome.plan.changes] == [f"allocation phase 2 (from {RAMP})"]
    phase2 = evaluate(path, "checkout_x", N)
    assert_split(phase2, {"control": 0.5, "express": 0.5})
    # A ramp never takes the treatment away from a unit; 40% of all units (control units above the new 50% line) move to
    # it.
    assert all(phase2[u] == "express" for u, v in phase1.items() if v == "express")
    moved = sum(phase1[u] == "control" and phase2[u] == "express" for u in phase1) / N
    assert abs(moved - 0.4) <= 4.5 * math.sqrt(0.4 * 0.6 / N)

    with connect() as con:  # the automatic pause as notify.service.raise_alerts records it: one transaction
        con.execute("begin transaction")
        record_event(
            con,
            experiment_id="checkout_x",
            status="paused",
            reason="guardrail error_rate harmed",
            actor="exptrack",
            source="automatic",
            trigger="guardrail_harm",
            level=3,
            flag_controller="flagd",
        )
        con.execute("commit")
        pending = con.execute(
            "select serving, source, written_at from state.flag_changes order by change_seq desc limit 1"
        ).fetchone()
    assert (
        pending[:2] == ("control", "monitoring") and pending[2] is None
    )  # recorded with the pause, not yet in the file
    controller = FlagdFileController(connect, path)
    [(_, status, result)] = sync_flags(connect, controller)
    assert status == "paused" and result.status == "ok" and "every unit gets control" in result.detail, result
    with connect() as con:  # what the Slack alert says about the pause
        note = status_note("checkout_x", latest_events(con).set_index("experiment_id"), None)
    assert (
        "Paused automatically by exptrack* (level 3" in note
        and "feature flag switched: flag checkout_x → paused: every unit gets control at " in note
    )
    assert set(evaluate(path, "checkout_x", N).values()) == {"control"}

    resumed = set_status_by_person(connect, controller, "checkout_x", "running", "error fixed", "@sam")
    assert resumed.ok and resumed.flag.status == "ok"
    assert evaluate(path, "checkout_x", N) == phase2  # the same units get the same variants as before the pause

    at = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=1)
    with connect() as con:  # `exptrack decide checkout_x ship express`
        current = lifecycle_store.current_status(con, "checkout_x", "running")
        events = transitions_for_decision("checkout_x", current, "@sam", "express wins", at)
        lifecycle_store.append_events(
            con,
            [
                *events,
                LifecycleEvent(
                    "checkout_x", "decision", "@sam", "express wins", at, decision="ship", variant="express"
                ),
            ],
        )
    shipped = sync(
        connect, path, today=TODAY, actor="@sam", reason="express wins", source="lifecycle", only=["checkout_x"]
    )
    assert [c["serving"] for c in shipped.plan.changes] == ["winner"]
    assert set(evaluate(path, "checkout_x", N).values()) == {"express"}


def test_a_units_variant_is_stable_across_reevaluation_and_unrelated_flag_changes(tmp_path):
    other = experiment(
        "search_ranking",
        variants=[{"name": "control", "weight": 0.5, "is_control": True}, {"name": "ml", "weight": 0.5}],
        allocation_phases=[],
    )
    connect = warehouse(tmp_path, [experiment(), other])
    path = tmp_path / "flags.flagd.json"
    sync(connect, path, today=RAMP, actor="exptrack", reason="daily run", source="schedule")
    before = evaluate(path, "checkout_x", 20_000)
    assert evaluate(path, "checkout_x", 20_000) == before
    with connect() as con:  # pausing the other experiment rewrites the file
        con.execute("begin transaction")
        record_event(
            con, experiment_id="search_ranking", status="paused", reason="srm", actor="exptrack", source="automatic"
        )
        con.execute("commit")
    assert sync(connect, path, today=RAMP, actor="exptrack", reason="daily run", source="schedule").write.written
    assert set(evaluate(path, "search_ranking", 1_000).values()) == {"control"}
    assert evaluate(path, "checkout_x", 20_000) == before
