"""The effective-status rule (exptrack_pipeline/lifecycle/status.py), case by case with hand-written expectations,
and the state.experiment_status table dbt's dim_experiment_status reads (rewritten by every writer)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from exptrack_pipeline.lifecycle import store
from exptrack_pipeline.lifecycle.states import LifecycleEvent
from exptrack_pipeline.lifecycle.status import resolve_statuses, status_rows

T0 = dt.datetime(2026, 11, 1, 9, 0)


def _at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def move(to: str, hours: float, actor: str = "@ann", reason: str = "a person's move") -> dict:
    """A lifecycle transition by a person (`exptrack move` / `decide`), as all_events shows it."""
    return {
        "event_type": "transition",
        "to_status": to,
        "actor": actor,
        "reason": reason,
        "occurred_at": _at(hours),
        "source": "cli",
    }


def pause(to: str, hours: float, actor: str = "exptrack", reason: str = "SRM", trigger: str | None = "srm") -> dict:
    """A pause or resume from state.experiment_status_events (automatic or by a person), as all_events shows it."""
    return {**move(to, hours, actor=actor, reason=reason), "source": "monitoring", "trigger": trigger}


def decision(hours: float) -> dict:
    """A decision row: not a transition, so it never sets a status by itself."""
    return {**move("", hours, actor="@maria", reason="ship"), "event_type": "decision", "to_status": None}


CASES = {
    # name: (registry status, events, expected status, expected source)
    "backlog": ("backlog", [], "backlog", "yaml"),
    "backlog is not paused by monitoring": ("backlog", [pause("paused", 1)], "backlog", "yaml"),
    "scheduled, start date passed, stays scheduled": ("scheduled", [], "scheduled", "yaml"),
    "running": ("running", [], "running", "yaml"),
    "running past its end date stays running": ("running", [decision(1)], "running", "yaml"),
    "paused automatically": ("running", [pause("paused", 1)], "paused", "monitoring"),
    "paused in the YAML": ("paused", [], "paused", "yaml"),
    "resumed by a person": (
        "running",
        [pause("paused", 1), pause("running", 2, actor="@li", reason="fixed", trigger=None)],
        "running",
        "monitoring",
    ),
    "resumed by a lifecycle move": ("running", [pause("paused", 1), move("running", 2)], "running", "cli"),
    "a YAML pause resumed by monitoring's resume": ("paused", [pause("running", 1)], "running", "monitoring"),
    "started from scheduled by a move": ("scheduled", [move("running", 1)], "running", "cli"),
    "a pause before the start does not count": (
        "scheduled",
        [pause("paused", 1), move("running", 2)],
        "running",
        "cli",
    ),
    "decided": ("running", [move("concluded", 3, actor="@maria"), decision(3)], "concluded", "cli"),
    "decided, then paused: stays concluded": (
        "running",
        [move("concluded", 3), pause("paused", 5)],
        "concluded",
        "cli",
    ),
    "paused, then decided": ("running", [pause("paused", 1), move("concluded", 3)], "concluded", "cli"),
    "decision and pause at the same instant: the person's move counts first": (
        "running",
        [pause("paused", 3), move("concluded", 3)],
        "concluded",
        "cli",
    ),
    "concluded in the YAML: a pause does not re-open it": ("concluded", [pause("paused", 1)], "concluded", "yaml"),
    "archived": ("running", [move("concluded", 3), move("archived", 9)], "archived", "cli"),
    "archived in the YAML": ("archived", [], "archived", "yaml"),
    # a ship ramp (decided ship, flag ramping the winner): a guardrail breach records an automatic pause that stops the
    # ramp (flags/), but the experiment stays concluded; notify.state.monitored_statuses adds `ship_ramp` on top
    "ship ramp stopped by a guardrail pause stays concluded": (
        "running",
        [move("concluded", 3), pause("paused", 30, reason="ship ramp stopped: error rate up", trigger="guardrail")],
        "concluded",
        "cli",
    ),
}


def _events(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"experiment_id": "exp", "from_status": None, "decision": None, "variant": None, **r} for r in rows]
    )


@pytest.mark.parametrize("name", list(CASES))
def test_the_effective_status_of_each_lifecycle_case(name):
    registry_status, events, status, source = CASES[name]
    # the events arrive newest first: the rule orders them itself
    frame = resolve_statuses({"exp": registry_status}, _events(events[::-1]) if events else pd.DataFrame())
    row = frame.iloc[0]
    assert (row["registry_status"], row["status"], row["status_source"]) == (registry_status, status, source)
    if source == "yaml":
        assert pd.isna(row["status_since"]) and row["status_actor"] is None and row["status_reason"] is None


def test_the_latest_counted_event_says_who_when_why_and_which_trigger():
    frame = resolve_statuses(
        {"exp": "running"}, _events([pause("paused", 1, reason="guardrail harm", trigger="guardrail_harm")])
    )
    row = frame.iloc[0]
    assert (row["status_actor"], row["status_reason"], row["status_trigger"]) == (
        "exptrack",
        "guardrail harm",
        "guardrail_harm",
    )
    assert row["status_since"] == pd.Timestamp(_at(1))
    frame = resolve_statuses({"exp": "running"}, _events([pause("paused", 1), move("concluded", 2, actor="@bo")]))
    assert frame.iloc[0][["status", "status_actor", "status_trigger"]].tolist() == ["concluded", "@bo", None]


def test_every_experiment_gets_a_row_in_registry_order_and_the_table_names_its_sources():
    events = pd.concat(
        [_events([pause("paused", 1)]), _events([move("concluded", 2)]).assign(experiment_id="exp_b")],
        ignore_index=True,
    )
    rows = status_rows({"exp_c": "backlog", "exp": "running", "exp_b": "running"}, events)
    assert rows[["experiment_id", "effective_status", "status_source"]].values.tolist() == [
        ["exp_c", "backlog", "registry"],
        ["exp", "paused", "pause_resume"],
        ["exp_b", "concluded", "lifecycle"],
    ]
    assert rows["registry_status"].tolist() == ["backlog", "running", "running"]


def _registry(con, statuses: dict[str, str]) -> None:
    con.execute("create schema if not exists registry")
    con.execute("create or replace table registry.experiments (experiment_id varchar, status varchar)")
    con.executemany("insert into registry.experiments values (?, ?)", list(statuses.items()))


def test_state_experiment_status_is_rewritten_by_the_registry_load_and_each_lifecycle_move():
    con = duckdb.connect()
    store.refresh_status_table(con)  # before the registry is loaded: nothing to do, no error
    _registry(con, {"exp_a": "running", "exp_b": "backlog"})
    store.refresh_status_table(con)
    table = (
        "select experiment_id, effective_status, status_source, status_actor from state.experiment_status order by 1"
    )
    assert con.execute(table).fetchall() == [
        ("exp_a", "running", "registry", None),
        ("exp_b", "backlog", "registry", None),
    ]
    store.append_events(
        con,
        [
            LifecycleEvent(
                "exp_a", "transition", "@maria", "decided", _at(3), from_status="running", to_status="concluded"
            )
        ],
    )
    assert con.execute(table).fetchall() == [
        ("exp_a", "concluded", "lifecycle", "@maria"),
        ("exp_b", "backlog", "registry", None),
    ]
    _registry(con, {"exp_b": "scheduled"})  # exp_a left the registry, exp_b's YAML moved on
    store.refresh_status_table(con)
    assert con.execute(table).fetchall() == [("exp_b", "scheduled", "registry", None)]
