"""The lifecycle history in the warehouse: `state.lifecycle_events` (ours) and `state.experiment_status_events`
(pauses and resumes; both tables declared in exptrack_pipeline/warehouse/schema.py). No Dagster: every function
takes an open connection.

Effective status of an experiment = `to_status` of its latest status-changing event across both tables
(ordered by time, then manual before automatic so a manual move at the same instant wins), else its YAML status;
automatic events only count while the experiment is running or paused (see `effective_statuses`).
"""

from __future__ import annotations

import pandas as pd

from exptrack_pipeline.lifecycle.states import STATES, LifecycleEvent
from exptrack_pipeline.warehouse.base import table_exists
from exptrack_pipeline.warehouse.schema import LIFECYCLE_EVENT_COLUMNS as EVENT_COLUMNS
from exptrack_pipeline.warehouse.schema import LIFECYCLE_EVENTS_TABLE as EVENTS_TABLE
from exptrack_pipeline.warehouse.schema import STATUS_EVENTS_TABLE, ensure_tables

__all__ = [
    "EVENTS_TABLE",
    "EVENT_COLUMNS",
    "all_events",
    "append_events",
    "current_status",
    "effective_statuses",
    "ensure_tables",
    "latest_decisions",
    "read_events",
    "read_status_events",
]


def append_events(con, events: list[LifecycleEvent]) -> None:
    """Append events in one transaction (all or nothing)."""
    ensure_tables(con)
    frame = pd.DataFrame([e.as_row() for e in events], columns=EVENT_COLUMNS)
    con.register("_lifecycle_new", frame)
    try:
        con.execute("begin transaction")
        con.execute(
            f"insert into {EVENTS_TABLE} ({', '.join(EVENT_COLUMNS)}) select {', '.join(EVENT_COLUMNS)} from "
            "_lifecycle_new"
        )
        con.execute("commit")
    finally:
        con.unregister("_lifecycle_new")


def read_events(con) -> pd.DataFrame:
    """Our events, oldest first (an empty frame with the right columns when the table does not exist yet)."""
    if not table_exists(con, EVENTS_TABLE):
        return pd.DataFrame(
            {c: pd.Series(dtype="datetime64[us]" if c == "occurred_at" else "object") for c in EVENT_COLUMNS}
        )
    return con.execute(f"select * from {EVENTS_TABLE} order by occurred_at, experiment_id").df()


def read_status_events(con) -> pd.DataFrame:
    """The pauses and resumes of state.experiment_status_events (warehouse/schema.py), as lifecycle transitions with
    source `monitoring` (empty before the table exists)."""
    if not table_exists(con, STATUS_EVENTS_TABLE):
        return pd.DataFrame(columns=EVENT_COLUMNS)
    raw = con.execute(
        f"select experiment_id, status, actor, reason, changed_at from {STATUS_EVENTS_TABLE} order by "
        "changed_at, event_seq"
    ).df()
    out = pd.DataFrame(
        {
            "experiment_id": raw["experiment_id"].astype(str),
            "event_type": "transition",
            "from_status": None,
            "to_status": raw["status"].astype(str),
            "decision": None,
            "variant": None,
            "actor": raw["actor"].astype(str),
            "reason": raw["reason"].astype(str),
            "occurred_at": pd.to_datetime(raw["changed_at"], utc=True).dt.tz_localize(None),
            "source": "monitoring",
        }
    )
    return out[out["to_status"].isin(STATES)]


def all_events(con) -> pd.DataFrame:
    """Both tables, oldest first; `source` tells them apart (cli/pipeline = ours, monitoring = automatic)."""
    ours = read_events(con)
    theirs = read_status_events(con)
    frames = [f for f in (ours, theirs) if not f.empty]
    if not frames:
        return ours
    merged = pd.concat(frames, ignore_index=True)
    merged["occurred_at"] = pd.to_datetime(merged["occurred_at"])
    merged["_auto"] = (merged["source"] == "monitoring").astype(int)
    return merged.sort_values(["occurred_at", "_auto"], kind="stable").drop(columns="_auto").reset_index(drop=True)


def effective_statuses(yaml_status: dict[str, str], events: pd.DataFrame) -> pd.DataFrame:
    """experiment_id, status, status_since, status_source: the latest transition, else the YAML status.

    Guard: an automatic (monitoring) pause/resume only counts while the experiment is running or paused, so a
    monitoring event can never re-open a concluded or archived experiment (the same rule the monitoring
    feature's own dim_experiment_status applies to the YAML status).
    """
    moves = events[(events["event_type"] == "transition") & events["to_status"].notna()] if not events.empty else events
    rows = []
    for experiment_id, status in yaml_status.items():
        row = {"experiment_id": experiment_id, "status": status, "status_since": pd.NaT, "status_source": "yaml"}
        mine = moves[moves["experiment_id"] == experiment_id] if not moves.empty else moves
        for event in mine.itertuples():
            if event.source == "monitoring" and row["status"] not in ("running", "paused"):
                continue
            row = {
                "experiment_id": experiment_id,
                "status": event.to_status,
                "status_since": event.occurred_at,
                "status_source": event.source,
            }
        rows.append(row)
    return pd.DataFrame(rows, columns=["experiment_id", "status", "status_since", "status_source"])


def current_status(con, experiment_id: str, yaml_status: str) -> str:
    """The effective status of one experiment (see the module docstring)."""
    frame = effective_statuses({experiment_id: yaml_status}, all_events(con))
    return str(frame.iloc[0]["status"])


def latest_decisions(events: pd.DataFrame) -> pd.DataFrame:
    """The latest decision per experiment: experiment_id, decision, variant, decided_by, rationale, decided_at."""
    cols = ["experiment_id", "decision", "variant", "decided_by", "rationale", "decided_at"]
    if events.empty:
        return pd.DataFrame(columns=cols)
    d = events[events["event_type"] == "decision"].groupby("experiment_id", as_index=False).tail(1)
    return d.rename(columns={"actor": "decided_by", "reason": "rationale", "occurred_at": "decided_at"})[
        cols
    ].reset_index(drop=True)
