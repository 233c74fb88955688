"""Fixed-horizon two-sample tests: unpooled z (proportions), Welch t (means), delta-method z (ratios)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._util import (
    FloatArray,
    StrArray,
    join_reasons,
    reasons,
    str_array,
)
from .arms import ArmStats
from .effect import Estimate, Relative, relative_effect, unbounded_reason
from .quantile import METHOD_UNIT, quantile_estimate
from .ratio import ratio_mean_and_variance, ratio_reasons
from .sides import Alternative, open_ends, pvalue, quantile, side_of
from .small_sample import apply_exact
from .validity import MIN_EXPECTED_COUNT, few_counts_reason, few_expected_counts, input_reasons

Kind = Literal["proportion", "mean", "ratio", "quantile"]
METHODS: dict[str, str] = {
    "proportion": "z_unpooled",
    "mean": "welch_t",
    "ratio": "delta_ratio_z",
    "quantile": METHOD_UNIT,
}


@dataclass(frozen=True)
class Comparison:
    """Variant vs control, one entry per result row.

    ``rel_se`` is on the scale the relative interval is built on (lift for
    relative="delta", log ratio for relative="log"). ``p_value`` tests abs_effect = 0,
    which is the same hypothesis as rel_lift = 0; the relative lift has no separate test.
    """

    mean_control: FloatArray
    mean_variant: FloatArray
    abs_effect: FloatArray
    abs_se: FloatArray
    abs_ci_low: FloatArray
    abs_ci_high: FloatArray
    rel_lift: FloatArray
    rel_se: FloatArray
    rel_lift_ci_low: FloatArray
    rel_lift_ci_high: FloatArray
    statistic: FloatArray
    df: FloatArray
    p_value: FloatArray
    method: StrArray
    reason: StrArray


def arm_mean_and_variance(arm: ArmStats, kind: Kind) -> tuple[FloatArray, FloatArray]:
    """Arm mean and the variance of that mean (squared standard error).

    proportion: p̂ = Σy/n, Var = p̂(1 − p̂)/n (unpooled, Wald).
    mean:       ȳ = Σy/n, Var = s²/n with s² = (Σy² − (Σy)²/n)/(n − 1).
    ratio:      see :func:`ratio_mean_and_variance`.
    Arms with n < 2 get a NaN variance.
    """
    if kind == "ratio":
        return ratio_mean_and_variance(arm)
    n, s, ss = arm.n, arm.sum, arm.sum_sq
    with np.errstate(all="ignore"):
        mean = np.where(n > 0, s / n, np.nan)
        if kind == "proportion":
            var_unit = np.clip(mean * (1.0 - mean), 0.0, 0.25)
        elif kind == "mean":
            var_unit = np.maximum((ss - s * s / n) / (n - 1.0), 0.0)
        else:
            raise ValueError(f"kind must be 'proportion', 'mean' or 'ratio', got {kind!r}")
        var_mean = var_unit / n
    return mean, np.where(n >= 2, var_mean, np.nan)


def welch_df(var_c: FloatArray, n_c: FloatArray, var_v: FloatArray, n_v: FloatArray) -> FloatArray:
    """Welch–Satterthwaite df = (v_c + v_v)² / (v_c²/(n_c − 1) + v_v²/(n_v − 1)), v = s²/n.

    Source: Welch (1947) Biometrika 34; Satterthwaite (1946).
    """
    with np.errstate(all="ignore"):
        return (var_c + var_v) ** 2 / (var_c**2 / (n_c - 1.0) + var_v**2 / (n_v - 1.0))


def arm_reasons(control: ArmStats, variant: ArmStats, kind: Kind, shape: tuple[int, ...]) -> StrArray:
    """Reasons that make a comparison undefined, derived from the raw arm stats."""
    rules: list[tuple[ArrayLike, str]] = [
        (control.n < 2, "control has fewer than 2 units"),
        (variant.n < 2, "variant has fewer than 2 units"),
    ]
    if kind == "proportion":
        for name, arm in (("control", control), ("variant", variant)):
            rules.append(((arm.sum < 0) | (arm.sum > arm.n), f"{name} conversions outside [0, n]"))
    out = reasons(shape, *rules)
    if kind == "ratio":
        out = join_reasons(out, ratio_reasons(control, variant, shape))
    return out


def estimate(control: ArmStats, variant: ArmStats, kind: Kind) -> Estimate:
    """Unadjusted per-arm estimates for ``kind``.

    Rows with non-finite or inconsistent inputs, and proportions below Cochran's expected-count
    rule (:mod:`.validity`), keep their means but get NaN variances, so every test and interval
    built on them is NaN with the reason. Quantile metrics: :func:`.quantile.quantile_estimate`.
    """
    if kind == "quantile":
        return quantile_estimate(control, variant)
    shape = np.broadcast_shapes(control.shape, variant.shape)
    mc, vc = arm_mean_and_variance(control, kind)
    mv, vv = arm_mean_and_variance(variant, kind)
    invalid_reason, invalid = input_reasons(control, variant, shape)
    both_constant = (vc == 0) & (vv == 0)
    testable_sizes = (control.n >= 2) & (variant.n >= 2) & ~both_constant & ~invalid
    gate = (
        few_expected_counts(control, variant) & testable_sizes if kind == "proportion" else np.zeros(shape, dtype=bool)
    )
    untestable = invalid | gate
    zero_variance = zero_variance_reason(vc, vv, shape)
    vc = np.where(untestable, np.nan, vc)
    vv = np.where(untestable, np.nan, vv)
    n_c = np.broadcast_to(control.n, shape)
    n_v = np.broadcast_to(variant.n, shape)
    df = welch_df(vc, n_c, vv, n_v) if kind == "mean" else np.full(shape, np.inf)
    reason = join_reasons(
        invalid_reason,
        few_counts_reason(gate, shape),
        arm_reasons(control, variant, kind, shape),
        zero_variance,
    )
    return Estimate(
        mean_control=np.broadcast_to(np.where(invalid, np.nan, mc), shape),
        var_control=np.broadcast_to(vc, shape),
        mean_variant=np.broadcast_to(np.where(invalid, np.nan, mv), shape),
        var_variant=np.broadcast_to(vv, shape),
        n_control=n_c,
        n_variant=n_v,
        df=np.broadcast_to(df, shape),
        method=METHODS[kind],
        reason=reason,
    )


def zero_variance_reason(var_c: FloatArray, var_v: FloatArray, shape: tuple[int, ...]) -> StrArray:
    """The reason "zero variance in both arms" where both variances are 0, else an empty string."""
    return reasons(shape, ((var_c == 0) & (var_v == 0), "zero variance in both arms"))


def build_comparison(
    est: Estimate,
    relative: Relative,
    q: ArrayLike,
    statistic: ArrayLike,
    p_value: ArrayLike,
    method: str | StrArray,
    shape: tuple[int, ...],
    side: ArrayLike = 0,
) -> Comparison:
    """Assemble a :class:`Comparison` from an estimate, a half-width multiplier q and the test.

    CI = Δ ± q·SE (absolute) and the relative interval of ``relative`` at the same q; NaN when SE = 0.
    One-sided rows (``side`` +1 / −1, :mod:`.sides`) keep only the lower / upper bound (the other is ±inf).
    """
    rel = relative_effect(est, relative)
    rel_low, rel_high = open_ends(*rel.interval(q), side)
    diff, se = est.abs_effect, est.abs_se

    def b(x: ArrayLike) -> FloatArray:
        return np.array(np.broadcast_to(x, shape), dtype=np.float64)

    with np.errstate(all="ignore"):
        abs_low, abs_high = open_ends(
            np.where(se > 0, diff - q * se, np.nan), np.where(se > 0, diff + q * se, np.nan), side
        )
    reason = join_reasons(
        np.broadcast_to(est.reason, shape), np.broadcast_to(rel.reason, shape), unbounded_reason(est, rel, q)
    )
    return Comparison(
        mean_control=b(est.mean_control),
        mean_variant=b(est.mean_variant),
        abs_effect=b(diff),
        abs_se=b(se),
        abs_ci_low=b(abs_low),
        abs_ci_high=b(abs_high),
        rel_lift=b(rel.lift),
        rel_se=b(rel.se),
        rel_lift_ci_low=b(rel_low),
        rel_lift_ci_high=b(rel_high),
        statistic=b(statistic),
        df=b(est.df),
        p_value=b(p_value),
        method=str_array(method, shape),
        reason=np.array(np.broadcast_to(reason, shape)),
    )


def comparison_from_estimate(
    est: Estimate, alpha: ArrayLike, relative: Relative, method: str | StrArray, side: ArrayLike = 0
) -> Comparison:
    """Fixed-horizon test and (1 − alpha) intervals from per-arm estimates.

    statistic = Δ/SE, SE = √(Var(m_c) + Var(m_v) − 2 Cov); p = 2·P(T_df > |statistic|)
    (normal when df = inf); CI = Δ ± q_{1−α/2, df}·SE; the relative CI uses the same q.
    One-sided rows (``side`` ±1): p = P(T_df > side·statistic), one bound at q_{1−α, df} (:mod:`.sides`).
    Statistic, p-value and intervals are NaN when SE = 0 or undefined (see ``reason``).
    """
    a = np.asarray(alpha, dtype=np.float64)
    shape = np.broadcast_shapes(est.shape, a.shape, np.shape(side))
    diff, se, df = est.abs_effect, est.abs_se, est.df
    with np.errstate(all="ignore"):
        stat = np.where(se > 0, diff / se, np.nan)
    p = pvalue(stat, df, side)
    q = quantile(a, df, side)
    return build_comparison(est, relative, q, stat, p, method, shape, side)


def compare(
    control: ArmStats,
    variant: ArmStats,
    *,
    kind: Kind,
    alpha: ArrayLike = 0.05,
    relative: Relative = "delta",
    alternative: Alternative | ArrayLike = "two-sided",
    exact_test: ArrayLike = "fisher",
    exact_below: ArrayLike = MIN_EXPECTED_COUNT,
) -> Comparison:
    """Two-sample comparison of variant vs control, vectorised over result rows.

    - kind="proportion": unpooled (Wald) z test, z = (p̂_v − p̂_c)/√(p̂_c(1−p̂_c)/n_c + p̂_v(1−p̂_v)/n_v)
      (statsmodels ``test_proportions_2indep(method="wald")``; Agresti (2013) §3.1).
    - kind="mean": Welch t = (ȳ_v − ȳ_c)/√(s_c²/n_c + s_v²/n_v) with Welch–Satterthwaite df
      (Welch 1947; scipy ``ttest_ind(equal_var=False)``).
    - kind="ratio": z test on Σy_v/Σd_v − Σy_c/Σd_c with delta-method variances
      (Deng, Knoblich & Lu 2018).
    - kind="quantile": z test on Q̂_v − Q̂_c with order-statistic variances (:mod:`.quantile`; the arms are
      :class:`.quantile.QuantileArmStats`).

    Relative lift m_v/m_c − 1: delta-method CI (relative="delta"), exponentiated log-ratio
    CI (relative="log") or Fieller's interval (relative="fieller", the one that always agrees
    with the p-value), see :func:`relative_effect`. The p-value is the absolute-effect test.

    ``alternative`` (per row): "two-sided", or one-sided "greater" (H1: variant above control) / "less", with a
    one-sided p-value and bound (:mod:`.sides`). Proportions below ``exact_below`` expected events in an arm get
    the exact test ``exact_test`` ("fisher", "boschloo", "barnard"; "none": no test) with score intervals
    (:mod:`.small_sample`).
    """
    est = estimate(control, variant, kind)
    side = side_of(alternative)
    comp = comparison_from_estimate(est, alpha, relative, est.method, side)
    if kind != "proportion":
        return comp
    return apply_exact(comp, control, variant, alpha=alpha, side=side, exact_test=exact_test, exact_below=exact_below)
