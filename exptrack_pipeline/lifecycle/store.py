"""The lifecycle history in the warehouse: `state.lifecycle_events` (ours) and `state.experiment_status_events`
(pauses and resumes; both tables declared in exptrack_pipeline/warehouse/schema.py), and `state.experiment_status`,
the effective status per experiment that dbt's dim_experiment_status reads. No Dagster: every function takes an
open connection. The effective-status rule itself is lifecycle/status.py (pure).
"""

from __future__ import annotations

import pandas as pd

from exptrack_pipeline.lifecycle.states import STATES, LifecycleEvent
from exptrack_pipeline.lifecycle.status import effective_statuses, in_rule_order, status_rows
from exptrack_pipeline.warehouse.base import table_exists
from exptrack_pipeline.warehouse.schema import LIFECYCLE_EVENT_COLUMNS as EVENT_COLUMNS
from exptrack_pipeline.warehouse.schema import LIFECYCLE_EVENTS_TABLE as EVENTS_TABLE
from exptrack_pipeline.warehouse.schema import STATUS_EVENTS_TABLE, STATUS_TABLE, ensure_tables

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
    "refresh_status_table",
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
        refresh_status_table(con)
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
    source `monitoring` and the health `trigger` of an automatic pause (empty before the table exists)."""
    if not table_exists(con, STATUS_EVENTS_TABLE):
        return pd.DataFrame(columns=[*EVENT_COLUMNS, "trigger"])
    raw = con.execute(
        f"select experiment_id, status, actor, reason, changed_at, trigger from {STATUS_EVENTS_TABLE} "
        "order by changed_at, event_seq"
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
            "trigger": raw["trigger"],
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
    return in_rule_order(pd.concat(frames, ignore_index=True))


def refresh_status_table(con) -> None:
    """Rewrite state.experiment_status from registry.experiments and both logs (inside the caller's transaction).

    Every writer of those tables calls it (the registry load, `append_events`, notify.state.record_event), so dbt's
    dim_experiment_status, a view over it, is current between pipeline runs. No-op before the registry is loaded.
    """
    if not table_exists(con, "registry.experiments"):
        return
    ensure_tables(con)
    registry = dict(con.execute("select experiment_id, status from registry.experiments").fetchall())
    rows = status_rows(registry, all_events(con))
    con.execute(f"delete from {STATUS_TABLE}")
    if rows.empty:
        return
    columns = ", ".join(rows.columns)
    con.register("_status_rows", rows)
    try:
        con.execute(f"insert into {STATUS_TABLE} ({columns}) select {columns} from _status_rows")
    finally:
        con.unregister("_status_rows")


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
