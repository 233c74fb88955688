"""Design an experiment from a hypothesis: sample size, duration and a valid YAML scaffold.

Every number comes from `exptrack_pipeline.stats` (sample_size_per_arm, mde_for_sample_size,
expected_duration_days): two-sided test vs control, Bonferroni over the variants' comparisons when there are
more than two arms. The baseline is the control's value of the metric in the warehouse when available
(`fct_variant_metric_stats`, the latest analysis date of the most recent experiment measuring it); the
standard deviation of mean and ratio metrics is √(n·Var(mean)) from the statistics library's
`arm_mean_and_variance` (delta method for ratios). Daily traffic is the analysed units ÷ exposure days of
the most recent experiment on the same surface (`fct_daily_exposures`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import yaml

from exptrack_pipeline.stats import ArmStats, expected_duration_days, mde_for_sample_size, sample_size_per_arm
from exptrack_pipeline.stats.frequentist import arm_mean_and_variance

STAT_COLUMNS = ["n", "sum", "sum_sq", "sum_den", "sum_den_sq", "sum_num_den"]


@dataclass(frozen=True)
class Baseline:
    """The baseline a plan starts from: value, kind, sd (means) and where it came from."""

    value: float
    kind: str  # "proportion" or "mean" (ratio metrics are planned as means with their delta-method sd)
    sd: float | None
    source: str


@dataclass(frozen=True)
class Plan:
    """A sample-size plan: units per arm for the effect, alpha and power, and the traffic to reach them."""

    metric_id: str
    baseline: Baseline
    mde: float
    relative: bool
    alpha: float
    power: float
    weights: tuple[float, ...]
    n_smallest_arm: int
    n_per_arm: tuple[int, ...]
    daily_units: float | None
    traffic_source: str
    duration_days: int | None

    @property
    def total_units(self) -> int:
        """Units needed over every arm."""
        return int(sum(self.n_per_arm))

    def mde_after(self, days: int) -> float | None:
        """The effect detectable after `days` of the observed traffic (same alpha, power, weights)."""
        if not self.daily_units:
            return None
        n_small = self.daily_units * days * min(self.weights)
        value = mde_for_sample_size(
            n_small,
            self.baseline.value,
            kind=self.baseline.kind,
            sd=self.baseline.sd,
            relative=self.relative,
            alpha=self.alpha,
            power=self.power,
            n_arms=len(self.weights),
            weights=list(self.weights),
        )
        return float(value)


def baseline_from_stats(stats, metric_id: str) -> Baseline | None:
    """The control arm of `metric_id` at the latest date of the most recent experiment (frame: fct_variant_metric_stats
    rows)."""
    rows = stats[(stats["metric_id"] == metric_id) & stats["is_control"] & (stats["n"] > 1)]
    if rows.empty:
        return None
    row = rows.sort_values(["analysis_date", "n"]).iloc[-1]
    kind = str(row["stat_kind"])
    arm = ArmStats(**{c: float(row[c]) for c in STAT_COLUMNS})
    mean, var_mean = (float(np.asarray(v).reshape(-1)[0]) for v in arm_mean_and_variance(arm, kind))
    source = f"control of {row['experiment_id']} on {row['analysis_date']:%Y-%m-%d} (n={int(row['n'])})"
    if kind == "proportion":
        return Baseline(mean, "proportion", None, source)
    return Baseline(mean, "mean", math.sqrt(var_mean * float(row["n"])), source)


def daily_traffic(exposures, surface: str | None) -> tuple[float | None, str]:
    """Analysed units per day of the most recent experiment on `surface` (frame: fct_daily_exposures ⋈ surface)."""
    if surface is None or exposures.empty:
        return None, "no surface given" if surface is None else "no exposure data"
    rows = exposures[(exposures["surface"] == surface) & (exposures["new_units"] > 0)]
    if rows.empty:
        return None, f"no exposures on surface {surface!r} yet"
    latest = rows.groupby("experiment_id")["exposure_date"].max().sort_values().index[-1]
    mine = rows[rows["experiment_id"] == latest]
    days = mine["exposure_date"].nunique()
    units = float(mine["new_units"].sum())
    return units / days, f"{latest}: {int(units):,} analysed units over {days} exposure days"


def make_plan(
    metric_id: str,
    baseline: Baseline,
    mde: float,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    weights: tuple[float, ...] = (0.5, 0.5),
    daily_units: float | None = None,
    traffic_source: str = "",
) -> Plan:
    """Sample size of every arm (the smallest-weight arm's size × w_a / min w, rounded up) and the duration."""
    if len(weights) < 2:
        raise ValueError("an experiment needs a control and at least one variant (weights has fewer than 2 arms)")
    total = sum(weights)
    weights = tuple(w / total for w in weights)
    n_small = float(
        sample_size_per_arm(
            baseline.value,
            mde,
            kind=baseline.kind,
            sd=baseline.sd,
            relative=relative,
            alpha=alpha,
            power=power,
            n_arms=len(weights),
            weights=list(weights),
        )
    )
    if not math.isfinite(n_small):
        raise ValueError(
            f"no sample size for baseline {baseline.value:g} and MDE {mde:g} (is the effect possible for this metric?)"
        )
    n_small_int = math.ceil(n_small)
    per_arm = tuple(math.ceil(n_small * w / min(weights)) for w in weights)
    duration = None
    if daily_units and daily_units > 0:
        duration = int(expected_duration_days(n_small_int, daily_units, list(weights)))
    return Plan(
        metric_id,
        baseline,
        mde,
        relative,
        alpha,
        power,
        weights,
        n_small_int,
        per_arm,
        daily_units,
        traffic_source,
        duration,
    )


def format_plan(plan: Plan, arm_names: list[str]) -> str:
    """The plan as the lines `exptrack plan` prints."""
    b = plan.baseline
    effect = f"{plan.mde:.1%} relative" if plan.relative else f"{plan.mde:g} absolute"
    lines = [
        f"metric            {plan.metric_id}",
        f"baseline          {b.value:.4g}" + (f" (sd {b.sd:.4g})" if b.sd is not None else "") + f"  [{b.source}]",
        f"effect to detect  {effect}; alpha {plan.alpha:g} (two-sided"
        + (f", Bonferroni over {len(plan.weights) - 1} comparisons" if len(plan.weights) > 2 else "")
        + f"), power {plan.power:.0%}",
        "sample size       "
        + ", ".join(
            f"{name} {n:,} ({w:.0%})" for name, n, w in zip(arm_names, plan.n_per_arm, plan.weights, strict=True)
        ),
        f"total units       {plan.total_units:,}",
    ]
    if plan.duration_days is None:
        lines.append(f"duration          unknown ({plan.traffic_source}); pass --daily-units N")
    else:
        lines.append(f"daily traffic     {plan.daily_units:,.0f} units/day  [{plan.traffic_source}]")
        lines.append(
            f"duration          {plan.duration_days} days (run whole weeks: {scheduled_days(plan.duration_days)} days)"
        )
        for days in (14, 28):
            mde = plan.mde_after(days)
            if mde is not None and math.isfinite(mde):
                lines.append(
                    f"  detectable after {days} days: {mde:.1%}"
                    if plan.relative
                    else f"  detectable after {days} days: {mde:.4g}"
                )
    return "\n".join(lines)


def scheduled_days(duration_days: int) -> int:
    """Whole weeks covering the duration (weekly seasonality), at least one week."""
    return max(7, math.ceil(duration_days / 7) * 7)


def scaffold_yaml(
    *,
    experiment_id: str,
    name: str,
    hypothesis: str,
    owner: str,
    slack_channel: str,
    surface: str,
    audience: str,
    start_date: dt.date,
    days: int,
    plan: Plan,
    arm_names: list[str],
    secondary_metrics: list[str],
    guardrail_metrics: list[str],
    pm: str | None = None,
    layer: str | None = None,
    prioritization: dict[str, float] | None = None,
) -> str:
    """A registry YAML (status backlog) with the plan's numbers; load it with `load_registry` to validate it."""
    weights = [round(w, 6) for w in plan.weights]
    weights[-1] = round(1.0 - sum(weights[:-1]), 6)
    doc: dict[str, object] = {
        "id": experiment_id,
        "name": name,
        "hypothesis": hypothesis,
        "owner": owner,
        **({"pm": pm} if pm else {}),
        "slack_channel": slack_channel,
        "status": "backlog",
        "surface": surface,
        "audience": audience,
        **({"layer": layer} if layer else {}),
        "start_date": start_date,
        "end_date": start_date + dt.timedelta(days=days - 1),
        "variants": [
            {"name": n, "weight": w, **({"is_control": True} if i == 0 else {})}
            for i, (n, w) in enumerate(zip(arm_names, weights, strict=True))
        ],
        "primary_metric": plan.metric_id,
        "secondary_metrics": secondary_metrics,
        "guardrail_metrics": [{"metric": g, "max_relative_harm": 0.05} for g in guardrail_metrics],
        "success_criteria": {
            "alpha": plan.alpha,
            "power": plan.power,
            "minimum_detectable_effect": plan.mde,
            "mde_type": "relative" if plan.relative else "absolute",
        },
        **({"prioritization": prioritization} if prioritization else {}),
    }
    header = [
        f"# Scaffolded by `exptrack new` on {dt.date.today()}; state (backlog → scheduled → running ...) lives "
        "in the warehouse.",
        f"# Plan: baseline {plan.baseline.value:.4g} ({plan.baseline.source}); "
        + ", ".join(f"{n} {k:,}" for n, k in zip(arm_names, plan.n_per_arm, strict=True))
        + " units; "
        + (
            f"{plan.duration_days} days at {plan.daily_units:,.0f} units/day ({plan.traffic_source})."
            if plan.duration_days
            else f"{days} days (traffic unknown)."
        ),
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
