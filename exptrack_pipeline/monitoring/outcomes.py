"""Outcome rules: metric anomalies, sample size / duration / significance reached, and guardrail harm.

Pure: frames in, :class:`Finding` out. Power and variances come from exptrack_pipeline.stats; the anomaly rule
uses the median and the normal-consistent MAD (scipy.stats.median_abs_deviation, scale="normal").
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from exptrack_pipeline.analysis import decisions
from exptrack_pipeline.lifecycle import planning
from exptrack_pipeline.monitoring.inputs import HealthInputs
from exptrack_pipeline.monitoring.integrity import _num, _sig, arm_counts
from exptrack_pipeline.monitoring.model import Finding, HealthConfig
from exptrack_pipeline.stats import expected_duration_days, sample_size_per_arm

ANOMALY_METHOD = "median ± k·MAD (MAD scaled ×1.4826 to a normal SD) of the variant's own previous {window} days"


def _pct(x: float | None) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:+.1%}"


def check_metric_anomaly(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """Robust z-score of each variant's daily metric value on the as-of date against its own trailing window."""
    from scipy.stats import median_abs_deviation  # here: scipy.stats costs 0.65 CPU-s to import, needed only here

    exp = inp.experiment(experiment_id)
    method = ANOMALY_METHOD.format(window=cfg.anomaly_window_days)
    if not exp["start_date"] <= as_of <= exp["end_date"]:
        return Finding(
            experiment_id, "metric_anomaly", "skip", as_of, f"Not in flight on {as_of}.", as_of, {"method": method}
        )
    daily = inp.rows("metric_daily", experiment_id)
    daily = daily[(daily["units_in_window"] >= cfg.anomaly_min_units) & daily["daily_value"].notna()]
    lo = as_of - dt.timedelta(days=cfg.anomaly_window_days)
    judged, anomalies, short = 0, [], 0
    for (metric, variant), series in daily.groupby(["metric_id", "variant"]):
        today = series[series["activity_date"] == as_of]
        trailing = series[(series["activity_date"] >= lo) & (series["activity_date"] < as_of)]["daily_value"].to_numpy(
            float
        )
        if today.empty or len(trailing) < cfg.anomaly_min_points:
            short += 1
            continue
        value = float(today["daily_value"].iloc[0])
        median = float(np.median(trailing))
        mad = float(median_abs_deviation(trailing, scale="normal"))
        if mad == 0:
            short += 1
            continue
        judged += 1
        z = (value - median) / mad
        if abs(z) > cfg.anomaly_k and abs(value - median) > cfg.anomaly_min_relative_change * abs(median):
            anomalies.append(
                {
                    "metric": metric,
                    "variant": variant,
                    "value": _num(value, 6),
                    "median": _num(median, 6),
                    "mad": _num(mad, 6),
                    "robust_z": _num(z, 2),
                    "units_in_window": int(today["units_in_window"].iloc[0]),
                }
            )
    details = {
        "method": method,
        "k": cfg.anomaly_k,
        "series_judged": judged,
        "series_too_short": short,
        "anomalies": anomalies,
    }
    if anomalies:
        text = "; ".join(
            f"{a['metric']} in {a['variant']}: {a['value']:.4g} vs median {a['median']:.4g} (robust z "
            f"{a['robust_z']:+.1f})"
            for a in anomalies[:4]
        )
        return Finding(
            experiment_id,
            "metric_anomaly",
            "fail",
            as_of,
            f"Daily metric outside its own range on {as_of}: {text}.",
            as_of,
            details,
        )
    if judged == 0:
        return Finding(
            experiment_id,
            "metric_anomaly",
            "skip",
            as_of,
            f"No metric has {cfg.anomaly_min_points} earlier days with enough units yet.",
            as_of,
            details,
        )
    return Finding(
        experiment_id,
        "metric_anomaly",
        "pass",
        as_of,
        f"{judged} daily metric series within k = {cfg.anomaly_k:g} robust SDs of their range.",
        as_of,
        details,
    )


def primary_alternative(inp: HealthInputs, experiment_id: str, metric_id: str) -> str:
    """The hypothesis the registry declares for the primary metric (success_criteria.one_sided), else two-sided."""
    metrics = inp.rows("metrics", experiment_id)
    declared = (
        metrics.loc[metrics["metric_id"] == metric_id, "alternative"].dropna() if "alternative" in metrics else []
    )
    return str(declared.iloc[0]) if len(declared) else "two-sided"


