"""Quantile metrics (p50, p90, p99 of a per-unit or per-event value): difference and lift of two arms' quantiles.

Method (Deng, Knoblich & Lu 2018, "Applying the Delta Method in Metric Analytics: A Practical Guide with Novel
Ideas", KDD, §4.2 "Quantile metrics"; Algorithm 1 of Yao, Li & Lu 2024, arXiv:2401.14549; as GrowthBook documents
it, docs.growthbook.io/statistics/quantile). For one arm with n observations, level ν and sample quantile Q̂:

1. The order statistics at probabilities ν ∓ z_b·√(ν(1 − ν)/n) (z_b = z_0.975, the warehouse's ``bound_z``)
   bound a distribution-free 95 % interval for the true quantile (the rank of Q̂ is Binomial(n, ν), normal
   approximation). Its half-width over z_b estimates the standard error without a density estimate:

       Var_iid(Q̂) = ((Y_U − Y_L) / (2 z_b))²

2. Event-level quantiles (the observations are events, clustered in randomisation units): the indicator
   I = 1{Y ≤ Q̂} has mean Ī = ΣS_i/ΣN_i over units i with S_i events ≤ Q̂ out of N_i. Its variance under
   clustering, Var_c(Ī), is the delta-method variance of a ratio of per-unit sums (:func:`ratio_mean_and_variance`),
   against ν(1 − ν)/n under independence. Q̂ − Q ≈ −(Ī − ν)/f(Q) (Bahadur), so the clustered variance is

       Var(Q̂) = Var_iid(Q̂) · Var_c(Ī) / (ν(1 − ν)/n)

   (GrowthBook's docs print this ratio upside down; their code, gbstats QuantileClusteredStatistic, and the
   simulations in tests/stats/test_stats_quantile.py use it as written here). Unit-level quantiles use Var_iid.

Q̂ and the bounds use linear interpolation between order statistics (Hyndman & Fan 1996 type 7: numpy's default,
DuckDB ``quantile_cont``, PostgreSQL ``percentile_cont``). The two arms are independent, so the difference,
its z test and the relative lift (Fieller, delta or log) follow from :class:`Estimate` as for means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike

from ._util import FloatArray, reasons
from .arms import ArmStats
from .effect import Estimate
from .ratio import ratio_mean_and_variance

BOUND_Z = float(sc.ndtri(0.975))
"""z_b: the order statistics bounding Q̂ are taken at ν ∓ z_b·√(ν(1 − ν)/n) (a 95 % interval, as GrowthBook)."""

METHOD_UNIT = "quantile_order_stat_z"
METHOD_EVENT = "quantile_order_stat_cluster_z"
MISSING_INPUTS = (
    "quantile metric without quantile inputs: only experiment_results (fct_variant_metric_quantiles) analyses it"
)


@dataclass(frozen=True)
class QuantileArmStats(ArmStats):
    """One arm's inputs for a quantile metric, one entry per result row.

    ``n`` = units (clusters) with observations; ``sum``/``sum_sq`` = ΣS_i/ΣS_i², S_i = the unit's observations
    ≤ Q̂; ``sum_den``/``sum_den_sq`` = ΣN_i/ΣN_i², N_i = its observations; ``sum_num_den`` = ΣS_i·N_i.
    ``quantile_level`` ν, ``quantile`` Q̂, ``quantile_lower``/``quantile_upper`` the interpolated order statistics at
    ν ∓ bound_z·√(ν(1 − ν)/n_obs) (NaN when outside [0, 1]), ``n_obs`` observations (units or events),
    ``clustered`` 1 for event-level metrics (several observations per unit), 0 for unit-level.
    """

    quantile_level: FloatArray | None = None
    quantile: FloatArray | None = None
    quantile_lower: FloatArray | None = None
    quantile_upper: FloatArray | None = None
    bound_z: FloatArray | None = None
    n_obs: FloatArray | None = None
    clustered: FloatArray | None = None

    @classmethod
    def from_observations(
        cls, values: ArrayLike, level: float, units: ArrayLike | None = None, bound_z: float = BOUND_Z
    ) -> QuantileArmStats:
        """The inputs of one row from raw observations (``units``: each observation's unit id, event-level).

        This is the computation fct_variant_metric_quantiles does in SQL; tests and examples use it.
        """
        y = np.asarray(values, dtype=np.float64)
        n_obs = y.size
        est = float(np.quantile(y, level)) if n_obs else np.nan
        lower, upper = bound_probabilities(level, n_obs, bound_z)
        bounds = [float(np.quantile(y, p)) if 0 <= p <= 1 else np.nan for p in (lower, upper)]
        ids = np.arange(n_obs) if units is None else np.unique(np.asarray(units), return_inverse=True)[1]
        s = np.bincount(ids, weights=(y <= est).astype(float)) if n_obs else np.zeros(0)
        m = np.bincount(ids).astype(float) if n_obs else np.zeros(0)
        return cls(
            n=float(s.size),
            sum=s.sum(),
            sum_sq=(s * s).sum(),
            sum_den=m.sum(),
            sum_den_sq=(m * m).sum(),
            sum_num_den=(s * m).sum(),
            quantile_level=level,
            quantile=est,
            quantile_lower=bounds[0],
            quantile_upper=bounds[1],
            bound_z=bound_z,
            n_obs=float(n_obs),
            clustered=float(units is not None),
        )


def bound_probabilities(
    level: ArrayLike, n_obs: ArrayLike, bound_z: ArrayLike = BOUND_Z
) -> tuple[FloatArray, FloatArray]:
    """ν ∓ z_b·√(ν(1 − ν)/n): the probabilities of the order statistics that bound Q̂ (outside [0, 1]: too few)."""
    nu = np.asarray(level, dtype=np.float64)
    with np.errstate(all="ignore"):
        half = np.asarray(bound_z, dtype=np.float64) * np.sqrt(nu * (1.0 - nu) / np.asarray(n_obs, dtype=np.float64))
    return nu - half, nu + half


def arm_quantile_variance(arm: QuantileArmStats) -> FloatArray:
    """Var(Q̂) of one arm: ((Y_U − Y_L)/(2 z_b))², times Var_c(Ī)/(ν(1 − ν)/n) for event-level (clustered) arms."""
    nu, n_obs = arm.quantile_level, arm.n_obs
    with np.errstate(all="ignore"):
        var_iid = ((arm.quantile_upper - arm.quantile_lower) / (2.0 * arm.bound_z)) ** 2
        _, var_cluster = ratio_mean_and_variance(arm)
        design_effect = var_cluster / (nu * (1.0 - nu) / n_obs)
        return np.where(arm.clustered > 0, var_iid * design_effect, var_iid)


def quantile_unit_sd(arm: QuantileArmStats) -> FloatArray:
    """The per-unit SD a quantile's test behaves as: √(n·Var(Q̂)), n = units (``n``, clusters, for event-level
    quantiles; ``n_obs`` for unit-level) — what stats.power plans a quantile metric with (Var(Q̂) ∝ 1/n)."""
    units = np.where(arm.clustered > 0, arm.n, arm.n_obs)
    with np.errstate(all="ignore"):
        return np.sqrt(arm_quantile_variance(arm) * units)


def _has_inputs(arm: ArmStats) -> bool:
    return isinstance(arm, QuantileArmStats) and arm.quantile is not None and arm.quantile_lower is not None


def quantile_estimate(control: ArmStats, variant: ArmStats) -> Estimate:
    """Per-arm Q̂ and Var(Q̂) (:func:`arm_quantile_variance`) with the reasons a row has no test.

    Arms without quantile inputs (plain :class:`ArmStats`, e.g. a segment breakdown) give NaN with a reason.
    """
    shape = np.broadcast_shapes(control.shape, variant.shape)
    if not (_has_inputs(control) and _has_inputs(variant)):
        nan = np.full(shape, np.nan)
        return Estimate(
            nan, nan, nan, nan, nan, nan, np.full(shape, np.inf), METHOD_UNIT, reasons(shape, (True, MISSING_INPUTS))
        )
    assert isinstance(control, QuantileArmStats) and isinstance(variant, QuantileArmStats)
    missing = np.isnan(control.quantile_level) | np.isnan(variant.quantile_level)
    rules: list[tuple[ArrayLike, str]] = [(missing, MISSING_INPUTS)]
    variances = []
    for name, arm in (("control", control), ("variant", variant)):
        var = arm_quantile_variance(arm)
        few = (np.isnan(arm.quantile_lower) | np.isnan(arm.quantile_upper)) & ~missing
        rules += [
            (arm.n < 2, f"{name} has fewer than 2 units"),
            (
                few & (arm.n >= 2),
                f"{name} has too few observations for a quantile interval at this level "
                "(needs n > 3.84·q/(1 − q) and n > 3.84·(1 − q)/q)",
            ),
        ]
        variances.append(np.where(arm.n >= 2, var, np.nan))
    vc, vv = variances
    rules.append(((vc == 0) & (vv == 0), "tied values around the quantile in both arms: its standard error is 0"))
    method = np.where(np.broadcast_to(control.clustered > 0, shape), METHOD_EVENT, METHOD_UNIT)
    return Estimate(
        mean_control=np.array(np.broadcast_to(control.quantile, shape)),
        var_control=np.array(np.broadcast_to(vc, shape)),
        mean_variant=np.array(np.broadcast_to(variant.quantile, shape)),
        var_variant=np.array(np.broadcast_to(vv, shape)),
        n_control=np.array(np.broadcast_to(control.n, shape)),
        n_variant=np.array(np.broadcast_to(variant.n, shape)),
        df=np.full(shape, np.inf),
        method=method,
        reason=reasons(shape, *rules),
    )
