"""Lifecycle states, transitions, decisions and the effective status across our events and the monitoring feature's."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from exptrack_pipeline.lifecycle import store
from exptrack_pipeline.lifecycle.states import (
    LifecycleError,
    LifecycleEvent,
    transitions_for_decision,
    validate_decision,
    validate_transition,
)

T0 = dt.datetime(2026, 11, 1, 9, 0)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("backlog", "scheduled"),
        ("scheduled", "running"),
        ("scheduled", "backlog"),
        ("running", "paused"),
        ("paused", "running"),
        ("running", "concluded"),
        ("paused", "concluded"),
        ("concluded", "archived"),
    ],
)
def test_allowed_transitions(current, target):
    validate_transition("exp_a", current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("backlog", "running"),
        ("running", "archived"),
        ("concluded", "running"),
        ("archived", "backlog"),
        ("running", "running"),
    ],
)
def test_forbidden_transitions_name_the_experiment_and_the_options(current, target):
    with pytest.raises(LifecycleError) as exc:
        validate_transition("exp_a", current, target)
    text = str(exc.value)
    assert text.startswith("exp_a:") and f"from {current} to {target}" in text


def test_decisions_need_a_ran_experiment_and_ship_needs_a_treatment():
    variants = ["control", "b"]
    validate_decision("exp_a", "running", "ship", "b", variants, "control")
    validate_decision("exp_a", "concluded", "rollback", None, variants, "control")
    for current, decision, variant in [
        ("backlog", "ship", "b"),
        ("archived", "iterate", None),
        ("running", "ship", "control"),
        ("running", "ship", None),
        ("running", "rollback", "b"),
        ("running", "keep", None),
    ]:
        with pytest.raises(LifecycleError, match="exp_a"):
            validate_decision("exp_a", current, decision, variant, variants, "control")


def test_a_decision_on_a_running_experiment_concludes_it():
    events = transitions_for_decision("exp_a", "running", "@ann", "clear win", T0)
    assert [(e.from_status, e.to_status) for e in events] == [("running", "concluded")]
    assert transitions_for_decision("exp_a", "concluded", "@ann", "clear win", T0) == []


def _monitoring_table(con) -> None:
    """The monitoring feature's table, as exptrack_pipeline/warehouse/schema.py declares its main columns."""
    con.execute("create schema if not exists state")
    con.execute(
        "create table state.experiment_status_events (event_seq bigint, experiment_id varchar, status varchar, "
        "reason varchar, "
        "actor varchar, changed_at timestamp, source varchar, trigger varchar)"
    )


def test_effective_status_is_the_latest_event_across_both_tables():
    con = duckdb.connect()
    yaml_status = {"exp_a": "running", "exp_b": "running", "exp_c": "scheduled", "exp_d": "running"}
    assert store.effective_statuses(yaml_status, store.all_events(con))["status"].tolist() == [
        "running",
        "running",
        "scheduled",
        "running",
    ]
    _monitoring_table(con)
    con.execute(
        "insert into state.experiment_status_events values "
        "(1, 'exp_a', 'paused', 'SRM', 'exptrack', ?, 'automatic', 'srm'), "
        "(2, 'exp_b', 'paused', 'guardrail harm', 'exptrack', ?, 'automatic', 'guardrail'), "
        "(3, 'exp_d', 'paused', 'SRM', 'exptrack', ?, 'automatic', 'srm')",
        [T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=5), T0 + dt.timedelta(hours=1)],
    )
    store.append_events(
        con,
        [
            LifecycleEvent(
                "exp_a",
                "transition",
                "@ann",
                "fixed logging",
                T0 + dt.timedelta(hours=2),
                from_status="paused",
                to_status="running",
            ),
            LifecycleEvent(
                "exp_b",
                "transition",
                "@bob",
                "done",
                T0 + dt.timedelta(hours=3),
                from_status="running",
                to_status="concluded",
            ),
        ],
    )
    frame = store.effective_statuses(yaml_status, store.all_events(con)).set_index("experiment_id")
    # exp_a: automatic pause at +1h, manual resume at +2h -> running (ours is later)
    assert frame.loc["exp_a", "status"] == "running" and frame.loc["exp_a", "status_source"] == "cli"
    # exp_b: manual conclude at +3h, automatic pause at +5h -> still concluded (monitoring cannot re-open it)
    assert frame.loc["exp_b", "status"] == "concluded" and frame.loc["exp_b", "status_source"] == "cli"
    # exp_d: running in the YAML, automatically paused at +1h and nothing later -> paused (their event counts)
    # exp_c has no events: the YAML status
    assert frame.loc["exp_c", "status"] == "scheduled" and frame.loc["exp_c", "status_source"] == "yaml"
    assert frame.loc["exp_d", "status"] == "paused" and frame.loc["exp_d", "status_source"] == "monitoring"
    assert store.current_status(con, "exp_a", "running") == "running"


def test_events_round_trip_with_who_what_when_why():
    con = duckdb.connect()
    store.append_events(
        con, [LifecycleEvent("exp_a", "decision", "@ann", "clear win", T0, decision="ship", variant="b")]
    )
    events = store.read_events(con)
    row = events.iloc[0]
    assert (row["actor"], row["reason"], row["decision"], row["variant"], row["source"]) == (
        "@ann",
        "clear win",
        "ship",
        "b",
        "cli",
    )
    assert row["occurred_at"] == T0
    decisions = store.latest_decisions(events)
    assert decisions.iloc[0]["decided_by"] == "@ann" and decisions.iloc[0]["rationale"] == "clear win"
