"""Design an experiment from a hypothesis: sample size, duration and a valid YAML scaffold.

Every number comes from `exptrack_pipeline.stats` (sample_size_per_arm, mde_for_sample_size,
expected_duration_days): two-sided test vs control, Bonferroni over the variants' comparisons when there are
more than two arms, for the metric's kind (proportion, retention, mean, ratio). The baseline is the control's
value of the metric in the warehouse when available (`fct_variant_metric_stats`, the latest analysis date of the
most recent experiment measuring it); the standard deviation of mean and ratio metrics is √(n·Var(mean)) from the
statistics library's `arm_mean_and_variance` (delta method for ratios), and the CUPED variance reduction ρ² is
`expected_variance_reduction` of the same arm's pre-period sums. Retention Dn units count n days after exposure, so
a retention plan lasts n days longer. Daily traffic is the analysed units ÷ exposure days of the most recent
experiment on the same surface (`fct_daily_exposures`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import yaml

from exptrack_pipeline.stats import (
    ArmStats,
    expected_duration_days,
    expected_variance_reduction,
    mde_for_sample_size,
    sample_size_per_arm,
)
from exptrack_pipeline.stats.frequentist import arm_mean_and_variance
from exptrack_pipeline.stats.quantile import QuantileArmStats, quantile_unit_sd

STAT_COLUMNS = ["n", "sum", "sum_sq", "sum_den", "sum_den_sq", "sum_num_den"]
QUANTILE_FIELDS = [*STAT_COLUMNS, "quantile_level", "quantile_lower", "quantile_upper", "bound_z", "n_obs"]
COVARIATE_COLUMNS = ["sum_x", "sum_x_sq", "sum_xy", "sum_w", "sum_w_sq", "sum_xw", "sum_xd", "sum_wy", "sum_wd"]


@dataclass(frozen=True)
class Baseline:
    """The control's value of the metric, how it varies, and where that was read."""

    value: float
    kind: str  # stats power kind: "proportion", "retention", "mean" or "ratio" (sd: delta-method per-unit SD)
    sd: float | None
    source: str
    variance_reduction: float | None = None  # ρ² of the CUPED covariate, from pre-period data (None: unknown)
    lag_days: int = 0  # retention Dn: units count n days after exposure


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
    cuped: bool = False  # planned for the CUPED-adjusted test (variance × (1 − ρ²))
    n_smallest_arm_cuped: int | None = None  # the same plan with CUPED, when ρ² is known
    alternative: str = "two-sided"  # the declared hypothesis: two-sided, greater or less (one-sided at level alpha)

    @property
    def total_units(self) -> int:
        """Units needed over every arm."""
        return int(sum(self.n_per_arm))

    def mde_after(self, days: int) -> float | None:
        """The effect detectable after `days` of the observed traffic (same alpha, power, weights)."""
        if not self.daily_units or days <= self.baseline.lag_days:
            return None
        n_small = self.daily_units * (days - self.baseline.lag_days) * min(self.weights)
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
            variance_reduction=(self.baseline.variance_reduction or 0.0) if self.cuped else 0.0,
        )
        return float(value)


def power_kind(metric_kind: str, stat_kind: str) -> str:
    """The stats power kind of a catalog metric: retention stays retention, the rest plan by their test's kind."""
    return "retention" if metric_kind == "retention" else stat_kind


def baseline_from_stats(stats, metric_id: str, lag_days: int = 0) -> Baseline | None:
    """The control arm of `metric_id` at the latest date of the most recent experiment (frame: fct_variant_metric_stats
    rows)."""
    rows = stats[(stats["metric_id"] == metric_id) & stats["is_control"] & (stats["n"] > 1)]
    if rows.empty:
        return None
    row = rows.sort_values(["analysis_date", "n"]).iloc[-1]
    kind = str(row["stat_kind"])
    present = [c for c in COVARIATE_COLUMNS if c in row.index and pd.notna(row[c])]
    arm = ArmStats(**{c: float(row[c]) for c in STAT_COLUMNS + present})
    mean, var_mean = (float(np.asarray(v).reshape(-1)[0]) for v in arm_mean_and_variance(arm, kind))
    needs = COVARIATE_COLUMNS if kind == "ratio" else COVARIATE_COLUMNS[:3]
    rho2 = float(expected_variance_reduction(arm, kind)) if set(needs) <= set(present) else math.nan
    source = f"control of {row['experiment_id']} on {row['analysis_date']:%Y-%m-%d} (n={int(row['n'])})"
    sd = None if kind == "proportion" else math.sqrt(var_mean * float(row["n"]))
    planned = power_kind(str(row.get("metric_kind", "")), kind)
    return Baseline(mean, planned, sd, source, rho2 if math.isfinite(rho2) else None, lag_days)