def required_units(inp: HealthInputs, experiment_id: str, as_of: dt.date) -> tuple[float, str]:
    """Units needed in the smallest-weight arm for the primary metric (stats.sample_size_per_arm for its kind:
    proportion, retention, mean, ratio), and how it was derived, with the CUPED-adjusted size when ρ² is known."""
    exp = inp.experiment(experiment_id)
    variants = inp.rows("variants", experiment_id).sort_values("is_control", ascending=False)
    stats = inp.rows("stats", experiment_id)
    row = stats[
        (stats["metric_id"] == exp["primary_metric_id"]) & stats["is_control"] & (stats["analysis_date"] == as_of)
    ]
    if not row.empty and str(row["stat_kind"].iloc[0]) == "quantile":
        quantiles = inp.rows("quantiles", experiment_id)
        quantiles = quantiles[quantiles["analysis_date"] == as_of]
        baseline = planning.baseline_from_quantiles(quantiles, exp["primary_metric_id"]) if len(quantiles) else None
    else:
        baseline = planning.baseline_from_stats(row, exp["primary_metric_id"]) if not row.empty else None
    if baseline is None:
        return float("nan"), "no control data for the primary metric yet"
    alternative = primary_alternative(inp, experiment_id, exp["primary_metric_id"])

    def needed(variance_reduction: float) -> float:
        return float(
            sample_size_per_arm(
                baseline.value,
                float(exp["minimum_detectable_effect"]),
                kind=baseline.kind,  # type: ignore[arg-type]
                sd=baseline.sd,
                relative=exp["mde_type"] == "relative",
                alpha=float(exp["alpha"]),
                power=float(exp["target_power"]),
                n_arms=len(variants),
                weights=variants["weight"].to_numpy(float),
                variance_reduction=variance_reduction,
                alternative=alternative,  # type: ignore[arg-type]
            )
        )

    rho2 = baseline.variance_reduction
    how = (
        f"{exp['primary_metric_id']} ({baseline.kind}): baseline {baseline.value:.4g}"
        + ("" if baseline.sd is None else f", unit SD {baseline.sd:.4g}")
        + f", MDE {float(exp['minimum_detectable_effect']):g} ({exp['mde_type']}), alpha {float(exp['alpha']):g}"
        + f", power {float(exp['target_power']):g}"
        + ("" if alternative == "two-sided" else f", one-sided ({alternative})")
        + ("" if rho2 is None else f"; with CUPED (ρ² {rho2:.2f}) {int(np.ceil(needed(rho2))):,}")
    )
    return needed(0.0), how


