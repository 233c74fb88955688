"""The vocabulary of monitoring: thresholds, checks, triggers, escalation levels and findings.

A *check* is one health rule evaluated for one experiment on one data date (the as-of date); its
outcome is a :class:`Finding`. A failing finding (or an informational one that was reached) maps to
a *trigger*; a trigger has an escalation *level*:

* level 0, informational (significance / sample size / duration reached) → the experiment's slack_channel;
* level 1, anomaly (metric anomaly, traffic or freshness, pre-exposure bias, novelty, interaction) → the experiment
  owner;
* level 2, integrity risk (SRM, multiple exposure, broken instrumentation, unknown variants) → automatic pause + owner
  and PM;
* level 3, negative user impact (guardrail harm, primary metric significantly worse) → immediate automatic pause +
  owner, PM and leadership.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["pass", "fail", "reached", "skip"]
"""pass: healthy / not reached; fail: a problem; reached: an informational milestone; skip: could not judge."""


class HealthConfig(BaseModel):
    """Every threshold of the health rules, with the default and where it comes from.

    The Dagster resource `monitoring` exposes the same fields; docs/monitoring.md explains each rule.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    srm_threshold: float = Field(
        0.001, gt=0, lt=1, description="SRM alarm when the χ² p-value is below this (GrowthBook/Optimizely use 0.001)."
    )
    srm_min_units_per_arm: int = Field(
        100, ge=1, description="SRM is not judged until every arm has this many analysed units."
    )
    srm_segment_min_units_per_arm: int = Field(
        50, ge=1, description="Per-segment SRM skips segments with fewer units in an arm."
    )
    multi_exposure_max_rate: float = Field(
        0.01, ge=0, le=1, description="Alarm when more than this share of units saw more than one variant."
    )
    unknown_variant_max_rate: float = Field(
        0.001,
        ge=0,
        le=1,
        description="Alarm (level 2) when units exposed to a variant the registry does not list exceed this share of "
        "the "
        "experiment's exposed units; below it the finding is recorded without an alert.",
    )
    traffic_trailing_days: int = Field(
        7, ge=2, description="Trailing window for the traffic level (median of daily new units)."
    )
    traffic_drop_ratio: float = Field(
        0.3, gt=0, lt=1, description="Alarm when a day's new units fall below this share of the trailing median."
    )
    traffic_min_trailing_units: float = Field(
        20, ge=0, description="Traffic drops are judged only when the trailing median is at least this."
    )
    freshness_max_lag_days: int | None = Field(
        None,
        ge=0,
        description="When set: alarm when the newest data is older than this many days before today (wall clock).",
    )
    anomaly_window_days: int = Field(
        14, ge=3, description="Trailing window of the metric anomaly rule (days before the judged day)."
    )
    anomaly_min_points: int = Field(
        7, ge=3, description="Days needed in the trailing window before anomalies are judged."
    )
    anomaly_k: float = Field(
        6.0, gt=0, description="Alarm when |value − median| > k · MAD·1.4826 (a robust z-score above k)."
    )
    anomaly_min_units: float = Field(
        50, ge=0, description="Days with fewer units in their metric window are not judged (too noisy)."
    )
    anomaly_min_relative_change: float = Field(
        0.05,
        ge=0,
        description="…and the change must also exceed this share of the median (avoids alarms on flat series).",
    )
    significance_min_days: int = Field(
        7, ge=1, description="Significance is not announced before this many days since the start."
    )
    significance_min_units_per_arm: int = Field(
        100, ge=1, description="…nor before every compared arm has this many units."
    )
    significance_roles: tuple[str, ...] = Field(
        ("primary",), description="Metric roles whose significance is announced."
    )
    guardrail_min_units_per_arm: int = Field(
        100, ge=1, description="Guardrail harm is judged once both arms have this many units."
    )
    instrumentation_days: int = Field(
        3, ge=1, description="Length of the launch window of the instrumentation checks (days from the start)."
    )
    instrumentation_min_units_per_arm: int = Field(
        30, ge=1, description="Launch window: a metric without events is an alarm only in arms with this many units."
    )
    instrumentation_max_flip_rate: float = Field(
        0.01, ge=0, le=1, description="Launch window: alarm when more than this share of units flipped variant."
    )
    bias_alpha: float = Field(
        0.001,
        gt=0,
        lt=1,
        description="Pre-exposure bias alarm when the Welch test of the covariate means has p below this.",
    )
    bias_min_units_per_arm: int = Field(
        100, ge=1, description="Pre-exposure bias is judged once both arms have this many units."
    )
    auto_pause_levels: tuple[int, ...] = Field(
        (2, 3), description="Escalation levels that pause the experiment automatically."
    )
    resume_grace_days: int = Field(
        7,
        ge=0,
        description="After a person resumes an experiment, no automatic pause for data dates up to this many days "
        "after "
        "the resume.",
    )


