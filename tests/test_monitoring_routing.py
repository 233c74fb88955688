"""Routing per escalation level, alert planning (exactly-once keys, paused experiments), automatic-pause
decisions and the Block Kit message (the effective-status rule: tests/test_lifecycle_status.py)."""

from __future__ import annotations

import datetime as dt

from exptrack_pipeline.config.experiments import AlertRouting
from exptrack_pipeline.monitoring import Contacts, Finding, HealthConfig, plan_alerts, plan_pauses, recipients_for
from exptrack_pipeline.monitoring.blocks import render, render_run_failure

DAY = dt.date(2026, 11, 24)
CHECKOUT = Contacts(owner="@sam", pm="@ana", slack_channel="#exp-checkout")


def test_default_routing_escalates_from_owner_to_pm_to_leadership():
    assert recipients_for(0, CHECKOUT, "#lead") == ("#exp-checkout",)
    assert recipients_for(1, CHECKOUT, "#lead") == ("@sam",)
    assert recipients_for(2, CHECKOUT, "#lead") == ("@sam", "@ana")
    assert recipients_for(3, CHECKOUT, "#lead") == ("@sam", "@ana", "#lead")
    no_pm = Contacts(owner="@li", pm=None, slack_channel="#exp-home")
    assert recipients_for(2, no_pm, "#lead") == ("@li",)


def test_yaml_routing_overrides_a_level():
    custom = Contacts(
        "@sam", "@ana", "#exp-checkout", AlertRouting(level_1=["#growth-oncall", "U0123ABC"], level_3=["#incident"])
    )
    assert recipients_for(1, custom, "#lead") == ("#growth-oncall", "U0123ABC")
    assert recipients_for(2, custom, "#lead") == ("@sam", "@ana")  # unset level keeps the default
    assert recipients_for(3, custom, "#lead") == ("#incident",)


def _finding(
    check: str, status: str = "fail", experiment: str = "checkout_redesign", event: dt.date | None = None
) -> Finding:
    return Finding(experiment, check, status, DAY, f"{check} summary", event or DAY, {"p_value": 1e-9})


def test_plan_alerts_keys_levels_and_destinations():
    findings = [
        _finding("srm"),
        _finding("srm_segments"),
        _finding("guardrail_harm"),
        _finding("significance", "reached", event=dt.date(2026, 11, 15)),
        _finding("traffic", "pass"),
    ]
    alerts = plan_alerts(
        findings, {"checkout_redesign": CHECKOUT}, {"checkout_redesign": "running"}, HealthConfig(), "#lead"
    )
    by_trigger = {a.trigger: a for a in alerts}
    assert set(by_trigger) == {
        "srm",
        "guardrail_harm",
        "significance_reached",
    }  # segment SRM folded into SRM, passes ignored
    assert [a.level for a in alerts] == [3, 2, 0]  # most severe first
    assert by_trigger["guardrail_harm"].key == "checkout_redesign:guardrail_harm:2026-11-24"
    assert (
        by_trigger["guardrail_harm"].destinations == ("#exp-checkout", "#lead")
        and by_trigger["guardrail_harm"].auto_pause
    )
    assert by_trigger["srm"].destinations == ("#exp-checkout",) and by_trigger["srm"].mentions == ("@sam", "@ana")
    assert (
        by_trigger["significance_reached"].key.endswith(":2026-11-15")
        and not by_trigger["significance_reached"].auto_pause
    )


def test_paused_experiments_get_no_new_alerts():
    alerts = plan_alerts(
        [_finding("srm")], {"checkout_redesign": CHECKOUT}, {"checkout_redesign": "paused"}, HealthConfig(), "#lead"
    )
    assert alerts == []


def test_one_pause_per_experiment_named_after_the_worst_alert_and_resume_grace():
    cfg = HealthConfig()
    alerts = plan_alerts(
        [_finding("srm"), _finding("guardrail_harm"), _finding("metric_anomaly")],
        {"checkout_redesign": CHECKOUT},
        {"checkout_redesign": "running"},
        cfg,
        "#lead",
    )
    pauses, suppressed = plan_pauses(alerts, {}, cfg)
    assert len(pauses) == 1 and pauses[0].trigger == "guardrail_harm" and pauses[0].level == 3
    assert "level 3" in pauses[0].reason and "level 2" in pauses[0].reason and suppressed == {}
    pauses, suppressed = plan_pauses(alerts, {"checkout_redesign": DAY - dt.timedelta(days=2)}, cfg)
    assert pauses == [] and all("resumed" in note for note in suppressed.values()) and len(suppressed) == 2
    pauses, _ = plan_pauses(alerts, {"checkout_redesign": DAY - dt.timedelta(days=cfg.resume_grace_days + 1)}, cfg)
    assert len(pauses) == 1


def test_block_kit_message_says_what_happened_the_numbers_what_to_do_and_links_to_dagster():
    alert = plan_alerts(
        [_finding("guardrail_harm")],
        {"checkout_redesign": Contacts("U0SAM01", "@ana", "#exp-checkout")},
        {"checkout_redesign": "running"},
        HealthConfig(),
        "#lead",
    )[0]
    text, blocks = render(alert, "http://dagster.example:3000/", "Paused automatically by exptrack")
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "section", "context", "actions"]
    assert "Guardrail harmed" in blocks[0]["text"]["text"] and len(blocks[0]["text"]["text"]) <= 150
    assert blocks[1]["text"]["text"].startswith("*What happened*")
    assert "*p value*: 1e-09" in blocks[3]["text"]["text"]
    assert "Paused automatically" in blocks[4]["text"]["text"] and blocks[4]["text"]["text"].startswith("*What to do*")
    assert "<@U0SAM01>" in blocks[5]["elements"][0]["text"] and "@ana" in blocks[5]["elements"][0]["text"]
    assert blocks[6]["elements"][0]["url"] == "http://dagster.example:3000/assets/experiment_health?view=checks"
    assert text.startswith("[exptrack] level 3") and "<@U0SAM01>" in text


def test_run_failure_message_links_to_the_run():
    text, blocks = render_run_failure("analysis_job", "abc-123", "dbt failed", "http://localhost:3000")
    assert "analysis_job" in text and blocks[-1]["elements"][0]["url"] == "http://localhost:3000/runs/abc-123"


def test_sample_size_is_announced_once_even_when_its_date_shifts():
    first = _finding("sample_size", "reached", experiment="checkout_redesign", event=dt.date(2026, 11, 10))
    plan = plan_alerts(
        [first], {"checkout_redesign": CHECKOUT}, {"checkout_redesign": "running"}, HealthConfig(), "#lead"
    )
    assert [a.trigger for a in plan] == ["sample_size_reached"]
    shifted = _finding("sample_size", "reached", experiment="checkout_redesign", event=dt.date(2026, 11, 11))
    again = plan_alerts(
        [shifted],
        {"checkout_redesign": CHECKOUT},
        {"checkout_redesign": "running"},
        HealthConfig(),
        "#lead",
        announced={("checkout_redesign", "sample_size_reached")},
    )
    assert again == []
