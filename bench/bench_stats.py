"""Time the whole statistics library on 10,000 result rows.

Run: .venv/bin/python bench/bench_stats.py [rows]
Each line is the best of 5 runs of one call over all rows.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from exptrack_pipeline.stats import (
    ArmStats,
    adjust_pvalues,
    bayesian_summary,
    compare,
    compare_cuped,
    compare_sequential,
    expected_duration_days,
    mde_for_sample_size,
    sample_size_per_arm,
    srm_test,
)


def make_arm(rng: np.random.Generator, rows: int, lift: float) -> ArmStats:
    """Plausible sufficient statistics: y = revenue-like, d = sessions, x = pre-period y."""
    n = rng.integers(100, 200_000, rows).astype(float)
    mean, sd = rng.uniform(1, 50, rows), rng.uniform(1, 30, rows)
    y_sum = n * mean * (1 + lift)
    y_sq = n * (sd**2 + (mean * (1 + lift)) ** 2)
    d_sum = n * 2.0
    x_sum = n * mean
    return ArmStats(
        n=n,
        sum=y_sum,
        sum_sq=y_sq,
        sum_den=d_sum,
        sum_den_sq=n * 5.0,
        sum_num_den=y_sum * 2.1,
        sum_x=x_sum,
        sum_x_sq=n * (sd**2 + mean**2),
        sum_xy=n * (0.6 * sd**2 + mean * mean * (1 + lift)),
    )


def proportion_arm(rng: np.random.Generator, rows: int) -> ArmStats:
    n = rng.integers(100, 200_000, rows).astype(float)
    c = rng.binomial(n.astype(np.int64), rng.uniform(0.01, 0.5, rows)).astype(float)
    return ArmStats(n=n, sum=c, sum_sq=c, sum_x=c * 0.9, sum_x_sq=c * 0.9, sum_xy=c * 0.5)


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(rows: int = 10_000) -> None:
    rng = np.random.default_rng(0)
    mc, mv = make_arm(rng, rows, 0.0), make_arm(rng, rows, 0.01)
    pc, pv = proportion_arm(rng, rows), proportion_arm(rng, rows)
    pvals = rng.random(rows)
    family = rng.integers(0, rows // 3, rows)
    observed = rng.multinomial(30_000, [0.34, 0.33, 0.33], rows).astype(float)
    base = rng.uniform(0.01, 0.5, rows)
    cases: dict[str, Callable[[], object]] = {
        "compare proportion": lambda: compare(pc, pv, kind="proportion"),
        "compare mean (Welch)": lambda: compare(mc, mv, kind="mean"),
        "compare ratio (delta)": lambda: compare(mc, mv, kind="ratio"),
        "compare mean, log lift": lambda: compare(mc, mv, kind="mean", relative="log"),
        "compare_cuped mean": lambda: compare_cuped(mc, mv, kind="mean"),
        "compare_cuped proportion": lambda: compare_cuped(pc, pv, kind="proportion"),
        "compare_sequential mean": lambda: compare_sequential(mc, mv, kind="mean"),
        "compare_sequential cuped": lambda: compare_sequential(mc, mv, kind="mean", cuped=True),
        "bayesian_summary proportion": lambda: bayesian_summary(pc, pv, kind="proportion"),
        "adjust_pvalues holm (families)": lambda: adjust_pvalues(pvals, method="holm", family=family),
        "adjust_pvalues bh (families)": lambda: adjust_pvalues(pvals, method="bh", family=family),
        "srm_test 3 arms": lambda: srm_test(observed, [1, 1, 1]),
        "sample_size_per_arm": lambda: sample_size_per_arm(base, 0.05),
        "mde_for_sample_size": lambda: mde_for_sample_size(50_000.0, base),
        "expected_duration_days": lambda: expected_duration_days(50_000.0, 10_000.0 * base),
    }
    print(f"exptrack_pipeline.stats on {rows:,} result rows (best of 5)\n")
    print(f"{'call':<32}{'ms':>9}{'rows/s':>14}")
    total = 0.0
    for name, fn in cases.items():
        seconds = best_of(fn)
        total += seconds
        print(f"{name:<32}{seconds * 1e3:>9.2f}{rows / seconds:>14,.0f}")
    print(f"{'all of the above':<32}{total * 1e3:>9.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
