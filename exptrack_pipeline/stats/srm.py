"""Sample-ratio mismatch: chi-square goodness of fit of observed arm counts to the planned split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike

from ._util import FloatArray, StrArray, reasons


@dataclass(frozen=True)
class SrmResult:
    """One entry per row: χ² statistic, df = (#arms − 1), p-value and the mismatch flag."""

    statistic: FloatArray
    df: FloatArray
    p_value: FloatArray
    is_mismatch: np.ndarray
    reason: StrArray


def srm_test(
    observed: ArrayLike,
    expected_weights: ArrayLike,
    *,
    threshold: float = 0.001,
    min_count_per_arm: float = 5,
) -> SrmResult:
    """Pearson χ² goodness-of-fit test per row (rows × arms).

    χ² = Σ_a (O_a − E_a)²/E_a with E_a = w_a/Σw · ΣO over the row's arms; df = k − 1;
    p = P(χ²_df > χ²). is_mismatch = p < threshold (GrowthBook default 0.001).
    Source: Pearson (1900); scipy.stats.chisquare; Fabijan et al. (2019) "Diagnosing Sample
    Ratio Mismatch in Online Controlled Experiments", KDD.

    Ragged rows: NaN in ``observed`` or ``expected_weights`` marks a missing arm (ignored).
    Arms with weight 0 and no units are ignored; units in a weight-0 arm are a mismatch
    (p = 0). Rows where any present arm has fewer than ``min_count_per_arm`` units get
    is_mismatch False and a reason (the χ² approximation needs enough counts; Cochran 1954);
    their statistic and p-value are still reported.
    """
    obs = np.atleast_2d(np.asarray(observed, dtype=np.float64))
    w = np.broadcast_to(np.atleast_2d(np.asarray(expected_weights, dtype=np.float64)), obs.shape)
    shape = obs.shape[:1]
    present = ~np.isnan(obs) & ~np.isnan(w)
    bad_weight = present & ((w < 0) | ~np.isfinite(w))
    unplanned = present & (w == 0) & (obs > 0)
    arm = present & (w > 0)
    o = np.where(arm, obs, 0.0)
    ww = np.where(arm, w, 0.0)
    total = o.sum(axis=1)
    k = arm.sum(axis=1)
    with np.errstate(all="ignore"):
        e = ww / ww.sum(axis=1, keepdims=True) * total[:, None]
        contrib = np.where(arm, (o - e) ** 2 / e, 0.0)
        stat = contrib.sum(axis=1)
        df = (k - 1).astype(np.float64)
        p = sc.chdtrc(np.where(df > 0, df, np.nan), stat)
    any_unplanned = unplanned.any(axis=1)
    too_few_arms = k < 2
    empty = total <= 0
    invalid = bad_weight.any(axis=1) | (present & (obs < 0)).any(axis=1)
    undefined = too_few_arms | empty | invalid
    stat = np.where(any_unplanned, np.inf, np.where(undefined, np.nan, stat))
    p = np.where(any_unplanned, 0.0, np.where(undefined, np.nan, p))
    df = np.where(too_few_arms, np.nan, df)
    small = (arm & (o < min_count_per_arm)).any(axis=1) & ~undefined
    is_mismatch = (p < threshold) & ~small & ~undefined
    reason = reasons(
        shape,
        (invalid, "negative count or invalid weight"),
        (too_few_arms & ~invalid, "fewer than 2 arms with positive weight"),
        (empty & ~too_few_arms & ~invalid, "no units observed"),
        (any_unplanned & ~invalid, "units observed in an arm with expected weight 0"),
        (small, f"an arm has fewer than {min_count_per_arm:g} units: SRM check skipped"),
    )
    return SrmResult(statistic=stat, df=df, p_value=p, is_mismatch=is_mismatch, reason=reason)
