"""Portfolio metrics as the seed defines them, each against a configurable target, by quarter. Pure pandas.

* experiments completed per quarter: experiments whose first decision (`exptrack decide`) falls in the quarter
  (target ≥ 12);
* time to decision: median of first decision − launch in days (launch as in lifecycle/portfolio.py:
  first move to running, else the YAML start date; target ≤ 14);
* win rate: share of the quarter's decided experiments with a significant positive primary lift at the decision
  (latest analysis date on or before it; "significant" as in the recommendation: the fixed-horizon test once the
  planned end is reached, else the always-valid test; "positive" = in the metric's good direction; target ≥ 30%);
* implementation rate: shipped experiments marked implemented ÷ shipped (target ≥ 90%);
* time to significance, per experiment: days from the start date to the first analysis date on which the
  always-valid test of a primary metric is significant (either direction); NaN with a reason otherwise.

Targets come from `Targets` (defaults above), overridable by a YAML file (EXPTRACK_TARGETS_FILE) with the same keys.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from exptrack_pipeline.config import Experiment
from exptrack_pipeline.reports.summaries import latest_on_or_before

TARGETS_FILE_VAR = "EXPTRACK_TARGETS_FILE"


@dataclass(frozen=True)
class Targets:
    """The portfolio targets the scorecard compares with."""

    completed_per_quarter: float = 12
    time_to_decision_days: float = 14
    win_rate: float = 0.30
    implementation_rate: float = 0.90

    @classmethod
    def from_file(cls, path: str | Path | None) -> Targets:
        """Defaults, overridden by the keys of a YAML mapping; an unknown key is an error naming the known ones."""
        if not path:
            return cls()
        data = yaml.safe_load(Path(path).read_text()) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown target(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**{k: float(v) for k, v in data.items()})

    @classmethod
    def from_env(cls) -> Targets:
        """The targets from the file EXPTRACK_TARGETS_FILE names (defaults without it)."""
        return cls.from_file(os.environ.get(TARGETS_FILE_VAR))


@dataclass(frozen=True)
class MetricRow:
    """One scorecard row: a metric's value, its target and which way is better."""

    key: str
    label: str
    value: float | None
    target: float
    higher_is_better: bool
    unit: str  # "count" | "days" | "share"
    trend: list[tuple[str, float | None]]  # (quarter, value), oldest first

    @property
    def status(self) -> str:
        """The status against the target: "met", "missed" or "n/a" (no value)."""
        if self.value is None or not np.isfinite(self.value):
            return "n/a"
        ok = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "met" if ok else "missed"


def significant_win(experiment: Experiment, results: pd.DataFrame, on_or_before: dt.date | None) -> bool:
    """A primary metric significantly better than control at the latest analysis date on or before the date."""
    latest = latest_on_or_before(results, experiment.id, on_or_before)
    prim = latest[latest["metric_role"] == "primary"] if not latest.empty else latest
    if prim.empty:
        return False
    complete = pd.Timestamp(prim["analysis_date"].max()).date() >= experiment.end_date
    sig = prim["is_significant" if complete else "seq_is_significant"].astype(bool)
    good = np.where(prim["direction"] == "increase", prim["rel_lift"] > 0, prim["rel_lift"] < 0)
    return bool((sig & good & prim["rel_lift"].notna()).any())


def time_to_significance(experiments: list[Experiment], results: pd.DataFrame) -> pd.DataFrame:
    """experiment_id, first_significant (date or None), days (float, NaN when never), reason."""
    rows = []
    for e in experiments:
        prim = (
            results[(results["experiment_id"] == e.id) & (results["metric_role"] == "primary")]
            if not results.empty
            else results
        )
        hit = prim[prim["seq_is_significant"].astype(bool)] if not prim.empty else prim
        if prim.empty:
            rows.append({"experiment_id": e.id, "first_significant": None, "days": np.nan, "reason": "no results yet"})
        elif hit.empty:
            rows.append(
                {
                    "experiment_id": e.id,
                    "first_significant": None,
                    "days": np.nan,
                    "reason": f"not significant through {pd.Timestamp(prim['analysis_date'].max()).date()}",
                }
            )
        else:
            first = pd.Timestamp(hit["analysis_date"].min()).date()
            rows.append(
                {
                    "experiment_id": e.id,
                    "first_significant": first,
                    "days": float((first - e.start_date).days + 1),
                    "reason": "",
                }
            )
    return pd.DataFrame(rows, columns=["experiment_id", "first_significant", "days", "reason"])


def by_quarter(outcomes: pd.DataFrame, wins: dict[str, bool]) -> pd.DataFrame:
    """Per quarter of the first decision: completed, median days to decision, win rate, implementation rate."""
    decided = outcomes[outcomes["decided_on"].notna()].copy()
    cols = ["quarter", "completed", "time_to_decision_days", "win_rate", "implementation_rate"]
    if decided.empty:
        return pd.DataFrame(columns=cols)
    decided["quarter"] = pd.PeriodIndex(pd.to_datetime(decided["decided_on"]), freq="Q").astype(str)
    decided["win"] = decided["experiment_id"].map(lambda i: bool(wins.get(i, False)))
    rows = []
    for quarter, part in decided.groupby("quarter", sort=True):
        days = part["days_to_decision"].dropna().astype(float)
        shipped = part[part["decision"] == "ship"]
        rows.append(
            {
                "quarter": quarter,
                "completed": float(len(part)),
                "time_to_decision_days": float(days.median()) if len(days) else np.nan,
                "win_rate": float(part["win"].mean()),
                "implementation_rate": float(shipped["implemented"].mean()) if len(shipped) else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=cols)


def scorecard(outcomes: pd.DataFrame, wins: dict[str, bool], targets: Targets, today: dt.date) -> list[MetricRow]:
    """The four portfolio metrics for the quarter containing `today`, each with its target and the quarterly trend."""
    quarters = by_quarter(outcomes, wins)
    current = str(pd.Period(today, freq="Q"))
    now = quarters[quarters["quarter"] == current]
    specs = [
        ("completed", f"experiments completed in {current}", targets.completed_per_quarter, True, "count"),
        (
            "time_to_decision_days",
            "time to decision (median days, launch → decision)",
            targets.time_to_decision_days,
            False,
            "days",
        ),
        ("win_rate", "win rate (significant positive primary lift)", targets.win_rate, True, "share"),
        (
            "implementation_rate",
            "implementation rate (implemented ÷ shipped)",
            targets.implementation_rate,
            True,
            "share",
        ),
    ]
    out = []
    for key, label, target, higher, unit in specs:
        if now.empty:
            value = 0.0 if key == "completed" else None
        else:
            raw = now[key].iloc[0]
            value = None if pd.isna(raw) else float(raw)
        trend = [(q, None if pd.isna(v) else float(v)) for q, v in zip(quarters["quarter"], quarters[key], strict=True)]
        out.append(MetricRow(key, label, value, float(target), higher, unit, trend))
    return out