@dataclass(frozen=True)
class CheckSpec:
    """One health rule: its name (the Dagster asset check), trigger, level and the rule in one sentence."""

    name: str
    trigger: str
    level: int
    informational: bool
    rule: str
    action: str
    once_per_experiment: bool = False  # milestones whose date may shift (sample size) are announced once per experiment


CHECKS: dict[str, CheckSpec] = {
    spec.name: spec
    for spec in [
        CheckSpec(
            "srm",
            "srm",
            2,
            False,
            "Pearson χ² of analysed units per arm against the design weights; alarm when p < srm_threshold "
            "and every arm has srm_min_units_per_arm units (stats.srm_test; Fabijan et al. 2019, KDD).",
            "Do not trust the results: find where units are lost or added (assignment, logging, bots, "
            "redirects) before resuming.",
        ),
        CheckSpec(
            "srm_segments",
            "srm_segment",
            2,
            False,
            "The SRM test within each segment (attribute value at first exposure, fct_segment_exposures), "
            "threshold Bonferroni-divided by the number of segments judged.",
            "Look at the mismatched segment first: a platform or country that loses units in one arm points at "
            "the bug.",
        ),
        CheckSpec(
            "multiple_exposure",
            "multiple_exposure",
            2,
            False,
            "Share of exposed units seen in more than one variant "
            "(dim_experiment_exposure_quality.multi_exposure_rate) "
            "above multi_exposure_max_rate.",
            "Check that assignment is sticky per user (hashing on a stable id, no re-bucketing on login or "
            "across devices).",
        ),
        CheckSpec(
            "freshness",
            "freshness",
            1,
            False,
            "A running experiment must have exposures and events from its units on the as-of date "
            "(and, when freshness_max_lag_days is set, data no older than that).",
            "Check the ingestion logs (raw.ingestion_log) and the app's exposure logging for that day.",
        ),
        CheckSpec(
            "traffic",
            "traffic_drop",
            1,
            False,
            "New units on the as-of date below traffic_drop_ratio × the median of the previous "
            "traffic_trailing_days days.",
            "Check whether the experiment is still served (feature flag, targeting, a release) and whether "
            "logging dropped.",
        ),
        CheckSpec(
            "metric_anomaly",
            "metric_anomaly",
            1,
            False,
            "A variant's daily metric value (mon_variant_metric_daily.daily_value) outside median ± "
            "k·1.4826·MAD of its own "
            "previous anomaly_window_days days (robust z-score; Leys et al. 2013, J. Exp. Soc. Psychol.).",
            "Look at the metric's events for that day and variant: a logging change, an outage or a bot burst.",
        ),
        CheckSpec(
            "sample_size",
            "sample_size_reached",
            0,
            True,
            "Every arm has the units the power analysis asks for: stats.sample_size_per_arm from success_criteria "
            "(alpha, power, minimum_detectable_effect) and the control's observed baseline of the primary metric.",
            "The experiment has the planned power: decide at the planned end, or stop if the result is already clear.",
            once_per_experiment=True,
        ),
        CheckSpec(
            "duration",
            "duration_limit_reached",
            0,
            True,
            "The as-of date is on or after the experiment's end_date.",
            "Conclude the experiment: write the decision and set its status to concluded in the registry.",
            once_per_experiment=True,
        ),
        CheckSpec(
            "significance",
            "significance_reached",
            0,
            True,
            "The always-valid test is significant (experiment_results.seq_is_significant: seq_p_value_adjusted "
            "< alpha, "
            "equivalently its intervals exclude zero) for a "
            "primary metric, not before significance_min_days days and significance_min_units_per_arm units per arm.",
            "The always-valid result may be read now; check guardrails and segments before shipping.",
        ),
        CheckSpec(
            "guardrail_harm",
            "guardrail_harm",
            3,
            False,
            "A guardrail is worse than its allowed margin max_relative_harm in the bad direction by the "
            "always-valid test "
            "at level alpha/m (experiment_results.seq_is_harmful: z of m_v − (1 ± margin)·m_c beyond the "
            "mixture boundary; "
            "the same rule as the report and the weekly status, analysis/decisions.py), with "
            "guardrail_min_units_per_arm units.",
            "The experiment hurts users and was paused: roll back the variant, find the cause, resume only with a fix.",
        ),
        CheckSpec(
            "primary_harm",
            "primary_harm",
            3,
            False,
            "The primary metric is significantly worse in some variant by the always-valid test (seq_is_harmful with "
            "margin 0, i.e. seq_p_value_adjusted < alpha in the bad direction), from day significance_min_days on and "
            "with max(guardrail_min_units_per_arm, significance_min_units_per_arm) units per arm.",
            "The variant hurts the metric it was meant to improve and was paused: roll it back unless a person "
            "decides otherwise.",
        ),
        CheckSpec(
            "unknown_variants",
            "unknown_variant",
            2,
            False,
            "Exposure rows name a variant the experiment's YAML does not list (fct_unmatched_exposures); they "
            "are excluded "
            "from the analysis, so the arms may be incomplete. Every occurrence is a finding (and a line in `exptrack "
            "summary`); it alerts when those units exceed unknown_variant_max_rate of the exposed units.",
            "Fix the flag or logging that emits the unknown variant, or add the variant to the experiment's YAML.",
        ),
        CheckSpec(
            "unknown_experiment",
            "unknown_experiment",
            1,
            False,
            "Exposure rows name an experiment id that is not in the registry (fct_unmatched_exposures). A finding per "
            "unregistered id; it has no owner to alert, so `exptrack summary` lists it.",
            "Add the experiment's YAML under experiments/ or fix the id in the app's exposure logging.",
        ),
        CheckSpec(
            "novelty",
            "novelty_effect",
            1,
            False,
            "The primary metric's lift differs between days [0, k) and [k, 2k) since exposure for the same units "
            "(analysis.heterogeneity.novelty_check: z-test with the within-unit covariance, Bonferroni over variants).",
            "The long-run effect may differ from the average: read the report's novelty section before deciding.",
            once_per_experiment=True,
        ),
        CheckSpec(
            "interaction",
            "interaction_effect",
            1,
            False,
            "The primary metric's lift differs between users in another experiment's control and its treatment "
            "(analysis.heterogeneity.interaction_check, Bonferroni over every pair tested).",
            "Coordinate with the other experiment's owner: the combined launch may not add up.",
            once_per_experiment=True,
        ),
        CheckSpec(
            "instrumentation",
            "instrumentation",
            2,
            False,
            "In the first instrumentation_days days: every variant gets exposures, each metric's events occur among "
            "exposed units of every variant, and at most instrumentation_max_flip_rate of units flip variant.",
            "Fix the logging before the experiment collects more data: a variant or metric without data cannot "
            "be analysed.",
        ),
        CheckSpec(
            "pre_exposure_bias",
            "pre_exposure_bias",
            1,
            False,
            "Pre-period covariate (the CUPED covariate, sum_x/n) compared between each variant and control with the "
            "Welch test of stats.compare(kind='mean'); alarm when p < bias_alpha.",
            "The arms differed before the experiment: check the assignment (hash salt reuse, carry-over from "
            "an earlier test).",
        ),
    ]
}