def baseline_from_quantiles(quantiles, metric_id: str) -> Baseline | None:
    """The control arm of a quantile metric at the latest date of the most recent experiment (frame:
    fct_variant_metric_quantiles rows): Q̂ and the per-unit SD √(n·Var(Q̂)) its test behaves as
    (stats.quantile.quantile_unit_sd), planned like a mean."""
    rows = quantiles[(quantiles["metric_id"] == metric_id) & quantiles["is_control"] & (quantiles["n_obs"] > 1)]
    if rows.empty:
        return None
    row = rows.sort_values(["analysis_date", "n_obs"]).iloc[-1]
    fields = {"quantile": "quantile_estimate", **{c: c for c in QUANTILE_FIELDS}}
    arm = QuantileArmStats(
        **{f: np.array([float(row[c])]) for f, c in fields.items()},
        clustered=np.array([1.0 if row["quantile_granularity"] == "event" else 0.0]),
    )
    sd = float(np.asarray(quantile_unit_sd(arm)).reshape(-1)[0])
    if not math.isfinite(sd) or sd <= 0:
        return None
    source = (
        f"control of {row['experiment_id']} on {pd.Timestamp(row['analysis_date']):%Y-%m-%d} "
        f"(p{100 * float(row['quantile_level']):g} over {int(row['n_obs'])} {row['quantile_granularity']} values)"
    )
    return Baseline(float(row["quantile_estimate"]), "quantile", sd, source)


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
    cuped: bool = False,
    alternative: str = "two-sided",
) -> Plan:
    """Sample size of every arm (the smallest-weight arm's size × w_a / min w, rounded up) and the duration.

    ``cuped`` plans the CUPED-adjusted test with the baseline's ρ² (an error when it is unknown); either way the
    plan reports the CUPED sample size when ρ² is known. Retention plans add the retention day to the duration.
    """
    if len(weights) < 2:
        raise ValueError("an experiment needs a control and at least one variant (weights has fewer than 2 arms)")
    if cuped and baseline.variance_reduction is None:
        raise ValueError(
            f"no CUPED variance reduction known for {metric_id!r}: the warehouse has no pre-period data for it; "
            "pass --variance-reduction RHO2 or plan without --cuped"
        )
    total = sum(weights)
    weights = tuple(w / total for w in weights)

    def smallest_arm(variance_reduction: float) -> float:
        return float(
            sample_size_per_arm(
                baseline.value,
                mde,
                kind=baseline.kind,  # type: ignore[arg-type]
                sd=baseline.sd,
                relative=relative,
                alpha=alpha,
                power=power,
                n_arms=len(weights),
                weights=list(weights),
                variance_reduction=variance_reduction,
                alternative=alternative,  # type: ignore[arg-type]
            )
        )

    rho2 = baseline.variance_reduction
    n_small = smallest_arm(rho2 if cuped and rho2 is not None else 0.0)
    n_cuped = smallest_arm(rho2) if rho2 is not None else math.nan
    if not math.isfinite(n_small):
        raise ValueError(
            f"no sample size for baseline {baseline.value:g} and MDE {mde:g} (is the effect possible for this metric?)"
        )
    n_small_int = math.ceil(n_small)
    per_arm = tuple(math.ceil(n_small * w / min(weights)) for w in weights)
    duration = None
    if daily_units and daily_units > 0:
        duration = int(expected_duration_days(n_small_int, daily_units, list(weights))) + baseline.lag_days
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
        cuped,
        math.ceil(n_cuped) if math.isfinite(n_cuped) else None,
        alternative,
    )


def format_plan(plan: Plan, arm_names: list[str]) -> str:
    """The plan as the lines `exptrack plan` prints."""
    b = plan.baseline
    effect = f"{plan.mde:.1%} relative" if plan.relative else f"{plan.mde:g} absolute"
    lines = [
        f"metric            {plan.metric_id} ({KIND_LABELS.get(b.kind, b.kind)})",
        f"baseline          {b.value:.4g}" + (f" (sd {b.sd:.4g})" if b.sd is not None else "") + f"  [{b.source}]",
        f"effect to detect  {effect}; alpha {plan.alpha:g} ({plan.alternative}"
        + (f", Bonferroni over {len(plan.weights) - 1} comparisons" if len(plan.weights) > 2 else "")
        + f"), power {plan.power:.0%}",
        "sample size       "
        + ", ".join(
            f"{name} {n:,} ({w:.0%})" for name, n, w in zip(arm_names, plan.n_per_arm, plan.weights, strict=True)
        )
        + (f"  [CUPED, ρ² {b.variance_reduction:.2f}]" if plan.cuped and b.variance_reduction is not None else ""),
        f"total units       {plan.total_units:,}",
    ]
    lines += _cuped_lines(plan)
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


KIND_LABELS = {
    "proportion": "proportion, z test",
    "retention": "retention: a proportion of the eligible cohort",
    "mean": "mean, Welch t",
    "ratio": "ratio, delta method",
    "quantile": "quantile, order-statistic z",
}


def _cuped_lines(plan: Plan) -> list[str]:
    """How CUPED changes the plan: ρ² from the pre-period data, the smallest arm with and without it."""
    b = plan.baseline
    lines = []
    if b.lag_days:
        lines.append(f"retention day     units count {b.lag_days} days after exposure: the duration includes them")
    if b.kind == "quantile":
        return [*lines, "CUPED             does not apply to quantile metrics (results report the plain test)"]
    if b.variance_reduction is None:
        return [*lines, "CUPED             no pre-period data for this metric: variance reduction unknown"]
    if plan.cuped:
        return lines
    lines.append(
        f"with CUPED        ρ² {b.variance_reduction:.2f} (pre-period data): {plan.n_smallest_arm_cuped:,} units in the"
        " smallest arm; results report it in cuped_* (plan with it: --cuped)"
    )
    return lines


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
