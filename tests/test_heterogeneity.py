"""Novelty and interaction checks (analysis/heterogeneity.py) on generated sufficient statistics: the false-alarm rate
of a whole A/A portfolio stays at or below alpha, and planted effects are found (issue 12)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from exptrack_pipeline.analysis.heterogeneity import interaction_check, novelty_check

ALPHA = 0.05
EXPERIMENTS = ["a", "b", "c"]


def portfolio(rng: np.random.Generator, rate: float = 0.1, n: int = 1500, planted: float = 0.0) -> pd.DataFrame:
    """lifecycle_interaction_stats of three experiments sharing users; `planted`: a's lift is +planted only among b's
    treatment users (an interaction of a with b), otherwise no variant does anything."""
    rows = []
    for exp, other in itertools.permutations(EXPERIMENTS, 2):
        for other_arm, variant in itertools.product(["control", "treatment"], ["control", "treat"]):
            lift = planted if (exp, other, other_arm, variant) == ("a", "b", "treatment", "treat") else 0.0
            y = float(rng.binomial(n, rate * (1 + lift)))
            rows.append(
                {
                    "experiment_id": exp,
                    "metric_id": "conv",
                    "stat_kind": "proportion",
                    "other_experiment_id": other,
                    "other_arm": other_arm,
                    "variant": variant,
                    "is_control": variant == "control",
                    "n": n,
                    "sum": y,
                    "sum_sq": y,
                    "sum_den": 0.0,
                    "sum_den_sq": 0.0,
                    "sum_num_den": 0.0,
                }
            )
    return pd.DataFrame(rows)


def any_flag(stats: pd.DataFrame) -> bool:
    frame, _ = interaction_check(stats, ALPHA)
    return bool(frame["flag"].any())


def test_an_aa_portfolio_rarely_flags_any_interaction():
    rng = np.random.default_rng(11)
    reps = 300
    frames = [interaction_check(portfolio(rng), ALPHA)[0] for _ in range(reps)]
    rate = np.mean([f["flag"].any() for f in frames])
    assert rate <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / reps)
    # correcting each experiment's pairs on its own (as the report did) flags more A/A portfolios: the family is the
    # portfolio
    per_experiment = np.mean(
        [(f.groupby("experiment_id")["p_value"].transform(lambda p: p * len(p)) < ALPHA).any() for f in frames]
    )
    assert per_experiment > rate


def test_a_planted_interaction_is_found_and_named_for_its_experiment():
    rng = np.random.default_rng(12)
    found = [interaction_check(portfolio(rng, n=6000, planted=0.35), ALPHA, "a") for _ in range(40)]
    hits = [f for f, _ in found if f["flag"].any()]
    assert len(hits) > 32
    assert all(set(f.loc[f["flag"], "other_experiment_id"]) == {"b"} for f in hits)
    assert "interacts with b" in next(text for f, text in found if f["flag"].any())


def _novelty(rng: np.random.Generator, early_lift: float, late_lift: float, n: int = 2000) -> pd.DataFrame:
    rows = []
    for variant in ("control", "treat"):
        u = rng.gamma(0.5, 2.0, n)
        y = {
            p: rng.binomial(1, np.clip(0.25 * u * (1 + (lift if variant == "treat" else 0.0)), 0, 1)).astype(float)
            for p, lift in (("early", early_lift), ("late", late_lift))
        }
        for period in ("early", "late"):
            rows.append(
                {
                    "experiment_id": "a",
                    "metric_id": "conv",
                    "stat_kind": "proportion",
                    "variant": variant,
                    "is_control": variant == "control",
                    "period": period,
                    "period_days": 7,
                    "n": n,
                    "sum": y[period].sum(),
                    "sum_sq": y[period].sum(),
                    "sum_den": 0.0,
                    "sum_den_sq": 0.0,
                    "sum_num_den": 0.0,
                    "sum_cross": float((y["early"] * y["late"]).sum()),
                    "sum_cross_num_den": 0.0,
                    "sum_cross_den_num": 0.0,
                    "sum_cross_den": 0.0,
                }
            )
    return pd.DataFrame(rows)


def test_novelty_check_false_alarms_and_power():
    rng = np.random.default_rng(13)
    null = np.mean([novelty_check(_novelty(rng, 0.1, 0.1), "increase", ALPHA)[0]["flag"].any() for _ in range(300)])
    assert null <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / 300)
    planted = [novelty_check(_novelty(rng, 0.3, 0.0), "increase", ALPHA) for _ in range(60)]
    assert np.mean([f["flag"].any() for f, _ in planted]) > 0.6
    assert "novelty effect (the lift fades)" in next(text for f, text in planted if f["flag"].any())
