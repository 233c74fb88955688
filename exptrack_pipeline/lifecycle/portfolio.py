"""Portfolio logic: backlog priority (ICE), scheduling conflicts and the team's operational metrics. Pure pandas.

ICE score = expected_impact × confidence / effort, each from the YAML's `prioritization` (0–10; effort > 0).
Effort divides instead of "ease" multiplying, so halving the effort doubles the score.

Scheduling conflict rule: two experiments in an active state (scheduled, running or paused) conflict when
  (1) they are on the same `surface`,
  (2) their audiences overlap: equal, or either is `all_users` (which contains every audience),
  (3) their [start_date, end_date] ranges overlap (inclusive), and
  (4) they are NOT in the same non-null `layer` — experiments sharing a layer split its traffic, so they are
      mutually exclusive by construction and allowed to overlap. Different layers, or no layer, conflict.
The overlap reported is [max(start), min(end)].
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from exptrack_pipeline.config import Experiment
from exptrack_pipeline.lifecycle.states import ACTIVE_STATES

TIME_TO_DECISION_TARGET_DAYS = 14
ALL_USERS = "all_users"


def ice_score(impact: float | None, confidence: float | None, effort: float | None) -> float | None:
    """expected_impact × confidence / effort; None when the experiment has no `prioritization`."""
    if impact is None or confidence is None or not effort:
        return None
    return float(impact) * float(confidence) / float(effort)


def experiment_frame(experiments: list[Experiment], statuses: pd.DataFrame) -> pd.DataFrame:
    """One row per experiment: design fields, ICE inputs and score, and the effective status."""
    rows = []
    for e in experiments:
        p = e.prioritization
        rows.append(
            {
                "experiment_id": e.id,
                "experiment_name": e.name,
                "owner": e.owner,
                "pm": e.pm,
                "yaml_status": e.status,
                "surface": e.surface,
                "audience": e.audience,
                "layer": e.layer,
                "start_date": e.start_date,
                "end_date": e.end_date,
                "primary_metric": e.primary_metric,
                "expected_impact": p.expected_impact if p else None,
                "confidence": p.confidence if p else None,
                "effort": p.effort if p else None,
                "ice_score": ice_score(p.expected_impact, p.confidence, p.effort) if p else None,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.merge(statuses, on="experiment_id", how="left")


def backlog(frame: pd.DataFrame) -> pd.DataFrame:
    """Experiments not yet running (backlog, scheduled), best ICE score first (no score last; ties by start date,
    id)."""
    waiting = frame[frame["status"].isin(["backlog", "scheduled"])].copy()
    waiting = waiting.sort_values(
        ["ice_score", "start_date", "experiment_id"], ascending=[False, True, True], na_position="last"
    )
    waiting.insert(0, "priority_rank", range(1, len(waiting) + 1))
    cols = [
        "priority_rank",
        "experiment_id",
        "experiment_name",
        "status",
        "owner",
        "surface",
        "audience",
        "expected_impact",
        "confidence",
        "effort",
        "ice_score",
        "start_date",
        "end_date",
    ]
    return waiting[cols].reset_index(drop=True)


def _audiences_overlap(a: str, b: str) -> bool:
    return a == b or ALL_USERS in (a, b)


def find_conflicts(frame: pd.DataFrame) -> pd.DataFrame:
    """Pairs of active experiments that overlap on one surface and audience (see the module docstring)."""
    cols = [
        "experiment_a",
        "experiment_b",
        "surface",
        "audience_a",
        "audience_b",
        "overlap_start",
        "overlap_end",
        "layer_a",
        "layer_b",
    ]
    active = frame[frame["status"].isin(ACTIVE_STATES)].sort_values("experiment_id").to_dict("records")
    for row in active:
        row["start_date"], row["end_date"] = (
            pd.Timestamp(row["start_date"]).date(),
            pd.Timestamp(row["end_date"]).date(),
        )
        row["layer"] = row["layer"] if isinstance(row["layer"], str) and row["layer"] else None
    out = []
    for i, a in enumerate(active):
        for b in active[i + 1 :]:
            if a["surface"] != b["surface"] or not _audiences_overlap(a["audience"], b["audience"]):
                continue
            start, end = max(a["start_date"], b["start_date"]), min(a["end_date"], b["end_date"])
            if start > end:
                continue
            if a["layer"] is not None and a["layer"] == b["layer"]:
                continue  # same layer: mutually exclusive traffic by construction
            out.append(
                [
                    a["experiment_id"],
                    b["experiment_id"],
                    a["surface"],
                    a["audience"],
                    b["audience"],
                    start,
                    end,
                    a["layer"],
                    b["layer"],
                ]
            )
    return pd.DataFrame(out, columns=cols)


def describe_conflicts(conflicts: pd.DataFrame) -> str:
    """One sentence per conflict, naming both experiments and the overlapping dates, plus what to do."""
    lines = [
        f"{c.experiment_a} and {c.experiment_b} overlap on surface {c.surface!r} (audiences "
        f"{c.audience_a}/{c.audience_b}) "
        f"from {c.overlap_start} to {c.overlap_end}"
        for c in conflicts.itertuples()
    ]
    if lines:
        lines.append(
            "Fix: move one experiment's dates in its YAML, narrow its audience, or put both in the same `layer`."
        )
    return "\n".join(lines)


def launch_and_decision(frame: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Per experiment: launched_on, first decision (decided_on) and latest decision outcome, implemented flag.

    launched_on = date of the first manual transition into `running`; if there is none but the experiment has run
    (status running/paused/concluded/archived, or has a decision), the YAML start_date.
    """
    ran_states = {"running", "paused", "concluded", "archived"}
    rows = []
    for r in frame.itertuples():
        mine = events[events["experiment_id"] == r.experiment_id] if not events.empty else events
        manual = (
            mine["source"] != "monitoring" if "source" in mine.columns else True
        )  # an automatic resume is no launch
        runs = (
            mine[(mine["event_type"] == "transition") & (mine["to_status"] == "running") & manual]
            if not mine.empty
            else mine
        )
        decisions = mine[mine["event_type"] == "decision"] if not mine.empty else mine
        launched: dt.date | None = None
        if not runs.empty:
            launched = pd.Timestamp(runs["occurred_at"].iloc[0]).date()
        elif r.status in ran_states or not decisions.empty:
            launched = pd.Timestamp(r.start_date).date()
        decided = pd.Timestamp(decisions["occurred_at"].iloc[0]).date() if not decisions.empty else None
        implemented = bool(not mine.empty and (mine["event_type"] == "implemented").any())
        rows.append(
            {
                "experiment_id": r.experiment_id,
                "launched_on": launched,
                "decided_on": decided,
                "decision": decisions["decision"].iloc[-1] if not decisions.empty else None,
                "shipped_variant": decisions["variant"].iloc[-1] if not decisions.empty else None,
                "days_to_decision": (decided - launched).days if decided and launched else None,
                "implemented": implemented,
            }
        )
    return pd.DataFrame(rows)


