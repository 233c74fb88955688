"""Integrity rules: sample ratio mismatch (overall and per segment), multiple exposure, freshness, traffic,
launch instrumentation and pre-exposure bias. Pure: frames in, :class:`Finding` out; statistics via
exptrack_pipeline.stats.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from exptrack_pipeline.monitoring.inputs import HealthInputs
from exptrack_pipeline.monitoring.model import Finding, HealthConfig
from exptrack_pipeline.stats import ArmStats, compare, srm_test


def _num(x: float | int | None, digits: int = 4) -> float | None:
    """A JSON-friendly rounded number (None for NaN)."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return None
    return float(round(float(x), digits)) if isinstance(x, float) else int(x)


def _sig(x: float | None, digits: int = 3) -> float | None:
    """A JSON-friendly number rounded to significant digits (p-values: 4.6e-09 stays 4.6e-09), None for NaN."""
    if x is None or not np.isfinite(x):
        return None
    return float(f"{float(x):.{digits}g}")


def _fmt_p(p: float) -> str:
    return "n/a" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}")


def arm_counts(inp: HealthInputs, experiment_id: str, as_of: dt.date) -> pd.DataFrame:
    """Analysed units per variant through `as_of` with the design weight, control first, then by name."""
    variants = inp.rows("variants", experiment_id)[["variant", "weight", "is_control"]]
    daily = inp.rows("daily_exposures", experiment_id)
    daily = daily[daily["exposure_date"] <= as_of]
    units = daily.groupby("variant")["new_units"].sum()
    out = variants.assign(units=variants["variant"].map(units).fillna(0).astype(int))
    return out.reset_index(drop=True)


