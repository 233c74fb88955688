"""Implementation handoff for a `ship` decision: what engineering needs to roll the winner out. Pure markdown."""

from __future__ import annotations

import pandas as pd

from exptrack_pipeline.config import Experiment


def _pct(x: float | None) -> str:
    return "n/a" if x is None or pd.isna(x) else f"{x:+.1%}"


def handoff_markdown(experiment: Experiment, decision: dict, latest: pd.DataFrame) -> str:
    """Markdown handoff. `decision`: decision, variant, decided_by, rationale, decided_at; `latest`: the
    experiment's experiment_results rows at the latest analysis date."""
    variant = decision["variant"]
    rows = latest[latest["variant"] == variant]
    rows = rows.assign(_order=rows["metric_role"].map({"primary": 0, "secondary": 1, "guardrail": 2})).sort_values(
        ["_order", "metric_id"]
    )
    harm = {g.metric: g.max_relative_harm for g in experiment.guardrail_metrics}
    lines = [
        f"# Implementation handoff: {experiment.name} (`{experiment.id}`) — ship `{variant}`",
        "",
        f"- Decision: **ship `{variant}`**, by {decision['decided_by']} on "
        f"{pd.Timestamp(decision['decided_at']):%Y-%m-%d}",
        f"- Rationale: {decision['rationale']}",
        f"- Owner: {experiment.owner}; PM: {experiment.pm or 'n/a'}; channel: {experiment.slack_channel}",
        f"- Surface: `{experiment.surface}`; audience: `{experiment.audience}`"
        + (f"; layer `{experiment.layer}`" if experiment.layer else ""),
        f"- Hypothesis: {experiment.hypothesis.strip()}",
        "",
        "## Measured effect at decision time",
        "",
        "| role | metric | lift | 95% CI (adjusted) | p (adjusted) |",
        "|---|---|---|---|---|",
    ]
    for r in rows.itertuples():
        lines.append(
            f"| {r.metric_role} | {r.metric_id} | {_pct(r.rel_lift)} | [{_pct(r.rel_lift_ci_low)}, "
            f"{_pct(r.rel_lift_ci_high)}] | "
            f"{'n/a' if pd.isna(r.p_value_adjusted) else f'{r.p_value_adjusted:.3g}'} |"
        )
    lines += [
        "",
        "## Rollout requirements",
        "",
        f"1. Serve `{variant}` to the whole `{experiment.audience}` audience on `{experiment.surface}`; remove "
        "the code paths of "
        + ", ".join(f"`{v.name}`" for v in experiment.variants if v.name != variant)
        + " once the rollout is complete.",
        "2. Keep the experiment's exposure logging until the rollout is complete, so the launch can be "
        "compared with the test.",
        "3. Watch these metrics for two weeks after launch and roll back if a guardrail degrades beyond its tolerance:",
    ]
    lines += [f"   - `{m}` (primary)" for m in [experiment.primary_metric]]
    lines += [f"   - `{m}` (guardrail, tolerance {harm[m]:.0%} relative harm)" for m in harm]
    lines += [
        "4. Consider a small long-term holdback (e.g. 5%) to measure the lasting effect; the test's estimate "
        "of a winner "
        "is optimistic (winner's curse).",
        f"5. When done, record it: `exptrack implemented {experiment.id} --actor WHO --reason 'rolled out to 100%'` "
        "(it counts toward the implementation rate).",
        "",
    ]
    return "\n".join(lines)
