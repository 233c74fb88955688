"""Report figures as PNG bytes (matplotlib, Agg backend, no global state left behind).

matplotlib is imported on the first figure, not with this module: every process that loads the Dagster definitions
imports the reports, and most of them (a daily pipeline run, the CLI, the code server) draw nothing (0.45 CPU-s
saved per process, BENCHMARKS.md "Branch `run_fixed`")."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import pandas as pd

ROLE_COLORS = {"primary": "#1f77b4", "secondary": "#7f7f7f", "guardrail": "#d62728"}
PNG_METADATA = {"Software": None}  # no matplotlib version in the file: same figure, same bytes


@cache
def _pyplot():
    """matplotlib.pyplot on the Agg backend (no display), imported once on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata=PNG_METADATA)
    _pyplot().close(fig)
    return buf.getvalue()


def forest_plot(latest: pd.DataFrame, title: str) -> bytes:
    """Relative lift with its (adjusted) CI for every metric × variant at the latest date; 0 = no effect."""
    rows = latest.sort_values(
        ["metric_role", "metric_id", "variant"],
        key=lambda s: s.map({"primary": 0, "secondary": 1, "guardrail": 2}) if s.name == "metric_role" else s,
    )
    rows = rows.iloc[::-1].reset_index(drop=True)
    fig, ax = _pyplot().subplots(figsize=(7.5, 0.45 * max(len(rows), 2) + 1.2))
    y = np.arange(len(rows))
    for i, r in rows.iterrows():
        color = ROLE_COLORS.get(r["metric_role"], "black")
        if pd.notna(r["rel_lift_ci_low"]) and pd.notna(r["rel_lift_ci_high"]):
            ax.plot([100 * r["rel_lift_ci_low"], 100 * r["rel_lift_ci_high"]], [i, i], color=color, lw=2)
        if pd.notna(r["rel_lift"]):
            ax.plot(100 * r["rel_lift"], i, "o", color=color, ms=6)
    ax.axvline(0, color="black", lw=0.8, ls="--")
    ax.set_yticks(y, [f"{r.metric_id} · {r.variant}  ({r.metric_role})" for r in rows.itertuples()])
    ax.set_xlabel("relative lift vs control (%), CI adjusted for the number of variants")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def cumulative_lift_plot(history: pd.DataFrame, title: str) -> bytes:
    """Primary metric lift by analysis date with its always-valid (sequential) CI band, one line per variant."""
    fig, ax = _pyplot().subplots(figsize=(7.5, 3.6))
    for variant, rows in history.sort_values("analysis_date").groupby("variant", sort=True):
        x = pd.to_datetime(rows["analysis_date"])
        line = ax.plot(x, 100 * rows["rel_lift"], label=str(variant), lw=1.8)[0]
        ax.fill_between(
            x, 100 * rows["seq_rel_lift_ci_low"], 100 * rows["seq_rel_lift_ci_high"], color=line.get_color(), alpha=0.15
        )
    ax.axhline(0, color="black", lw=0.8, ls="--")
    ax.set_ylabel("cumulative relative lift (%)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _png(fig)


def retention_plot(curves: pd.DataFrame, title: str) -> bytes:
    """Share of units active on day k after exposure (pooled over eligible cohorts), one line per variant."""
    fig, ax = _pyplot().subplots(figsize=(7.5, 3.6))
    for variant, rows in curves.sort_values("day_since_exposure").groupby("variant", sort=True):
        ax.plot(rows["day_since_exposure"], 100 * rows["retention_rate"], marker=".", label=str(variant))
    ax.set_xlabel("days since exposure")
    ax.set_ylabel("active (%)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)