def check_srm(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """χ² goodness of fit of analysed units per arm to the design weights (stats.srm_test)."""
    arms = arm_counts(inp, experiment_id, as_of)
    result = srm_test(
        arms["units"].to_numpy(float)[None, :],
        arms["weight"].to_numpy(float)[None, :],
        threshold=cfg.srm_threshold,
        min_count_per_arm=cfg.srm_min_units_per_arm,
    )
    total = int(arms["units"].sum())
    expected = arms["weight"] / arms["weight"].sum() * total
    p, reason = float(result.p_value[0]), str(result.reason[0])
    details = {
        "units": dict(zip(arms["variant"], arms["units"].astype(int).tolist(), strict=True)),
        "expected_units": {v: _num(e, 1) for v, e in zip(arms["variant"], expected, strict=True)},
        "design_weights": dict(zip(arms["variant"], arms["weight"].astype(float).tolist(), strict=True)),
        "chi_square": _num(float(result.statistic[0])),
        "p_value": _sig(p),
        "threshold": cfg.srm_threshold,
    }
    split = ", ".join(
        f"{v} {u:,} (expected {e:,.0f})" for v, u, e in zip(arms["variant"], arms["units"], expected, strict=True)
    )
    if bool(result.is_mismatch[0]):
        return Finding(
            experiment_id,
            "srm",
            "fail",
            as_of,
            f"Sample ratio mismatch: {split}; χ² p = {_fmt_p(p)} < {cfg.srm_threshold:g}.",
            as_of,
            details,
        )
    if reason:
        return Finding(experiment_id, "srm", "skip", as_of, f"SRM not judged: {reason} ({split}).", as_of, details)
    return Finding(
        experiment_id, "srm", "pass", as_of, f"Split matches the design: {split}; p = {_fmt_p(p)}.", as_of, details
    )


def check_srm_segments(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """SRM within each segment (attribute value at first exposure), threshold Bonferroni-divided by the segments
    judged."""
    seg = inp.rows("segment_exposures", experiment_id)
    variants = inp.rows("variants", experiment_id)
    if seg.empty:
        return Finding(
            experiment_id, "srm_segments", "skip", as_of, "No segment attributes were sent with the exposures.", as_of
        )
    matrix = seg.pivot_table(index=["attribute", "attribute_value"], columns="variant", values="units", aggfunc="sum")
    names = variants["variant"].tolist()
    matrix = matrix.reindex(columns=names).fillna(0)
    weights = variants.set_index("variant").loc[names, "weight"].to_numpy(float)
    counts = matrix.to_numpy(float)
    judged = (counts >= cfg.srm_segment_min_units_per_arm).all(axis=1)
    threshold = cfg.srm_threshold / max(int(judged.sum()), 1)
    result = srm_test(counts, weights, threshold=threshold, min_count_per_arm=cfg.srm_segment_min_units_per_arm)
    bad = np.flatnonzero(result.is_mismatch)
    rows = [
        {
            "segment": f"{a}={v}",
            **{n: int(c) for n, c in zip(names, counts[i], strict=True)},
            "p_value": _sig(float(result.p_value[i])),
        }
        for i, (a, v) in enumerate(matrix.index)
        if judged[i]
    ]
    details = {
        "segments_judged": int(judged.sum()),
        "segments_skipped_small": int((~judged).sum()),
        "threshold": threshold,
        "mismatched": [r for r in rows if r["p_value"] is not None and r["p_value"] < threshold],
        "segments": rows,
    }
    if len(bad):
        worst = ", ".join(
            f"{matrix.index[i][0]}={matrix.index[i][1]} (p = {_fmt_p(float(result.p_value[i]))})" for i in bad[:5]
        )
        return Finding(
            experiment_id,
            "srm_segments",
            "fail",
            as_of,
            f"Sample ratio mismatch in {len(bad)} of {int(judged.sum())} segments: {worst}.",
            as_of,
            details,
        )
    if not judged.any():
        return Finding(
            experiment_id,
            "srm_segments",
            "skip",
            as_of,
            f"No segment has {cfg.srm_segment_min_units_per_arm} units in every arm yet.",
            as_of,
            details,
        )
    return Finding(
        experiment_id,
        "srm_segments",
        "pass",
        as_of,
        f"All {int(judged.sum())} segments judged match the design split (Bonferroni threshold {threshold:.1e}).",
        as_of,
        details,
    )


def check_multiple_exposure(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """Share of exposed units seen in more than one variant (dim_experiment_exposure_quality)."""
    quality = inp.rows("exposure_quality", experiment_id)
    if quality.empty or int(quality["exposed_units"].iloc[0]) == 0:
        return Finding(experiment_id, "multiple_exposure", "skip", as_of, "No exposed units yet.", as_of)
    row = quality.iloc[0]
    rate = float(row["multi_exposure_rate"])
    details = {
        "exposed_units": int(row["exposed_units"]),
        "multi_exposed_units": int(row["multi_exposed_units"]),
        "multi_exposure_rate": _num(rate, 6),
        "max_rate": cfg.multi_exposure_max_rate,
    }
    text = (
        f"{int(row['multi_exposed_units']):,} of {int(row['exposed_units']):,} units ({rate:.2%}) saw more than "
        "one variant"
    )
    if rate > cfg.multi_exposure_max_rate:
        return Finding(
            experiment_id,
            "multiple_exposure",
            "fail",
            as_of,
            f"{text}, above {cfg.multi_exposure_max_rate:.1%}.",
            as_of,
            details,
        )
    return Finding(
        experiment_id,
        "multiple_exposure",
        "pass",
        as_of,
        f"{text} (limit {cfg.multi_exposure_max_rate:.1%}).",
        as_of,
        details,
    )


def _in_flight(exp: pd.Series, as_of: dt.date) -> bool:
    return exp["start_date"] <= as_of <= exp["end_date"]


def check_freshness(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """A running experiment has exposures and events of its units on the as-of date; data not older than the lag
    limit."""
    exp = inp.experiment(experiment_id)
    details: dict = {"data_through": str(inp.data_through) if inp.data_through else None, "as_of": str(as_of)}
    if cfg.freshness_max_lag_days is not None and inp.today is not None and inp.data_through is not None:
        lag = (inp.today - inp.data_through).days
        details |= {"lag_days": lag, "max_lag_days": cfg.freshness_max_lag_days}
        if lag > cfg.freshness_max_lag_days:
            return Finding(
                experiment_id,
                "freshness",
                "fail",
                as_of,
                f"The newest data is from {inp.data_through}, {lag} days before today (limit "
                f"{cfg.freshness_max_lag_days}).",
                as_of,
                details,
            )
    if not _in_flight(exp, as_of):
        return Finding(
            experiment_id,
            "freshness",
            "skip",
            as_of,
            f"Not in flight on {as_of} (runs {exp['start_date']} .. {exp['end_date']}).",
            as_of,
            details,
        )
    day = inp.rows("activity", experiment_id)
    day = day[day["activity_date"] == as_of]
    exposures = int(day["exposure_rows"].sum()) if not day.empty else 0
    events = int(day["events"].sum()) if not day.empty else 0
    details |= {"exposure_rows": exposures, "events": events}
    missing = [name for name, count in (("exposures", exposures), ("events from its units", events)) if count == 0]
    if missing:
        return Finding(
            experiment_id, "freshness", "fail", as_of, f"No {' and no '.join(missing)} on {as_of}.", as_of, details
        )
    return Finding(
        experiment_id,
        "freshness",
        "pass",
        as_of,
        f"{exposures:,} exposures and {events:,} events on {as_of}.",
        as_of,
        details,
    )


def check_traffic(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """New units on the as-of date against the median of the previous `traffic_trailing_days` days in flight."""
    exp = inp.experiment(experiment_id)
    if not _in_flight(exp, as_of):
        return Finding(experiment_id, "traffic", "skip", as_of, f"Not in flight on {as_of}.", as_of)
    daily = inp.rows("daily_exposures", experiment_id).groupby("exposure_date")["new_units"].sum()
    start = max(exp["start_date"], as_of - dt.timedelta(days=cfg.traffic_trailing_days))
    trailing = daily[(daily.index >= start) & (daily.index < as_of)]
    today = float(daily.get(as_of, 0.0))
    if len(trailing) < 3:
        return Finding(
            experiment_id,
            "traffic",
            "skip",
            as_of,
            f"Only {len(trailing)} earlier days: traffic level not known yet.",
            as_of,
        )
    level = float(np.median(trailing.to_numpy(float)))
    details = {
        "new_units": int(today),
        "trailing_median": _num(level, 1),
        "trailing_days": len(trailing),
        "drop_ratio": cfg.traffic_drop_ratio,
    }
    text = f"{int(today):,} new units on {as_of} vs a median of {level:,.0f} over the previous {len(trailing)} days"
    if level >= cfg.traffic_min_trailing_units and today < cfg.traffic_drop_ratio * level:
        return Finding(
            experiment_id,
            "traffic",
            "fail",
            as_of,
            f"Traffic dropped: {text} (alarm below {cfg.traffic_drop_ratio:.0%}).",
            as_of,
            details,
        )
    return Finding(experiment_id, "traffic", "pass", as_of, f"{text}.", as_of, details)


def check_instrumentation(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """Launch window: every variant exposed, every metric has events in every arm, few variant flips.

    The verdict is computed on the launch window's data; it alerts only while the as-of date is inside the window.
    """
    exp = inp.experiment(experiment_id)
    window_end = exp["start_date"] + dt.timedelta(days=cfg.instrumentation_days - 1)
    upto = min(as_of, window_end)
    alert = as_of <= window_end
    if as_of < exp["start_date"]:
        return Finding(experiment_id, "instrumentation", "skip", as_of, "Not started yet.", as_of)
    arms = arm_counts(inp, experiment_id, upto)
    problems: list[str] = [
        f"variant {v} has no exposures" for v, u in zip(arms["variant"], arms["units"], strict=True) if u == 0
    ]
    metric_daily = inp.rows("metric_daily", experiment_id)
    metric_daily = metric_daily[metric_daily["activity_date"] <= upto]
    days_elapsed = (upto - exp["start_date"]).days + 1
    silent: list[str] = []
    for m in inp.rows("metrics", experiment_id).itertuples():
        if m.metric_kind == "retention" and (m.retention_day or 0) >= days_elapsed:
            continue  # a Dn retention metric cannot have events before day n
        activity = metric_daily[metric_daily["metric_id"] == m.metric_id].groupby("variant")["active_units"].sum()
        for v, units in zip(arms["variant"], arms["units"], strict=True):
            if units >= cfg.instrumentation_min_units_per_arm and float(activity.get(v, 0)) == 0:
                silent.append(f"{m.metric_id} in {v}")
    if silent:
        problems.append("no metric events among exposed units: " + ", ".join(silent))
    act = inp.rows("activity", experiment_id)
    act = act[(act["activity_date"] >= exp["start_date"]) & (act["activity_date"] <= upto)]
    first, flipped = float(act["first_exposed_units"].sum()), float(act["multi_exposed_units"].sum())
    flip_rate = flipped / first if first else 0.0
    if flip_rate > cfg.instrumentation_max_flip_rate:
        problems.append(f"{int(flipped):,} of {int(first):,} units ({flip_rate:.2%}) flipped variant")
    details = {
        "launch_window": f"{exp['start_date']} .. {window_end}",
        "judged_through": str(upto),
        "alerting": alert,
        "units": dict(zip(arms["variant"], arms["units"].astype(int).tolist(), strict=True)),
        "flip_rate": _num(flip_rate, 6),
        "silent_metrics": silent,
    }
    when = f"launch window {exp['start_date']} .. {window_end}" + ("" if alert else " (ended; verdict kept, no alert)")
    if problems:
        return Finding(
            experiment_id,
            "instrumentation",
            "fail",
            as_of,
            f"Instrumentation problems in the {when}: " + "; ".join(problems) + ".",
            as_of,
            details,
            alert,
        )
    return Finding(
        experiment_id,
        "instrumentation",
        "pass",
        as_of,
        f"Every variant exposed and every metric has events in the {when}.",
        as_of,
        details,
        alert,
    )


def check_pre_exposure_bias(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """Welch test (stats.compare, kind='mean') of the pre-period covariate mean, each variant vs control, per metric.

    The threshold is Bonferroni-divided over the metric × variant pairs judged.
    """
    stats = inp.rows("stats", experiment_id)
    stats = stats[stats["analysis_date"] == as_of]
    control = stats[stats["is_control"]].set_index("metric_id")
    pairs = stats[~stats["is_control"]].join(control[["n", "sum_x", "sum_x_sq"]], on="metric_id", rsuffix="_c")
    pairs = pairs[(pairs["n"] >= cfg.bias_min_units_per_arm) & (pairs["n_c"] >= cfg.bias_min_units_per_arm)]
    if pairs.empty:
        return Finding(
            experiment_id,
            "pre_exposure_bias",
            "skip",
            as_of,
            f"Fewer than {cfg.bias_min_units_per_arm} units per arm.",
            as_of,
        )
    result = compare(
        ArmStats(
            n=pairs["n_c"].to_numpy(float),
            sum=pairs["sum_x_c"].to_numpy(float),
            sum_sq=pairs["sum_x_sq_c"].to_numpy(float),
        ),
        ArmStats(
            n=pairs["n"].to_numpy(float), sum=pairs["sum_x"].to_numpy(float), sum_sq=pairs["sum_x_sq"].to_numpy(float)
        ),
        kind="mean",
        alpha=cfg.bias_alpha,
    )
    p = np.asarray(result.p_value, dtype=float)
    judged = np.isfinite(p)
    if not judged.any():
        return Finding(
            experiment_id,
            "pre_exposure_bias",
            "skip",
            as_of,
            "No pre-period covariate with variance (no CUPED lookback data).",
            as_of,
        )
    threshold = cfg.bias_alpha / int(judged.sum())
    rows = [
        {
            "metric": m,
            "variant": v,
            "covariate_mean_control": _num(float(mc)),
            "covariate_mean_variant": _num(float(mv)),
            "p_value": _sig(float(pv)),
        }
        for m, v, mc, mv, pv in zip(
            pairs["metric_id"], pairs["variant"], result.mean_control, result.mean_variant, p, strict=True
        )
        if np.isfinite(pv)
    ]
    bad = [r for r in rows if r["p_value"] is not None and r["p_value"] < threshold]
    details = {"threshold": threshold, "pairs_judged": int(judged.sum()), "imbalanced": bad, "pairs": rows}
    if bad:
        text = ", ".join(
            f"{r['metric']} in {r['variant']} (pre-period mean {r['covariate_mean_variant']} vs "
            f"{r['covariate_mean_control']}, p = {_fmt_p(r['p_value'])})"
            for r in bad[:4]
        )
        return Finding(
            experiment_id, "pre_exposure_bias", "fail", as_of, f"Arms differed before exposure: {text}.", as_of, details
        )
    return Finding(
        experiment_id,
        "pre_exposure_bias",
        "pass",
        as_of,
        f"Pre-period covariates balanced across arms ({int(judged.sum())} metric × variant pairs, threshold "
        f"{threshold:.1e}).",
        as_of,
        details,
    )
