"""Pandera contracts for every pandas frame that crosses a Python asset boundary."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series


class VariantMetricStats(pa.DataFrameModel):
    """fct_variant_metric_stats: cumulative sufficient statistics per experiment × metric × variant × date."""

    experiment_id: Series[str]
    metric_id: Series[str]
    metric_role: Series[str] = pa.Field(isin=["primary", "secondary", "guardrail"])
    metric_kind: Series[str] = pa.Field(isin=["conversion", "adoption", "mean", "ratio", "retention", "quantile"])
    stat_kind: Series[str] = pa.Field(isin=["proportion", "mean", "ratio", "quantile"])
    direction: Series[str] = pa.Field(isin=["increase", "decrease"])
    variant: Series[str]
    is_control: Series[bool]
    control_variant: Series[str]
    analysis_date: Series[pa.DateTime]
    n: Series[int] = pa.Field(ge=0)
    sum: Series[float]
    sum_sq: Series[float] = pa.Field(ge=0)
    sum_den: Series[float]
    sum_den_sq: Series[float] = pa.Field(ge=0)
    sum_num_den: Series[float]
    sum_x: Series[float]
    sum_x_sq: Series[float] = pa.Field(ge=0)
    sum_xy: Series[float]
    sum_w: Series[float]
    sum_w_sq: Series[float] = pa.Field(ge=0)
    sum_xw: Series[float]
    sum_xd: Series[float]
    sum_wy: Series[float]
    sum_wd: Series[float]

    class Config:
        """pandera options: strict columns, coerced types, one row per key."""

        strict = True
        coerce = True
        unique = ["experiment_id", "metric_id", "variant", "analysis_date"]


class ExperimentResults(pa.DataFrameModel):
    """experiment_results: one row per experiment × metric × non-control variant × analysis date."""

    experiment_id: Series[str]
    metric_id: Series[str]
    metric_role: Series[str] = pa.Field(isin=["primary", "secondary", "guardrail"])
    metric_kind: Series[str]
    direction: Series[str] = pa.Field(isin=["increase", "decrease"])
    variant: Series[str]
    control_variant: Series[str]
    analysis_date: Series[pa.DateTime]
    n_control: Series[int] = pa.Field(ge=0)
    n_variant: Series[int] = pa.Field(ge=0)
    mean_control: Series[float] = pa.Field(nullable=True)
    mean_variant: Series[float] = pa.Field(nullable=True)
    abs_effect: Series[float] = pa.Field(nullable=True)
    abs_ci_low: Series[float] = pa.Field(nullable=True)
    abs_ci_high: Series[float] = pa.Field(nullable=True)
    rel_lift: Series[float] = pa.Field(nullable=True)
    rel_lift_ci_low: Series[float] = pa.Field(nullable=True)
    rel_lift_ci_high: Series[float] = pa.Field(nullable=True)
    p_value: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    p_value_adjusted: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    correction: Series[str] = pa.Field(isin=["none", "bonferroni", "holm", "bh"])
    correction_procedure: Series[str] = pa.Field(isin=["bonferroni", "holm", "bh"])
    comparisons: Series[int] = pa.Field(ge=1)
    alpha: Series[float] = pa.Field(gt=0, lt=1)
    is_significant: Series[bool]
    method: Series[str]
    alternative: Series[str] = pa.Field(isin=["two-sided", "greater", "less"])
    seq_abs_ci_low: Series[float] = pa.Field(nullable=True)
    seq_abs_ci_high: Series[float] = pa.Field(nullable=True)
    seq_rel_lift_ci_low: Series[float] = pa.Field(nullable=True)
    seq_rel_lift_ci_high: Series[float] = pa.Field(nullable=True)
    seq_p_value: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    seq_p_value_adjusted: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    seq_is_significant: Series[bool]
    harm_margin: Series[float] = pa.Field(ge=0)
    seq_is_harmful: Series[bool]
    cuped_rel_lift: Series[float] = pa.Field(nullable=True)
    cuped_rel_lift_ci_low: Series[float] = pa.Field(nullable=True)
    cuped_rel_lift_ci_high: Series[float] = pa.Field(nullable=True)
    cuped_p_value: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    cuped_p_value_adjusted: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    cuped_variance_reduction: Series[float] = pa.Field(nullable=True)
    prob_beat_control: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    expected_loss: Series[float] = pa.Field(nullable=True)
    expected_loss_control: Series[float] = pa.Field(nullable=True)
    reason: Series[str]

    class Config:
        """pandera options: strict columns, coerced types, one row per key."""

        strict = True
        coerce = True
        unique = ["experiment_id", "metric_id", "variant", "analysis_date"]


RESULT_COLUMN_DOCS: dict[str, str] = {
    "experiment_id": "Experiment id from the registry.",
    "metric_id": "Metric id from the metric catalog.",
    "metric_role": "primary, secondary or guardrail.",
    "metric_kind": "conversion, adoption, mean, ratio, retention or quantile.",
    "direction": "Which way is good for this metric (increase or decrease).",
    "variant": "The treatment variant compared with the control.",
    "control_variant": "The experiment's control variant.",
    "analysis_date": "Results are cumulative from the experiment start through this date.",
    "n_control": "Analysed units in the control (retention Dn: units exposed at least n days earlier; event-level "
    "quantiles: units with at least one event).",
    "n_variant": "Analysed units in the variant.",
    "mean_control": "Control metric value (rate, mean per unit, Σnumerator/Σdenominator for ratios, or the sample "
    "quantile for quantile metrics).",
    "mean_variant": "Variant metric value.",
    "abs_effect": "mean_variant − mean_control.",
    "abs_ci_low": "Lower bound of the CI of abs_effect at level 1 − alpha/comparisons (bh: 1 − R·alpha/comparisons, "
    "R = the family's rejections; −inf for a one-sided 'less' test).",
    "abs_ci_high": "Upper bound of that CI (+inf for a one-sided 'greater' test).",
    "rel_lift": "mean_variant / mean_control − 1.",
    "rel_lift_ci_low": "Lower bound of Fieller's CI of rel_lift at level 1 − alpha/comparisons (excludes 0 exactly "
    "when "
    "p_value_adjusted < alpha; NaN with a reason when unbounded).",
    "rel_lift_ci_high": "Upper bound of that CI.",
    "p_value": "Fixed-horizon p-value (z for proportions and ratios, Welch t for means, an exact test for proportions "
    "with few events: see `method`), two-sided or one-sided as `alternative` says.",
    "p_value_adjusted": "p_value corrected over its family (see `correction`): the variants of this metric and date, "
    "or for a secondary metric the variants × all secondary metrics of the date.",
    "correction": "Multiple-comparison correction applied: the experiment's procedure (`correction_procedure`) when "
    "the family has several comparisons, else none.",
    "correction_procedure": "The experiment's multiple-comparison procedure, named in every row: bonferroni (default), "
    "holm or bh (Benjamini–Hochberg), from success_criteria.correction or the catalog's default_correction.",
    "comparisons": "m: the comparisons of the corrected family that have a test (defined p-value); every p-value is "
    "adjusted over them by the procedure and every interval is at level 1 − alpha/m (bh: 1 − R·alpha/m).",
    "alpha": "The experiment's significance level.",
    "is_significant": "p_value_adjusted < alpha (fixed horizon: valid at the planned end, not for daily peeking).",
    "method": "Which test ran: z_unpooled, welch_t, delta_ratio_z, quantile_order_stat_z (unit-level quantile), "
    "quantile_order_stat_cluster_z (event-level quantile, cluster-adjusted), or fisher_exact / boschloo_exact / "
    "barnard_exact for proportions below the metric's expected-count threshold (default 5).",
    "alternative": "The hypothesis declared in the registry: two-sided, or one-sided greater (variant above control) / "
    "less. One-sided rows have one-sided p-values and one-sided interval bounds.",
    "seq_abs_ci_low": "Always-valid (sequential) CI of abs_effect at level 1 − alpha/comparisons, safe to look at "
    "every day.",
    "seq_abs_ci_high": "Upper bound of that CI.",
    "seq_rel_lift_ci_low": "Always-valid Fieller CI of rel_lift at the same level (agrees with seq_p_value_adjusted).",
    "seq_rel_lift_ci_high": "Upper bound of the always-valid CI.",
    "seq_p_value": "Always-valid p-value (mixture SPRT), unadjusted.",
    "seq_p_value_adjusted": "seq_p_value adjusted by the procedure over the family (bonferroni: min(1, comparisons × "
    "seq_p_value)): what daily decisions read.",
    "seq_is_significant": "seq_p_value_adjusted < alpha (⇔ the always-valid CIs exclude zero): the daily decision "
    "rule.",
    "harm_margin": "Allowed relative harm (the guardrail's max_relative_harm; 0 for primary and secondary metrics).",
    "seq_is_harmful": "Always-valid test at level alpha/comparisons: the effect is worse than harm_margin in the bad "
    "direction "
    "(guardrail breach; primary harm). Read by monitoring, reports and the weekly status.",
    "cuped_rel_lift": "Relative lift after CUPED adjustment with the pre-exposure covariate (ratios: its ratio).",
    "cuped_rel_lift_ci_low": "Lower bound of the CUPED-adjusted CI.",
    "cuped_rel_lift_ci_high": "Upper bound of the CUPED-adjusted CI.",
    "cuped_p_value": "p-value of the CUPED-adjusted test, unadjusted.",
    "cuped_p_value_adjusted": "cuped_p_value adjusted by the procedure over the family (bonferroni: min(1, "
    "comparisons × cuped_p_value)).",
    "cuped_variance_reduction": "1 − Var(CUPED estimate) / Var(plain estimate).",
    "prob_beat_control": "Bayesian (normal approximation, flat prior) probability that the variant is better in the "
    "good direction.",
    "expected_loss": "Bayesian expected loss (relative lift) of shipping the variant, in the metric's good direction "
    "(for "
    "'decrease' metrics, the expected rise).",
    "expected_loss_control": "Bayesian expected loss of keeping the control instead: the expected improvement "
    "forgone, in the good "
    "direction.",
    "reason": "Why some numbers are missing (e.g. too few units); empty when all is well.",
}


class RetentionCohorts(pa.DataFrameModel):
    """fct_retention_cohorts: cohort × day since exposure × variant → retained / eligible units."""

    experiment_id: Series[str]
    variant: Series[str]
    cohort_date: Series[pa.DateTime]
    day_since_exposure: Series[int] = pa.Field(ge=0, le=30)
    eligible_units: Series[int] = pa.Field(ge=0)
    retained_units: Series[int] = pa.Field(ge=0)

    class Config:
        """pandera options: strict columns, coerced types."""

        strict = True
        coerce = True


class RetentionResults(pa.DataFrameModel):
    """retention_results: D1/D7/D30 retention per experiment and variant with Wilson CIs and the lift vs control."""

    experiment_id: Series[str]
    variant: Series[str]
    is_control: Series[bool]
    retention_day: Series[int] = pa.Field(isin=[1, 7, 30])
    eligible_units: Series[int] = pa.Field(ge=0)
    retained_units: Series[int] = pa.Field(ge=0)
    retention_rate: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    ci_low: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    ci_high: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    rel_lift_vs_control: Series[float] = pa.Field(nullable=True)
    p_value_vs_control: Series[float] = pa.Field(nullable=True, ge=0, le=1)

    class Config:
        """pandera options: strict columns, coerced types, one row per key."""

        strict = True
        coerce = True
        unique = ["experiment_id", "variant", "retention_day"]


class SegmentMetricStats(VariantMetricStats):
    """fct_segment_metric_stats: sufficient statistics per segment at the last analysis date."""

    attribute: Series[str]
    attribute_value: Series[str]

    class Config:
        """pandera options: strict columns, coerced types, one row per key."""

        strict = True
        coerce = True
        unique = ["experiment_id", "metric_id", "variant", "attribute", "attribute_value"]


class SegmentResults(pa.DataFrameModel):
    """segment_results: per experiment × metric × variant × segment, with SRM per segment and a size warning."""

    experiment_id: Series[str]
    metric_id: Series[str]
    metric_role: Series[str]
    variant: Series[str]
    control_variant: Series[str]
    attribute: Series[str]
    attribute_value: Series[str]
    analysis_date: Series[pa.DateTime]
    n_control: Series[int] = pa.Field(ge=0)
    n_variant: Series[int] = pa.Field(ge=0)
    mean_control: Series[float] = pa.Field(nullable=True)
    mean_variant: Series[float] = pa.Field(nullable=True)
    rel_lift: Series[float] = pa.Field(nullable=True)
    rel_lift_ci_low: Series[float] = pa.Field(nullable=True)
    rel_lift_ci_high: Series[float] = pa.Field(nullable=True)
    p_value: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    p_value_adjusted: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    srm_p_value: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    warning: Series[str]

    class Config:
        """pandera options: strict columns, coerced types."""

        strict = True
        coerce = True