TITLES: dict[str, str] = {
    "srm": "Sample ratio mismatch",
    "srm_segments": "Sample ratio mismatch in a segment",
    "multiple_exposure": "Users seen in more than one variant",
    "freshness": "No fresh exposures or events",
    "traffic": "Traffic dropped",
    "metric_anomaly": "Metric anomaly",
    "sample_size": "Planned sample size reached",
    "duration": "Planned end date reached",
    "significance": "Significance reached",
    "guardrail_harm": "Guardrail harmed: users are worse off",
    "primary_harm": "Primary metric significantly worse",
    "instrumentation": "Instrumentation broken at launch",
    "unknown_variants": "Exposures for a variant not in the registry",
    "unknown_experiment": "Exposures for an experiment not in the registry",
    "novelty": "Novelty effect: the lift changes with time since exposure",
    "interaction": "Interaction with a concurrent experiment",
    "pre_exposure_bias": "Arms differed before exposure",
}

TRIGGER_LEVELS: dict[str, int] = {spec.trigger: spec.level for spec in CHECKS.values()}
SHIP_RAMP_CHECKS = ("guardrail_harm",)
"""The only checks judged (and alerted) while a shipped variant ramps up (effective status `ship_ramp`): the split
no longer follows the design, so integrity and milestone checks do not apply; a guardrail breach stops the ramp."""
LEVEL_NAMES = {0: "info", 1: "level 1 · anomaly", 2: "level 2 · integrity risk", 3: "level 3 · user harm"}


@dataclass(frozen=True)
class Finding:
    """The verdict of one check for one experiment on one as-of date.

    ``event_date`` is the date that identifies the event for exactly-once alerting: the as-of date for
    problems (re-alerted daily while they last), the first date reached for milestones.
    ``details`` holds the numbers behind the verdict (JSON-serialisable); ``alert`` False keeps a verdict
    out of the alerts (e.g. instrumentation verdicts after the launch window).
    """

    experiment_id: str
    check: str
    status: Status
    as_of: dt.date
    summary: str
    event_date: dt.date | None = None
    details: dict[str, Any] = field(default_factory=dict)
    alert: bool = True

    @property
    def spec(self) -> CheckSpec:
        """The check's specification (level, trigger, texts)."""
        return CHECKS[self.check]

    @property
    def triggered(self) -> bool:
        """True when the finding raises an alert: failed, or reached for informational checks."""
        return self.alert and (self.status == "fail" or (self.status == "reached" and self.spec.informational))

    @property
    def level(self) -> int:
        """The check's escalation level."""
        return self.spec.level

    @property
    def trigger(self) -> str:
        """The trigger the check belongs to."""
        return self.spec.trigger
