"""The learnings library: what each decided experiment taught us, stored next to the decision. No Dagster.

`exptrack decide` records a learning (what we learned, the evidence, follow-up ideas) in the warehouse table
`state.learnings`, one row per decision. A `ship` or `rollback` without `--learned` is refused: those are the
decisions whose lesson the team most needs to keep. Concluded experiments form the library: hypothesis → result at
the decision date → decision → learnings, with the archived report; `search` filters it by free text, surface and
metric (case-insensitive substring match over every text field; a metric matches any of the experiment's metrics).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict, dataclass

import pandas as pd

from exptrack_pipeline.config import Experiment
from exptrack_pipeline.lifecycle.states import LifecycleError
from exptrack_pipeline.lifecycle.store import table_exists

TABLE = "state.learnings"
COLUMNS = ["experiment_id", "decision", "variant", "learned", "evidence", "follow_up", "actor", "recorded_at"]
NEEDS_LEARNING = ("ship", "rollback")
DDL = f"""
create table if not exists {TABLE} (
    experiment_id varchar not null,
    decision varchar not null,
    variant varchar,
    learned varchar not null,
    evidence varchar not null,
    follow_up varchar not null,
    actor varchar not null,
    recorded_at timestamp not null
)
"""
SEARCHED = [
    "experiment_id",
    "experiment_name",
    "hypothesis",
    "surface",
    "metrics",
    "decision",
    "rationale",
    "result",
    "learned",
    "evidence",
    "follow_up",
]


@dataclass(frozen=True)
class Learning:
    """What a decided experiment taught: decision, variant, learning, evidence and follow-ups."""

    experiment_id: str
    decision: str
    variant: str | None
    learned: str
    evidence: str
    follow_up: str
    actor: str
    recorded_at: dt.datetime


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The learning options of `exptrack decide`."""
    parser.add_argument("--learned", help="what we learned (required for ship and rollback)")
    parser.add_argument("--evidence", default="", help="the evidence behind the learning (numbers, segments, links)")
    parser.add_argument("--follow-up", default="", help="follow-up ideas; separate several with ';'")


def from_args(experiment_id: str, args: argparse.Namespace, at: dt.datetime) -> Learning | None:
    """The learning given to `exptrack decide`, or None for an `iterate` without one; raises for a ship/rollback
    without."""
    learned = (getattr(args, "learned", None) or "").strip()
    if not learned:
        if args.decision in NEEDS_LEARNING:
            raise LifecycleError(
                f'{experiment_id}: a {args.decision} decision needs its learning: add --learned "what we learned" '
                '(and --evidence "...", --follow-up "idea; idea"); the learnings library keeps it next to the decision'
            )
        return None
    return Learning(
        experiment_id,
        args.decision,
        args.variant,
        learned,
        (args.evidence or "").strip(),
        (args.follow_up or "").strip(),
        args.actor,
        at,
    )


def ensure_table(con) -> None:
    """Create state.learnings when missing."""
    con.execute("create schema if not exists state")
    con.execute(DDL)


def record(con, learning: Learning) -> None:
    """Append one learning (its own insert; the decision event is written just before it)."""
    ensure_table(con)
    row = asdict(learning)
    con.execute(
        f"insert into {TABLE} ({', '.join(COLUMNS)}) values ({', '.join('?' for _ in COLUMNS)})",
        [row[c] for c in COLUMNS],
    )


def read(con) -> pd.DataFrame:
    """Every learning, oldest first (empty with the right columns before the first one)."""
    if not table_exists(con, TABLE):
        return pd.DataFrame(columns=COLUMNS)
    return con.execute(f"select {', '.join(COLUMNS)} from {TABLE} order by recorded_at, experiment_id").df()


def archive_files(con, experiment_id: str) -> dict[str, bytes]:
    """`learnings.json` for the write-once archive (nothing when the experiment has no learning)."""
    rows = read(con)
    rows = rows[rows["experiment_id"] == experiment_id]
    if rows.empty:
        return {}
    records = [{k: (str(v) if k == "recorded_at" else v) for k, v in r.items()} for r in rows.to_dict("records")]
    return {"learnings.json": json.dumps(records, indent=2, sort_keys=True, default=str).encode()}


