"""Pure rendering: the recommendation rules on hand-made results, and reports for experiments without data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from exptrack_pipeline.config import load_registry
from exptrack_pipeline.reports.experiment import ReportInputs, render
from exptrack_pipeline.reports.recommendation import recommend

REPO = Path(__file__).resolve().parents[1]
CHECKOUT = load_registry(REPO / "experiments").get("checkout_redesign")  # ends 2026-11-28; error_rate tolerance 5%


def _row(
    metric,
    role,
    lift,
    significant,
    direction="increase",
    p_better=0.5,
    date="2026-11-30",
    variant="one_page",
    margin=None,
):
    """A results row; seq_is_harmful as results.py's margin test would give it for a CI of lift ± 0.02."""
    margin = margin if margin is not None else (0.05 if role == "guardrail" else 0.0)
    bad = lift - 0.02 > margin if direction == "decrease" else lift + 0.02 < -margin
    return {
        "experiment_id": CHECKOUT.id,
        "metric_id": metric,
        "metric_role": role,
        "direction": direction,
        "variant": variant,
        "analysis_date": pd.Timestamp(date),
        "rel_lift": lift,
        "rel_lift_ci_low": lift - 0.02,
        "rel_lift_ci_high": lift + 0.02,
        "is_significant": significant,
        "seq_is_significant": significant,
        "prob_beat_control": p_better,
        "seq_is_harmful": significant and bad,
        "harm_margin": margin,
        "n_control": 5000,
        "n_variant": 5000,
        "expected_loss": 0.001,
        "expected_loss_control": 0.02,
    }


def test_ship_when_primary_wins_and_guardrails_hold():
    rec = recommend(
        CHECKOUT,
        pd.DataFrame(
            [
                _row("purchase_conversion", "primary", 0.08, True, p_better=0.991),
                _row("error_rate", "guardrail", 0.03, True, direction="decrease", p_better=0.1),
            ]
        ),
    )
    # error_rate +3% is significant but within the 5% tolerance
    assert (rec.action, rec.variant, rec.label) == ("ship", "one_page", "high") and rec.confidence == 0.991


def test_rollback_when_a_guardrail_is_breached_even_if_primary_wins():
    rec = recommend(
        CHECKOUT,
        pd.DataFrame(
            [
                _row("purchase_conversion", "primary", 0.08, True, p_better=0.99),
                _row("error_rate", "guardrail", 0.60, True, direction="decrease", p_better=0.001),
            ]
        ),
    )
    assert rec.action == "rollback" and abs(rec.confidence - 0.999) < 1e-12
    assert any("error_rate" in r for r in rec.reasons)


def test_keep_running_before_the_end_and_iterate_after_it():
    before = recommend(
        CHECKOUT, pd.DataFrame([_row("purchase_conversion", "primary", 0.01, False, date="2026-11-20", p_better=0.6)])
    )
    after = recommend(
        CHECKOUT, pd.DataFrame([_row("purchase_conversion", "primary", 0.01, False, date="2026-11-28", p_better=0.6)])
    )
    assert (before.action, after.action) == ("keep running", "iterate")
    assert "2026-11-28" in before.reasons[-1] and before.label == "low"


def test_before_the_planned_end_only_the_sequential_test_counts():
    row = _row("purchase_conversion", "primary", 0.08, True, date="2026-11-20", p_better=0.99)
    row["seq_is_significant"] = False
    assert recommend(CHECKOUT, pd.DataFrame([row])).action == "keep running"


def test_a_report_without_any_data_still_renders():
    results = pd.DataFrame(
        columns=["experiment_id", "metric_id", "metric_role", "variant", "analysis_date", "rel_lift", "direction"]
    )
    rendered = render(ReportInputs(experiment=CHECKOUT, status="scheduled", results=results, health=None))
    assert "no results yet" in rendered.markdown and "keep running" in rendered.markdown
    assert "no health data" in rendered.html and "no retention data" in rendered.html and rendered.images == {}


def test_a_failing_integrity_check_lowers_the_confidence():
    rows = pd.DataFrame([_row("purchase_conversion", "primary", 0.08, True, p_better=0.99)])
    rows = rows.assign(
        control_variant="control",
        n_control=1000,
        n_variant=1000,
        mean_control=0.5,
        mean_variant=0.54,
        p_value_adjusted=0.01,
        seq_rel_lift_ci_low=0.01,
        seq_rel_lift_ci_high=0.15,
        abs_effect=0.04,
        abs_ci_low=0.01,
        abs_ci_high=0.07,
    )
    health = pd.DataFrame([{"check_name": "srm", "status": "fail", "summary": "Sample ratio mismatch: p = 1e-9"}])
    rendered = render(ReportInputs(experiment=CHECKOUT, status="running", results=rows, health=health))
    assert rendered.recommendation.action == "ship" and rendered.recommendation.label == "low"
    assert "integrity warning (srm): Sample ratio mismatch" in rendered.markdown


