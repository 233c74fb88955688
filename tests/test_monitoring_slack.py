"""Slack delivery through the real slack_sdk WebClient against a local Slack Web API server (tests/slack_api_server.py):
Block Kit content, 429/Retry-After, server errors, outages, dry runs, concurrent deliverers, and the token never
leaking."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time

import pytest
from slack_api_server import SlackApiServer

from exptrack_pipeline.monitoring import Contacts, Finding, HealthConfig, plan_alerts
from exptrack_pipeline.monitoring.blocks import render
from exptrack_pipeline.notify import outbox
from exptrack_pipeline.notify.health_data import connector
from exptrack_pipeline.notify.service import deliver_pending
from exptrack_pipeline.notify.slack import DeliveryError, SlackSender
from exptrack_pipeline.warehouse.schema import ensure_tables

TOKEN = "xoxb-1111-2222-SECRETtokenVALUE"
DAY = dt.date(2026, 11, 24)
CONTACTS = {
    "checkout_redesign": Contacts("@sam", "@ana", "#exp-checkout"),
    "signup_social_proof": Contacts("@maria", "@dan", "#exp-signup"),
}


@pytest.fixture()
def slack():
    with SlackApiServer(token=TOKEN) as server:
        yield server


@pytest.fixture()
def connect(tmp_path):
    c = connector(tmp_path / "warehouse.duckdb")
    with c() as con:
        ensure_tables(con)
    return c


def sender(server: SlackApiServer, token: str = TOKEN) -> SlackSender:
    return SlackSender(token, server.base_url, backoff_seconds=0.01, connection_retries=1)


def enqueue(connect) -> list[str]:
    """Three outbox rows: a level-3 alert to two channels and an informational one."""
    findings = [
        Finding("checkout_redesign", "guardrail_harm", "fail", DAY, "error_rate +62.5%", DAY, {"p_value": 1e-9}),
        Finding("signup_social_proof", "significance", "reached", DAY, "signup_conversion +19%", dt.date(2026, 11, 7)),
    ]
    alerts = plan_alerts(findings, CONTACTS, dict.fromkeys(CONTACTS, "running"), HealthConfig(), "#exp-leadership")
    with connect() as con:
        return outbox.enqueue(con, alerts, {})


def rows(connect):
    with connect() as con:
        return con.execute("select * from alerts.outbox order by alert_id").df().set_index("alert_id")


def test_delivery_posts_block_kit_and_records_each_ts(connect, slack):
    ids = enqueue(connect)
    assert len(ids) == 3 and enqueue(connect) == []  # the same alerts again: nothing new
    report = deliver_pending(connect, sender(slack), "http://localhost:3000", log=lambda m: None)
    assert report.sent == 3 and report.undelivered_after == 0
    by_channel = {(m["channel"], m["metadata"]["event_payload"]["alert_id"]): m for m in slack.messages}
    assert {c for c, _ in by_channel} == {"#exp-checkout", "#exp-leadership", "#exp-signup"}
    table = rows(connect)
    assert set(table["status"]) == {"sent"} and (table["attempts"] == 1).all()
    for alert_id, row in table.iterrows():
        message = by_channel[(row["destination"], alert_id)]
        assert row["slack_ts"] == message["ts"]
        expected_text, expected_blocks = render(
            outbox.row_to_alert(next(table.loc[[alert_id]].reset_index().itertuples())), "http://localhost:3000"
        )
        assert message["blocks"] == expected_blocks and message["text"] == expected_text
    header = by_channel[("#exp-leadership", "checkout_redesign:guardrail_harm:2026-11-24→#exp-leadership")]["blocks"][
        0
    ]["text"]["text"]
    assert "Guardrail harmed" in header
    deliver_pending(connect, sender(slack), "http://localhost:3000", log=lambda m: None)
    assert len(slack.messages) == 3  # a second tick sends nothing


def test_rate_limit_with_retry_after_then_success_delivers_exactly_one_message(connect, slack):
    with connect() as con:
        alerts = plan_alerts(
            [Finding("signup_social_proof", "duration", "reached", DAY, "ended", DAY)],
            CONTACTS,
            {"signup_social_proof": "running"},
            HealthConfig(),
            "#lead",
        )
        outbox.enqueue(con, alerts, {})
    slack.fail_next(429, retry_after=1)
    started = time.monotonic()
    report = deliver_pending(connect, sender(slack), "http://x", log=lambda m: None)
    assert time.monotonic() - started >= 1.0  # slack_sdk's RateLimitErrorRetryHandler waited for Retry-After
    assert [r.status for r in slack.requests] == [429, 200]
    assert report.sent == 1 and len(slack.messages) == 1
    row = rows(connect).iloc[0]
    assert row["status"] == "sent" and row["attempts"] == 1 and row["slack_ts"] == slack.messages[0]["ts"]


def test_server_errors_are_retried_by_the_sdk_handler(connect, slack):
    enqueue(connect)
    slack.fail_next(503)
    slack.fail_next(500)
    report = deliver_pending(connect, sender(slack), "http://x", log=lambda m: None)
    assert report.sent == 3 and len(slack.messages) == 3 and [r.status for r in slack.requests][:3] == [503, 500, 200]


def test_outage_leaves_alerts_pending_and_a_later_tick_delivers_each_exactly_once(connect, slack):
    enqueue(connect)
    slack.down()
    report = deliver_pending(connect, sender(slack), "http://x", log=lambda m: None)
    assert report.sent == 0 and report.failed == 1 and report.undelivered_after == 3
    statuses = rows(connect)["status"]
    assert sorted(statuses) == ["failed-retrying", "pending", "pending"]  # stopped after the first: nothing dropped
    assert "unreachable" in rows(connect)["last_error"].dropna().iloc[0]
    slack.up()
    report = deliver_pending(connect, sender(slack), "http://x", log=lambda m: None)
    assert report.sent == 3 and report.undelivered_after == 0
    deliver_pending(connect, sender(slack), "http://x", log=lambda m: None)
    sent_ids = [m["metadata"]["event_payload"]["alert_id"] for m in slack.messages]
    assert sorted(sent_ids) == sorted(rows(connect).index) and len(set(sent_ids)) == 3


def test_concurrent_deliverers_send_each_alert_once(connect, slack):
    enqueue(connect)
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            deliver_pending(connect, sender(slack), "http://x", log=lambda m: None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    sent_ids = [m["metadata"]["event_payload"]["alert_id"] for m in slack.messages]
    assert len(sent_ids) == 3 and len(set(sent_ids)) == 3


def test_dry_run_without_token_logs_each_alert_once_and_sends_it_when_a_token_arrives(connect, slack):
    enqueue(connect)
    lines: list[str] = []
    report = deliver_pending(connect, None, "http://x", log=lines.append)
    assert report.dry_run == 3 and all(line.startswith("DRY RUN") for line in lines) and slack.requests == []
    assert set(rows(connect)["status"]) == {"dry_run"}
    assert deliver_pending(connect, None, "http://x", log=lines.append).dry_run == 0 and len(lines) == 3
    assert deliver_pending(connect, sender(slack), "http://x", log=lines.append).sent == 3


def test_a_stale_claim_is_released_and_sent_again(connect, slack):
    ids = enqueue(connect)
    with connect() as con:
        assert outbox.claim(con, ids[0]) and not outbox.claim(con, ids[0])
        con.execute("update alerts.outbox set claimed_at = claimed_at - interval 1 hour where alert_id = ?", [ids[0]])
    report = deliver_pending(connect, sender(slack), "http://x", log=lambda m: None)
    assert report.released_stale == 1 and report.sent == 3


def test_the_token_never_appears_in_logs_errors_or_the_outbox(connect, slack, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    for name in ("slack_sdk", "exptrack", "exptrack.notify.slack_sdk"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    enqueue(connect)
    texts: list[str] = []
    deliver_pending(connect, sender(slack), "http://x", log=texts.append)  # success
    with connect() as con:
        con.execute("update alerts.outbox set status = 'pending'")
    deliver_pending(connect, SlackSender(TOKEN + "x", slack.base_url), "http://x", log=texts.append)  # invalid_auth
    slack.down()
    for broken in (SlackSender(TOKEN, slack.base_url, backoff_seconds=0.01),):
        with pytest.raises(DeliveryError) as err:
            broken.post("#exp-checkout", "hello", [])
        texts += [str(err.value), repr(err.value), repr(broken)]
    slack.up()
    slack.fail_next(500, times=3)
    with pytest.raises(DeliveryError) as err:
        SlackSender(TOKEN, slack.base_url, backoff_seconds=0.01).post("#exp-checkout", "hello", [])
    texts.append(str(err.value))
    captured = capsys.readouterr()
    everything = "\n".join([caplog.text, captured.out, captured.err, *texts, rows(connect).to_json()])
    assert "invalid_auth" in everything and "Sending a request" in caplog.text  # the logs were really captured
    assert TOKEN not in everything
    assert any(
        r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in slack.requests
    )  # it was used, only in the header


def test_metadata_ids_are_json_safe(connect):
    enqueue(connect)
    table = rows(connect)
    assert all(json.loads(d) is not None for d in table["details_json"])


def test_run_failure_sensor_posts_to_the_data_engineering_channel(slack):
    import dagster as dg

    from exptrack_pipeline.defs.monitoring.sensors import pipeline_failure_sensor
    from exptrack_pipeline.defs.resources import SlackResource

    @dg.op
    def breaks():
        raise RuntimeError("dbt build failed: 3 tests failed")

    @dg.job
    def nightly():
        breaks()

    with dg.DagsterInstance.ephemeral() as instance:
        result = nightly.execute_in_process(instance=instance, raise_on_error=False)
        context = dg.build_run_status_sensor_context(
            sensor_name="pipeline_failure_sensor",
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={
                "slack": SlackResource(token=TOKEN, base_url=slack.base_url, data_engineering_channel="#data-eng")
            },
        ).for_run_failure()
        pipeline_failure_sensor(context)
    [message] = slack.messages
    assert message["channel"] == "#data-eng" and "nightly" in message["text"] and result.run_id in message["text"]
    assert message["blocks"][-1]["elements"][0]["url"].endswith(f"/runs/{result.run_id}")