def follow_ups(text: str) -> list[str]:
    """The follow-ups of a learning: its `;`-separated parts."""
    return [part.strip() for part in (text or "").split(";") if part.strip()]


def library(
    experiments: list[Experiment], learnings: pd.DataFrame, outcomes: pd.DataFrame, results_text: dict[str, str]
) -> pd.DataFrame:
    """One row per decided experiment (latest learning, if any): hypothesis, surface, metrics, result, decision,
    learnings.

    `outcomes`: portfolio.launch_and_decision rows (decision, decided_on, shipped_variant); `results_text`: experiment
    id →
    the primary result at the decision date in words (site/portfolio.py).
    """
    latest = (
        learnings.groupby("experiment_id").tail(1).set_index("experiment_id") if not learnings.empty else pd.DataFrame()
    )
    decided = (
        outcomes[outcomes["decision"].notna()].set_index("experiment_id") if not outcomes.empty else pd.DataFrame()
    )
    rows = []
    for e in experiments:
        if e.id not in decided.index:
            continue
        o = decided.loc[e.id]
        note = latest.loc[e.id] if e.id in latest.index else None
        rows.append(
            {
                "experiment_id": e.id,
                "experiment_name": e.name,
                "hypothesis": e.hypothesis.strip(),
                "surface": e.surface,
                "primary_metric": e.primary_metric,
                "metrics": " ".join(m for m, _ in e.metric_roles),
                "decision": o["decision"],
                "variant": o["shipped_variant"] if isinstance(o["shipped_variant"], str) else "",
                "decided_on": o["decided_on"],
                "rationale": o.get("rationale", "") or "",
                "result": results_text.get(e.id, "no results"),
                "learned": note["learned"] if note is not None else "",
                "evidence": note["evidence"] if note is not None else "",
                "follow_up": note["follow_up"] if note is not None else "",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "experiment_id",
            "experiment_name",
            "hypothesis",
            "surface",
            "primary_metric",
            "metrics",
            "decision",
            "variant",
            "decided_on",
            "rationale",
            "result",
            "learned",
            "evidence",
            "follow_up",
        ],
    )


def search(
    frame: pd.DataFrame, text: str | None = None, surface: str | None = None, metric: str | None = None
) -> pd.DataFrame:
    """Rows whose text fields contain `text` (case-insensitive), on `surface`, measuring `metric` (any role)."""
    keep = pd.Series(True, index=frame.index)
    if text:
        blob = frame[SEARCHED].astype(str).agg(" ".join, axis=1).str.lower()
        keep &= blob.str.contains(text.lower(), regex=False)
    if surface:
        keep &= frame["surface"].str.lower() == surface.lower()
    if metric:
        keep &= frame["metrics"].str.split().map(lambda ms: metric.lower() in [m.lower() for m in ms])
    return frame[keep].reset_index(drop=True)


def synthesis(frame: pd.DataFrame, wins: dict[str, bool], backlog: pd.DataFrame) -> dict[str, object]:
    """Themes by surface and by primary metric (decided, shipped, wins), win rate by surface, and the follow-up ideas
    with the backlog experiments already queued on the same surface. `wins`: experiment id → significant positive
    primary lift at the decision (site/scorecard.py)."""
    if frame.empty:
        return {"by_surface": pd.DataFrame(), "by_metric": pd.DataFrame(), "ideas": []}
    f = frame.assign(
        shipped=frame["decision"] == "ship", win=frame["experiment_id"].map(lambda i: bool(wins.get(i, False)))
    )

    def themes(key: str) -> pd.DataFrame:
        g = f.groupby(key, as_index=False).agg(
            decided=("experiment_id", "count"),
            shipped=("shipped", "sum"),
            wins=("win", "sum"),
            experiments=("experiment_id", lambda s: ", ".join(sorted(s))),
        )
        g["win_rate"] = g["wins"] / g["decided"]
        return g

    queued = (
        backlog.groupby("surface")["experiment_id"].apply(lambda s: ", ".join(s)).to_dict() if not backlog.empty else {}
    )
    ideas = [
        {"experiment_id": r.experiment_id, "surface": r.surface, "idea": idea, "queued": queued.get(r.surface, "")}
        for r in f.itertuples()
        for idea in follow_ups(r.follow_up)
    ]
    return {"by_surface": themes("surface"), "by_metric": themes("primary_metric"), "ideas": ideas}