SIGNUP = load_registry(REPO / "experiments").get("signup_social_proof")


def _signup(rows):
    return pd.DataFrame([{**r, "experiment_id": SIGNUP.id, "variant": "social_proof"} for r in rows])


def test_a_secondary_metric_likely_worse_is_named_and_caps_the_confidence():
    """Issue 12: signup shipped 'high confidence' while d7_retention was −8.7 % with P(better) 1 %."""
    rows = [
        _row("signup_conversion", "primary", 0.31, True, p_better=0.9999),
        _row("d7_retention", "secondary", -0.087, False, p_better=0.01),
    ]
    rec = recommend(SIGNUP, _signup(rows))
    assert (rec.action, rec.label) == ("ship", "medium")
    assert any("d7_retention -8.7%" in t and "P(worse) 99%" in t for t in rec.trade_offs)
    significant = recommend(SIGNUP, _signup([rows[0], _row("d7_retention", "secondary", -0.087, True, p_better=0.001)]))
    assert (significant.action, significant.label) == (
        "ship",
        "low",
    ) and "significantly worse" in significant.trade_offs[0]
    fine = recommend(SIGNUP, _signup([rows[0], _row("d7_retention", "secondary", -0.01, False, p_better=0.4)]))
    assert fine.label == "high" and fine.trade_offs == []


def test_every_option_has_its_expected_loss_and_risks():
    rows = [
        _row("purchase_conversion", "primary", 0.08, True, p_better=0.99),
        _row("error_rate", "guardrail", 0.60, True, direction="decrease", p_better=0.001),
    ]
    rec = recommend(CHECKOUT, pd.DataFrame(rows))
    by_action = {o.action: o for o in rec.options}
    assert set(by_action) == {"ship one_page", "rollback", "iterate"}
    assert (
        by_action["ship one_page"].expected_loss == 0.001
        and "guardrail breached: error_rate +60.0% in one_page" in by_action["ship one_page"].risks
    )
    assert by_action["rollback"].expected_loss == 0.02


def test_significant_primary_harm_rolls_back():
    rec = recommend(
        CHECKOUT, pd.DataFrame([_row("purchase_conversion", "primary", -0.10, True, date="2026-11-20", p_better=0.001)])
    )
    assert rec.action == "rollback" and any("significantly worse" in r for r in rec.reasons)


def test_the_monthly_report_carries_the_learnings_synthesis():
    """Issue 17: the monthly report gains a learnings synthesis (themes by surface and metric, win rates, ideas)."""
    import datetime as dt

    from exptrack_pipeline.reports.summaries import monthly_impact
    from exptrack_pipeline.site.learnings import synthesis

    library = pd.DataFrame(
        [
            {
                "experiment_id": "a",
                "surface": "signup_page",
                "primary_metric": "signup_conversion",
                "decision": "ship",
                "follow_up": "try on mobile; shorter copy",
            },
            {
                "experiment_id": "b",
                "surface": "signup_page",
                "primary_metric": "signup_conversion",
                "decision": "rollback",
                "follow_up": "",
            },
            {
                "experiment_id": "c",
                "surface": "checkout",
                "primary_metric": "purchase_conversion",
                "decision": "ship",
                "follow_up": "",
            },
        ]
    )
    backlog = pd.DataFrame([{"experiment_id": "d", "surface": "signup_page"}])
    metrics = {
        "experiments_per_quarter": {},
        "experiments_decided": 3,
        "median_days_to_decision": None,
        "share_decided_within_target": None,
        "win_rate": None,
        "implementation_rate": None,
    }
    doc = monthly_impact(
        dt.date(2026, 11, 30), pd.DataFrame(), metrics, synthesis(library, {"a": True, "c": False}, backlog)
    )
    md = doc.markdown()
    assert "Learnings synthesis" in md
    surface = next(b.frame for kind, b in doc.blocks if kind == "table" and b.table_id == "tbl-themes-surface")
    row = surface.set_index("surface").loc["signup_page"]
    assert (row["decided"], row["shipped"], row["wins"], row["win rate"]) == (2, 1, 1, "50%")
    assert "try on mobile (a, signup_page; queued there: d)" in md and "shorter copy" in md
