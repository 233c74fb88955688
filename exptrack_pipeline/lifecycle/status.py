"""The effective-status rule: the one owner of "what status does exptrack treat an experiment as".

Pure (no I/O, no Dagster): it takes each experiment's registry (YAML) status and the history of status-changing
events, as `lifecycle.store.all_events` reads them from both logs:

* people's lifecycle moves (`exptrack move` / `decide`, state.lifecycle_events; `source` cli or pipeline), and
* pauses and resumes (automatic or `exptrack pause` / `resume`, state.experiment_status_events; `source` monitoring).

Rule: start from the registry status and walk the transitions in time order (a person's move before an automatic
event at the same instant); each one sets the status, except that a pause or resume only counts while the status
is running or paused, so monitoring can never re-open a backlog, scheduled, concluded or archived experiment.
Dates do not move a status: an experiment past its end date stays running until someone decides.

Python callers use `effective_statuses`; dbt's `dim_experiment_status` reads the same rows from
state.experiment_status, which `lifecycle.store.refresh_status_table` rewrites with `status_rows` whenever the
registry or either log changes (docs/architecture.md, "The effective status").
"""

from __future__ import annotations

import pandas as pd

OVERRIDABLE = ("running", "paused")
AUTOMATIC_SOURCE = "monitoring"
DETAIL_COLUMNS = [
    "experiment_id",
    "registry_status",
    "status",
    "status_since",
    "status_source",
    "status_actor",
    "status_reason",
    "status_trigger",
]
STATUS_COLUMNS = DETAIL_COLUMNS[:1] + DETAIL_COLUMNS[2:5]
# the names dbt's dim_experiment_status (and state.experiment_status) give the origin of a status
TABLE_SOURCE = {"yaml": "registry", AUTOMATIC_SOURCE: "pause_resume"}


def in_rule_order(events: pd.DataFrame) -> pd.DataFrame:
    """Events oldest first; at the same instant a person's move comes before an automatic event, so it counts first."""
    ordered = events.assign(occurred_at=pd.to_datetime(events["occurred_at"]))
    ordered["_auto"] = (ordered["source"] == AUTOMATIC_SOURCE).astype(int)
    return ordered.sort_values(["occurred_at", "_auto"], kind="stable").drop(columns="_auto").reset_index(drop=True)


def _resolve(experiment_id: str, registry_status: str, moves: pd.DataFrame) -> dict[str, object]:
    """Walk one experiment's transitions (oldest first) from its registry status."""
    row: dict[str, object] = {
        "experiment_id": experiment_id,
        "registry_status": registry_status,
        "status": registry_status,
        "status_since": pd.NaT,
        "status_source": "yaml",
        "status_actor": None,
        "status_reason": None,
        "status_trigger": None,
    }
    for event in moves.itertuples():
        if event.source == AUTOMATIC_SOURCE and row["status"] not in OVERRIDABLE:
            continue
        trigger = getattr(event, "trigger", None)
        row |= {
            "status": event.to_status,
            "status_since": event.occurred_at,
            "status_source": event.source,
            "status_actor": event.actor,
            "status_reason": event.reason,
            "status_trigger": trigger if isinstance(trigger, str) else None,
        }
    return row


def resolve_statuses(yaml_status: dict[str, str], events: pd.DataFrame) -> pd.DataFrame:
    """One row per experiment of `yaml_status` (its order) with DETAIL_COLUMNS: the status, since when, from which
    source (yaml, cli, pipeline or monitoring), who set it, why, and the health trigger of an automatic pause."""
    if not events.empty:
        events = in_rule_order(events)
    moves = events[(events["event_type"] == "transition") & events["to_status"].notna()] if not events.empty else events
    rows = []
    for experiment_id, status in yaml_status.items():
        mine = moves[moves["experiment_id"] == experiment_id] if not moves.empty else moves
        rows.append(_resolve(experiment_id, status, mine))
    frame = pd.DataFrame(rows, columns=DETAIL_COLUMNS)
    frame["status_since"] = pd.to_datetime(frame["status_since"])
    return frame


def effective_statuses(yaml_status: dict[str, str], events: pd.DataFrame) -> pd.DataFrame:
    """experiment_id, status, status_since, status_source: `resolve_statuses` without the detail columns."""
    return resolve_statuses(yaml_status, events)[STATUS_COLUMNS]


def status_rows(yaml_status: dict[str, str], events: pd.DataFrame) -> pd.DataFrame:
    """The rows of state.experiment_status (the columns of dbt's dim_experiment_status): the rule's result with
    `status_source` named registry, lifecycle (a person's move) or pause_resume."""
    frame = resolve_statuses(yaml_status, events)
    return pd.DataFrame(
        {
            "experiment_id": frame["experiment_id"].astype(str),
            "registry_status": frame["registry_status"].astype(str),
            "effective_status": frame["status"].astype(str),
            "status_reason": frame["status_reason"],
            "status_actor": frame["status_actor"],
            "status_changed_at": frame["status_since"],
            "status_trigger": frame["status_trigger"],
            "status_source": [TABLE_SOURCE.get(s, "lifecycle") for s in frame["status_source"]],
        }
    )
