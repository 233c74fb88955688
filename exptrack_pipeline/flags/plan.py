"""Plan flag changes from the warehouse: registry designs + effective statuses + decisions + the date → new rows in
`state.flag_changes` for every flag whose definition differs from the last one recorded. Runs inside the caller's
transaction (an automatic pause records its flag change in the transaction that records the pause and its alerts).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import pandas as pd

from exptrack_pipeline.flags import store
from exptrack_pipeline.flags.definition import FlagError, canonical
from exptrack_pipeline.flags.desired import FlagDesign, design_from_json, desired_serving
from exptrack_pipeline.lifecycle import store as lifecycle_store

DESIGNS_TABLE = "registry.experiment_flags"


def _ramp_stopped(events: pd.DataFrame, experiment_id: str, decided_at) -> bool:
    """Whether monitoring paused the experiment after its latest decision (which stops a ship ramp)."""
    if events.empty:
        return False
    mine = events[
        (events["experiment_id"] == experiment_id)
        & (events["source"] == "monitoring")
        & (pd.to_datetime(events["occurred_at"]) > pd.Timestamp(decided_at))
    ]
    return not mine.empty and mine.iloc[-1]["to_status"] == "paused"


@dataclass
class Plan:
    """The flag changes to apply and the problems that block others."""

    changes: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_designs(con) -> dict[str, FlagDesign]:
    """experiment_id → design, from the registry table the `experiment_registry` asset writes (empty before it ran)."""
    if not lifecycle_store.table_exists(con, DESIGNS_TABLE):
        return {}
    rows = con.execute(f"select experiment_id, design_json from {DESIGNS_TABLE}").fetchall()
    return {e: design_from_json(text) for e, text in rows}


def plan_changes(
    con,
    *,
    today: dt.date,
    actor: str,
    reason: str,
    source: str,
    only: list[str] | None = None,
    at: dt.datetime | None = None,
) -> Plan:
    """Append a change for every flag (of `only`, else all) whose desired definition differs from its last record.

    Never raises on data problems (the pause must be recorded even if its flag cannot be): they are returned in
    `problems`, e.g. a flag key last written for another experiment (collision) or weights the flag cannot express.
    """
    store.ensure_tables(con)
    designs = read_designs(con)
    if not designs:
        return Plan()
    yaml_status = dict(con.execute("select experiment_id, status from registry.experiments").fetchall())
    events = lifecycle_store.all_events(con)
    statuses = lifecycle_store.effective_statuses({e: s for e, s in yaml_status.items() if e in designs}, events)
    status = dict(zip(statuses["experiment_id"], statuses["status"], strict=True))
    decisions = lifecycle_store.latest_decisions(events).set_index("experiment_id")
    latest = store.latest_changes(con).set_index("flag_key")
    plan = Plan()
    for experiment_id, design in sorted(designs.items()):
        if (only is not None and experiment_id not in only) or experiment_id not in status:
            continue
        decided = decisions.loc[experiment_id] if experiment_id in decisions.index else None
        try:
            if decided is None:
                serving = desired_serving(design, status[experiment_id], None, None, today)
            else:
                serving = desired_serving(
                    design,
                    status[experiment_id],
                    decided["decision"],
                    decided["variant"],
                    today,
                    pd.Timestamp(decided["decided_at"]).date(),
                    _ramp_stopped(events, experiment_id, decided["decided_at"]),
                )
            definition = canonical(design.entry(serving))
        except FlagError as exc:
            plan.problems.append(str(exc))
            continue
        if design.flag_key in latest.index:
            last = latest.loc[design.flag_key]
            if last["experiment_id"] != experiment_id:
                plan.problems.append(
                    f"flag key {design.flag_key!r} of {experiment_id} already belongs to experiment "
                    f"{last['experiment_id']!r} "
                    "(recorded in state.flag_changes); exptrack does not take over another experiment's flag: "
                    "set a distinct `flag_key` in the YAML"
                )
                continue
            if last["definition_json"] == definition:
                continue
        row = {
            "flag_key": design.flag_key,
            "experiment_id": experiment_id,
            "serving": serving.mode,
            "weights_json": json.dumps(serving.weights),
            "definition_json": definition,
            "note": serving.note,
            "actor": actor,
            "reason": reason,
            "source": source,
            "changed_at": at or store.now_utc(),
        }
        store.append_change(con, **row)
        plan.changes.append(row)
    return plan
