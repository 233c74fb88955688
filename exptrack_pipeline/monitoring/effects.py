"""Rules on what the analysis cannot see by itself: novelty and interaction effects (level 1), and exposures that match
nothing in the registry (an unknown variant of a monitored experiment: level 2; an unregistered experiment id: a
finding without an owner to alert, listed by `exptrack summary`). Pure: frames in, :class:`Finding` out."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from exptrack_pipeline.analysis.heterogeneity import interaction_check, novelty_check
from exptrack_pipeline.monitoring.inputs import HealthInputs
from exptrack_pipeline.monitoring.integrity import _num
from exptrack_pipeline.monitoring.model import Finding, HealthConfig


def _flagged(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["flag"]] if not frame.empty and "flag" in frame.columns else frame.iloc[0:0]


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    return [
        {c: (_num(float(v), 4) if isinstance(v, float) else v) for c, v in zip(columns, r, strict=True)}
        for r in frame[columns].itertuples(index=False)
    ]


def check_novelty(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """The primary metric's lift differs between days [0, k) and [k, 2k) since exposure (analysis.heterogeneity)."""
    exp = inp.experiment(experiment_id)
    stats = inp.rows("novelty", experiment_id)
    metrics = inp.rows("metrics", experiment_id)
    direction = metrics.loc[metrics["metric_id"] == exp["primary_metric_id"], "direction"]
    frame, text = novelty_check(
        stats, str(direction.iloc[0]) if not direction.empty else "increase", float(exp["alpha"])
    )
    flagged = _flagged(frame)
    details = {"method": "lift early vs late, within-unit covariance, Bonferroni over variants", "summary": text}
    if frame.empty or frame["p_value"].isna().all():
        return Finding(experiment_id, "novelty", "skip", as_of, f"Novelty not judged: {text}.", as_of, details)
    details["variants"] = _rows(frame, ["variant", "lift_early", "lift_late", "p_value_adjusted"])
    if not flagged.empty:
        return Finding(
            experiment_id,
            "novelty",
            "fail",
            as_of,
            f"The lift changes with time since exposure: {text}.",
            as_of,
            details,
        )
    return Finding(experiment_id, "novelty", "pass", as_of, f"Novelty: {text}.", as_of, details)


def check_interaction(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """The primary metric's lift differs between another experiment's control and treatment users."""
    exp = inp.experiment(experiment_id)
    frame, text = interaction_check(inp.interaction, float(exp["alpha"]), experiment_id)
    details = {
        "method": "lift among the other experiment's control vs treatment users, Bonferroni over all pairs",
        "summary": text,
    }
    if frame.empty or frame["p_value"].isna().all():
        return Finding(experiment_id, "interaction", "skip", as_of, f"Interactions not judged: {text}.", as_of, details)
    details["pairs"] = _rows(
        frame, ["other_experiment_id", "variant", "lift_control", "lift_treatment", "p_value_adjusted"]
    )
    if not _flagged(frame).empty:
        return Finding(
            experiment_id,
            "interaction",
            "fail",
            as_of,
            f"Interaction with a concurrent experiment: {text}.",
            as_of,
            details,
        )
    return Finding(experiment_id, "interaction", "pass", as_of, f"Interaction: {text}.", as_of, details)


def check_unknown_variants(inp: HealthInputs, cfg: HealthConfig, experiment_id: str, as_of: dt.date) -> Finding:
    """Exposure rows for a variant the registry does not list, up to the as-of date (fct_unmatched_exposures)."""
    rows = inp.rows("unmatched", experiment_id)
    rows = rows[(rows["exclusion_reason"] == "unknown_variant") & (rows["exposure_date"] <= as_of)]
    if rows.empty:
        return Finding(
            experiment_id, "unknown_variants", "pass", as_of, "Every exposure names a registered variant.", as_of
        )
    by_variant = rows.groupby("variant", dropna=False).agg(
        rows=("exposure_rows", "sum"), first=("exposure_date", "min"), last=("exposure_date", "max")
    )
    found = [
        {"variant": str(v), "exposure_rows": int(r.rows), "first_seen": str(r.first), "last_seen": str(r.last)}
        for v, r in by_variant.iterrows()
    ]
    text = "; ".join(
        f"'{f['variant']}' ({f['exposure_rows']:,} rows, {f['first_seen']} .. {f['last_seen']})" for f in found
    )
    quality = inp.rows("exposure_quality", experiment_id)
    exposed = float(quality["exposed_units"].iloc[0]) if not quality.empty else 0.0
    unknown_units = float(rows["units"].sum())
    rate = unknown_units / (exposed + unknown_units) if exposed + unknown_units > 0 else 1.0
    alert = rate > cfg.unknown_variant_max_rate
    details = {
        "unknown_variants": found,
        "unknown_units_upper_bound": int(unknown_units),
        "rate": _num(rate, 6),
        "max_rate": cfg.unknown_variant_max_rate,
    }
    quiet = (
        ""
        if alert
        else f" (at most {rate:.3%} of units, below {cfg.unknown_variant_max_rate:.1%}: recorded, not alerted)"
    )
    return Finding(
        experiment_id,
        "unknown_variants",
        "fail",
        as_of,
        f"Exposures for variants not in the registry (excluded from the analysis): {text}{quiet}.",
        as_of,
        details,
        alert=alert,
    )


def unregistered_experiments(inp: HealthInputs, as_of: dt.date | None) -> list[Finding]:
    """One finding per experiment id that exposures name but the registry does not (no owner to alert: the summary lists
    it)."""
    rows = inp.unmatched[inp.unmatched["exclusion_reason"] == "unknown_experiment"]
    if as_of is None or rows.empty:
        return []
    out = []
    for experiment_id, part in rows.groupby("experiment_id"):
        details = {
            "exposure_rows": int(part["exposure_rows"].sum()),
            "first_seen": str(part["exposure_date"].min()),
            "last_seen": str(part["exposure_date"].max()),
            "variants": sorted(map(str, part["variant"].dropna().unique())),
        }
        out.append(
            Finding(
                str(experiment_id),
                "unknown_experiment",
                "fail",
                as_of,
                f"{details['exposure_rows']:,} exposure rows name experiment '{experiment_id}', which is not "
                "in the registry "
                f"({details['first_seen']} .. {details['last_seen']}): add its YAML under experiments/ or fix "
                "the logging.",
                as_of,
                details,
            )
        )
    return out
