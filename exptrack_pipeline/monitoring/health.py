"""Run every health rule for every monitored experiment on its as-of date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import exptrack_pipeline.monitoring.effects as effects
import exptrack_pipeline.monitoring.integrity as integrity
import exptrack_pipeline.monitoring.outcomes as outcomes
from exptrack_pipeline.monitoring.inputs import HealthInputs
from exptrack_pipeline.monitoring.model import CHECKS, SHIP_RAMP_CHECKS, Finding, HealthConfig

Rule = Callable[[HealthInputs, HealthConfig, str, dt.date], Finding]

RULES: dict[str, Rule] = {
    "srm": integrity.check_srm,
    "srm_segments": integrity.check_srm_segments,
    "multiple_exposure": integrity.check_multiple_exposure,
    "freshness": integrity.check_freshness,
    "traffic": integrity.check_traffic,
    "instrumentation": integrity.check_instrumentation,
    "pre_exposure_bias": integrity.check_pre_exposure_bias,
    "metric_anomaly": outcomes.check_metric_anomaly,
    "sample_size": outcomes.check_sample_size,
    "duration": outcomes.check_duration,
    "significance": outcomes.check_significance,
    "guardrail_harm": outcomes.check_guardrail_harm,
    "primary_harm": outcomes.check_primary_harm,
    "unknown_variants": effects.check_unknown_variants,
    "novelty": effects.check_novelty,
    "interaction": effects.check_interaction,
}
PORTFOLIO_RULES = {"unknown_experiment": effects.unregistered_experiments}
"""Checks about data that belongs to no registered experiment: evaluated once, not per experiment."""
assert set(RULES) | set(PORTFOLIO_RULES) == set(CHECKS), "every check needs a rule"


def evaluate(inp: HealthInputs, cfg: HealthConfig | None = None) -> list[Finding]:
    """Every rule × every experiment in `inp.experiments` (each on its own as-of date).

    A rule that raises gives a `skip` finding naming the error, so one broken rule never hides the others. An
    experiment whose shipped variant is ramping up (effective status `ship_ramp`) is judged by SHIP_RAMP_CHECKS only.
    """
    cfg = cfg or HealthConfig()
    findings: list[Finding] = []
    for exp in inp.experiments.itertuples():
        as_of = exp.as_of
        ramping = getattr(exp, "effective_status", None) == "ship_ramp"
        for name, rule in RULES.items():
            if ramping and name not in SHIP_RAMP_CHECKS:
                continue
            if as_of is None or as_of != as_of:  # no data yet (None or NaT)
                findings.append(
                    Finding(exp.experiment_id, name, "skip", exp.start_date, "No data for this experiment yet.")
                )
                continue
            try:
                findings.append(rule(inp, cfg, exp.experiment_id, as_of))
            except Exception as exc:
                findings.append(
                    Finding(
                        exp.experiment_id,
                        name,
                        "skip",
                        as_of,
                        f"The rule could not be evaluated: {type(exc).__name__}: {exc}",
                    )
                )
    for portfolio_rule in PORTFOLIO_RULES.values():
        findings.extend(portfolio_rule(inp, inp.data_through))
    return findings