def check_sample_size(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """Every arm has reached the power analysis's sample size (scaled by its weight); event date = first day reached."""
    exp = inp.experiment(experiment_id)
    needed, how = required_units(inp, experiment_id, as_of)
    if not np.isfinite(needed):
        return Finding(
            experiment_id, "sample_size", "skip", as_of, f"Sample size unknown: {how}.", as_of, {"power_analysis": how}
        )
    variants = inp.rows("variants", experiment_id)
    w_min = float(variants["weight"].min())
    need = {v: float(np.ceil(needed * w / w_min)) for v, w in zip(variants["variant"], variants["weight"], strict=True)}
    res = inp.rows("results", experiment_id)
    res = res[(res["metric_id"] == exp["primary_metric_id"]) & (res["analysis_date"] <= as_of)]
    if res.empty:
        return Finding(experiment_id, "sample_size", "skip", as_of, "No results for the primary metric yet.", as_of)
    per_day = res.groupby("analysis_date").apply(
        lambda d: pd.Series(
            {exp["control_variant"]: d["n_control"].iloc[0], **dict(zip(d["variant"], d["n_variant"], strict=True))}
        ),
        include_groups=False,
    )
    reached = per_day.apply(lambda row: all(row.get(v, 0) >= n for v, n in need.items()), axis=1)
    latest = per_day.iloc[-1]
    progress = min(float(latest.get(v, 0)) / n for v, n in need.items())
    details = {
        "required_per_arm": need,
        "units_per_arm": {v: int(latest.get(v, 0)) for v in need},
        "progress": _num(progress, 3),
        "power_analysis": how,
    }
    if bool(reached.iloc[-1]):
        not_reached = reached[~reached]
        first = reached.index[0] if not_reached.empty else reached[reached.index > not_reached.index[-1]].index[0]
        details["first_reached"] = str(first)
        return Finding(
            experiment_id,
            "sample_size",
            "reached",
            as_of,
            f"Planned sample size reached on {first}: every arm has its {int(needed):,}+ units ({how}).",
            first,
            details,
        )
    daily = arm_counts(inp, experiment_id, as_of)["units"].sum()
    days_in = max((as_of - exp["start_date"]).days + 1, 1)
    remaining = expected_duration_days(
        max(needed * (1 - progress), 0), daily / days_in, variants["weight"].to_numpy(float)
    )
    details["expected_days_remaining"] = _num(float(remaining), 0)
    return Finding(
        experiment_id,
        "sample_size",
        "pass",
        as_of,
        f"{progress:.0%} of the planned sample size ({int(needed):,} units in the smallest arm; {how}).",
        as_of,
        details,
    )


def check_duration(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """The as-of date is on or after the end date; event date = the end date (announced once)."""
    exp = inp.experiment(experiment_id)
    end = exp["end_date"]
    details = {"start_date": str(exp["start_date"]), "end_date": str(end), "as_of": str(as_of)}
    if as_of >= end:
        return Finding(
            experiment_id,
            "duration",
            "reached",
            as_of,
            f"Planned end date {end} reached (data through {as_of}).",
            end,
            details,
        )
    return Finding(
        experiment_id,
        "duration",
        "pass",
        as_of,
        f"{(end - as_of).days} days until the planned end date {end}.",
        as_of,
        details,
    )


def _streak_start(flags: pd.Series) -> dt.date:
    """First date of the run of True values that ends at the last date (flags indexed by date, sorted)."""
    off = flags[~flags]
    return flags.index[0] if off.empty else flags[flags.index > off.index[-1]].index[0]


def check_significance(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """Always-valid significance (seq_is_significant) of the announced metric roles, after the minimum days and
    units."""
    exp = inp.experiment(experiment_id)
    res = inp.rows("results", experiment_id)
    res = res[res["metric_role"].isin(cfg.significance_roles) & (res["analysis_date"] <= as_of)].sort_values(
        "analysis_date"
    )
    if res.empty:
        return Finding(experiment_id, "significance", "skip", as_of, "No results yet.", as_of)
    days = res["analysis_date"].map(lambda d: (d - exp["start_date"]).days + 1)
    enough = (
        (days >= cfg.significance_min_days)
        & (res["n_control"] >= cfg.significance_min_units_per_arm)
        & (res["n_variant"] >= cfg.significance_min_units_per_arm)
    )
    res = res.assign(eligible=res["seq_is_significant"].astype(bool) & enough)
    significant, early = [], []
    for (metric, variant), series in res.groupby(["metric_id", "variant"]):
        last = series.iloc[-1]
        if last["analysis_date"] != as_of:
            continue
        if bool(last["eligible"]):
            good = (last["rel_lift"] > 0) == (last["direction"] == "increase")
            significant.append(
                {
                    "metric": metric,
                    "variant": variant,
                    "rel_lift": _num(float(last["rel_lift"])),
                    "seq_ci": [_num(float(last["seq_rel_lift_ci_low"])), _num(float(last["seq_rel_lift_ci_high"]))],
                    "seq_p_value_adjusted": _sig(float(last["seq_p_value_adjusted"])),
                    "verdict": "better" if good else "WORSE",
                    "since": str(_streak_start(series.set_index("analysis_date")["eligible"])),
                }
            )
        elif bool(last["seq_is_significant"]):
            early.append(f"{metric} in {variant}")
    details = {
        "min_days": cfg.significance_min_days,
        "min_units_per_arm": cfg.significance_min_units_per_arm,
        "significant": significant,
    }
    if significant:
        since = max(dt.date.fromisoformat(s["since"]) for s in significant)
        text = "; ".join(
            f"{s['metric']} {s['variant']} {_pct(s['rel_lift'])} (always-valid CI {_pct(s['seq_ci'][0])} .. "
            f"{_pct(s['seq_ci'][1])}, p adj {s['seq_p_value_adjusted']:.2g}, {s['verdict']}) since {s['since']}"
            for s in significant
        )
        return Finding(
            experiment_id,
            "significance",
            "reached",
            as_of,
            f"Always-valid significance reached: {text}.",
            since,
            details,
        )
    if early:
        return Finding(
            experiment_id,
            "significance",
            "skip",
            as_of,
            f"Significant but not announced before {cfg.significance_min_days} days and "
            f"{cfg.significance_min_units_per_arm} units per arm: {', '.join(early)}.",
            as_of,
            details,
        )
    return Finding(
        experiment_id, "significance", "pass", as_of, "No always-valid significant result yet.", as_of, details
    )


def _harm_rows(rows: pd.DataFrame, margins: dict[str, float], cfg: HealthConfig) -> list[dict]:
    out = []
    for r in rows.itertuples():
        enough = min(r.n_control, r.n_variant) >= cfg.guardrail_min_units_per_arm
        out.append(
            {
                "metric": r.metric_id,
                "variant": r.variant,
                "direction": r.direction,
                "margin": margins.get(r.metric_id, 0.0),
                "rel_lift": _num(float(r.rel_lift)),
                "seq_ci": [_num(float(r.seq_rel_lift_ci_low)), _num(float(r.seq_rel_lift_ci_high))],
                "seq_p_value_adjusted": _sig(float(r.seq_p_value_adjusted)),
                "n_control": int(r.n_control),
                "n_variant": int(r.n_variant),
                "harm": bool(enough and r.seq_is_harmful),
            }
        )
    return out


def _harm_text(harmed: list[dict]) -> str:
    return "; ".join(
        f"{h['metric']} in {h['variant']} {_pct(h['rel_lift'])} (always-valid CI {_pct(h['seq_ci'][0])} .. "
        f"{_pct(h['seq_ci'][1])}, "
        f"p adj {h['seq_p_value_adjusted']:.2g}; allowed "
        f"{'+' if h['direction'] == 'decrease' else '−'}{h['margin']:.0%}, "
        f"{'lower' if h['direction'] == 'decrease' else 'higher'} is better)"
        for h in harmed
    )


def check_guardrail_harm(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """A guardrail is worse than its margin by the always-valid test (analysis.decisions.guardrail_breaches)."""
    metrics = inp.rows("metrics", experiment_id)
    guard = metrics[metrics["metric_role"] == "guardrail"]
    if guard.empty:
        return Finding(
            experiment_id, "guardrail_harm", "skip", as_of, "The experiment has no guardrail metrics.", as_of
        )
    margins = {
        m: float(h) if pd.notna(h) else 0.0 for m, h in zip(guard["metric_id"], guard["max_relative_harm"], strict=True)
    }
    res = inp.rows("results", experiment_id)
    res = res[res["metric_id"].isin(margins) & (res["metric_role"] == "guardrail") & (res["analysis_date"] == as_of)]
    rows = _harm_rows(res, margins, cfg)
    breached = decisions.guardrail_breaches(res, cfg.guardrail_min_units_per_arm)
    harmed = [
        r
        for r in rows
        if (r["metric"], r["variant"]) in set(zip(breached["metric_id"], breached["variant"], strict=True))
    ]
    details = {"guardrails": rows, "min_units_per_arm": cfg.guardrail_min_units_per_arm}
    if harmed:
        return Finding(
            experiment_id, "guardrail_harm", "fail", as_of, f"Guardrail harmed: {_harm_text(harmed)}.", as_of, details
        )
    if not rows or all(min(r["n_control"], r["n_variant"]) < cfg.guardrail_min_units_per_arm for r in rows):
        return Finding(
            experiment_id,
            "guardrail_harm",
            "skip",
            as_of,
            f"Guardrails not judged before {cfg.guardrail_min_units_per_arm} units per arm.",
            as_of,
            details,
        )
    return Finding(
        experiment_id,
        "guardrail_harm",
        "pass",
        as_of,
        f"No guardrail is significantly worse than its margin ({len(rows)} judged).",
        as_of,
        details,
    )


def check_primary_harm(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """The primary metric is significantly worse (always-valid test, margin 0) after the significance gates."""
    exp = inp.experiment(experiment_id)
    res = inp.rows("results", experiment_id)
    res = res[(res["metric_role"] == "primary") & (res["analysis_date"] == as_of)]
    if res.empty:
        return Finding(experiment_id, "primary_harm", "skip", as_of, "No primary-metric results yet.", as_of)
    days = (as_of - exp["start_date"]).days + 1
    min_units = max(cfg.guardrail_min_units_per_arm, cfg.significance_min_units_per_arm)
    rows = _harm_rows(res, {}, cfg)
    harmed_rows = decisions.primary_harms(res, min_units)
    details = {"primary": rows, "min_days": cfg.significance_min_days, "min_units_per_arm": min_units}
    if days < cfg.significance_min_days:
        return Finding(
            experiment_id,
            "primary_harm",
            "skip",
            as_of,
            f"Primary harm is not judged before day {cfg.significance_min_days}.",
            as_of,
            details,
        )
    if not harmed_rows.empty:
        keys = set(zip(harmed_rows["metric_id"], harmed_rows["variant"], strict=True))
        text = _harm_text([r for r in rows if (r["metric"], r["variant"]) in keys])
        return Finding(
            experiment_id, "primary_harm", "fail", as_of, f"Primary metric significantly worse: {text}.", as_of, details
        )
    return Finding(
        experiment_id,
        "primary_harm",
        "pass",
        as_of,
        "The primary metric is not significantly worse in any variant.",
        as_of,
        details,
    )