def operational_metrics(outcomes: pd.DataFrame) -> dict[str, object]:
    """Experiments launched per quarter, time to decision (target ≤ 14 days), win rate, implementation rate.

    win rate = ship decisions / experiments with a decision;
    implementation rate = shipped experiments marked implemented (`exptrack implemented`) / ship decisions;
    time to decision = first decision date − launch date, in days.
    """
    launched = outcomes.dropna(subset=["launched_on"])
    quarters = (
        pd.PeriodIndex(pd.to_datetime(launched["launched_on"]), freq="Q").astype(str).value_counts().sort_index()
        if not launched.empty
        else pd.Series(dtype=int)
    )
    decided = outcomes[outcomes["decision"].notna()]
    shipped = decided[decided["decision"] == "ship"]
    days = decided["days_to_decision"].dropna().astype(float)
    return {
        "experiments_per_quarter": {str(q): int(n) for q, n in quarters.items()},
        "experiments_launched": len(launched),
        "experiments_decided": len(decided),
        "median_days_to_decision": float(days.median()) if len(days) else None,
        "share_decided_within_target": float((days <= TIME_TO_DECISION_TARGET_DAYS).mean()) if len(days) else None,
        "time_to_decision_target_days": TIME_TO_DECISION_TARGET_DAYS,
        "win_rate": float(len(shipped) / len(decided)) if len(decided) else None,
        "implementation_rate": float(shipped["implemented"].mean()) if len(shipped) else None,
    }
