"""The decision rules that monitoring, the experiment report and the weekly status share (pure, on experiment_results
rows).

One definition each, so a Slack alert, a report and the weekly status never disagree:

* **significant** on a day: `seq_is_significant` (always-valid, adjusted sequential p-value < alpha) before the planned
  end
  date, `is_significant` (fixed horizon) from it on; the p-value and both intervals agree by construction (results.py).
* **harm**: `seq_is_harmful` — the always-valid test at level alpha/m that the effect is worse than the allowed margin
  in
  the metric's bad direction (a guardrail's `max_relative_harm`; 0 for primary metrics) — once both arms have
  `min_units_per_arm` units. A guardrail harmed is a *breach*; a primary metric harmed is *primary harm*. Both are
  level-3 triggers (automatic pause).
* **trade-off**: a secondary metric that moved the wrong way — significantly (a trade-off), or with a posterior
  probability of being worse of at least `TRADE_OFF_PROBABILITY` (a risk).
"""

from __future__ import annotations

import pandas as pd

MIN_UNITS_PER_ARM = 100
"""Harm is judged once both arms have this many units (HealthConfig.guardrail_min_units_per_arm by default)."""

TRADE_OFF_PROBABILITY = 0.95
"""A secondary metric with P(worse) at least this (Bayesian, results.prob_beat_control) is named as a risk."""


def _enough(rows: pd.DataFrame, min_units_per_arm: int) -> pd.Series:
    return (rows["n_control"] >= min_units_per_arm) & (rows["n_variant"] >= min_units_per_arm)


def harmed(rows: pd.DataFrame, role: str, min_units_per_arm: int = MIN_UNITS_PER_ARM) -> pd.DataFrame:
    """Rows of `role` (guardrail or primary) whose always-valid margin test says the variant harms users."""
    mask = (rows["metric_role"] == role) & rows["seq_is_harmful"].astype(bool) & _enough(rows, min_units_per_arm)
    return rows[mask]


def guardrail_breaches(rows: pd.DataFrame, min_units_per_arm: int = MIN_UNITS_PER_ARM) -> pd.DataFrame:
    """Guardrail rows harmed beyond their margin (the `harmed` rule for role guardrail)."""
    return harmed(rows, "guardrail", min_units_per_arm)


def primary_harms(rows: pd.DataFrame, min_units_per_arm: int = MIN_UNITS_PER_ARM) -> pd.DataFrame:
    """Primary-metric rows harmed beyond their margin (the `harmed` rule for role primary)."""
    return harmed(rows, "primary", min_units_per_arm)


def significant(rows: pd.DataFrame, complete: bool) -> pd.Series:
    """The significance flag that applies: fixed horizon once the planned end is reached, else always-valid."""
    return rows["is_significant" if complete else "seq_is_significant"].astype(bool)


def good_direction(rows: pd.DataFrame) -> pd.Series:
    """True where the observed lift is in the metric's good direction."""
    return (rows["rel_lift"] > 0) == (rows["direction"] == "increase")


def trade_offs(rows: pd.DataFrame, complete: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Secondary metrics that moved the wrong way: (significantly worse, likely worse but not significant)."""
    secondary = rows[(rows["metric_role"] == "secondary") & rows["rel_lift"].notna()]
    worse = secondary[~good_direction(secondary)]
    sig = significant(worse, complete)
    likely = worse[~sig & ((1.0 - worse["prob_beat_control"]) >= TRADE_OFF_PROBABILITY)]
    return worse[sig], likely
