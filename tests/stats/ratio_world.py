"""A ratio metric with a pre-period: per-unit revenue y over sessions d, pre-period revenue x over sessions w."""

from __future__ import annotations

import numpy as np

from exptrack_pipeline.stats import ArmStats


def units(rng: np.random.Generator, size, lift: float = 0.0, add: float = 0.0):
    """Per-unit (y, d, x, w): sessions d, w ~ Poisson around a unit's activity, revenue per session
    around a unit's spend rate, so the post-period ratio correlates with the pre-period one.
    ``lift`` multiplies the revenue rate; ``add`` adds revenue ``add``·d (the ratio rises by ``add`` and the
    linearised per-unit variance stays that of control: the power planner's model)."""
    activity = rng.gamma(2.0, 1.5, size)
    spend = rng.gamma(4.0, 0.5, size)
    w = rng.poisson(activity) + 1.0
    d = rng.poisson(activity) + 1.0
    x = rng.poisson(w * spend).astype(float)
    y = rng.poisson(d * spend * (1.0 + lift)).astype(float) + add * d
    return y, d, x, w


def arm_stats(y, d, x, w, axis=None) -> ArmStats:
    def s(v):
        return v.sum(axis=axis)

    n = np.float64(y.shape[-1] if axis is not None else y.size)
    return ArmStats(
        n,
        s(y),
        s(y * y),
        s(d),
        s(d * d),
        s(y * d),
        s(x),
        s(x * x),
        s(x * y),
        s(w),
        s(w * w),
        s(x * w),
        s(x * d),
        s(w * y),
        s(w * d),
    )
