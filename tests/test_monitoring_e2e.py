"""End to end on the session's demo pipeline run: the acceptance of the monitoring issue, the asset checks, the
health_alert_sensor with Dagster's sensor test helpers on a real instance, the env token, the CLI and the webhook."""

from __future__ import annotations

import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
from slack_api_server import SlackApiServer

from exptrack_pipeline.defs.monitoring import assets as mon
from exptrack_pipeline.defs.monitoring.sensors import health_alert_sensor
from exptrack_pipeline.defs.resources import (
    FeatureFlagResource,
    MonitoringResource,
    RegistryResource,
    SlackResource,
    WarehouseResource,
)
from exptrack_pipeline.monitoring import CHECKS
from exptrack_pipeline.notify.slack import DEFAULT_BASE_URL

TOKEN = "xoxb-e2e-0000-TOPSECRET"
REPO = Path(__file__).resolve().parents[1]


def _copy(demo_run, tmp_path: Path, fresh: bool = False) -> Path:
    """A private copy of the demo warehouse; `fresh` forgets the alerts and pauses the pipeline run made."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_run.warehouse, path)
    if fresh:
        import duckdb

        with duckdb.connect(str(path)) as con:
            con.execute("delete from alerts.outbox")
            con.execute("delete from state.experiment_status_events")
    return path


def _resources(path: Path, slack: SlackApiServer | None = None, webhook: str | None = None) -> dict:
    return {
        "warehouse": WarehouseResource(path=str(path)),
        "registry": RegistryResource(
            experiments_dir=str(REPO / "experiments"), metrics_file=str(REPO / "experiments" / "metrics.yaml")
        ),
        "slack": SlackResource(
            token=slack.token if slack else None,
            base_url=slack.base_url if slack else DEFAULT_BASE_URL,
            retry_backoff_seconds=0.01,
        ),
        "feature_flags": FeatureFlagResource(mode="webhook", webhook_url=webhook) if webhook else FeatureFlagResource(),
        "monitoring": MonitoringResource(),
    }


class _Webhook:
    """A local feature-flag service: records the JSON bodies it is sent."""

    def __init__(self) -> None:
        calls = self.calls = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                calls.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/flags"


def test_demo_run_raises_srm_level_2_and_pauses_checkout_on_guardrail_harm_level_3(demo_run):
    alerts = demo_run.query("select experiment_id, trigger, level, destination, status from alerts.outbox")
    checkout = alerts[alerts["experiment_id"] == "checkout_redesign"]
    assert {(t, lvl) for t, lvl in zip(checkout["trigger"], checkout["level"], strict=True)} >= {
        ("srm", 2),
        ("guardrail_harm", 3),
    }
    assert set(checkout[checkout["trigger"] == "guardrail_harm"]["destination"]) == {"#exp-checkout", "#exp-leadership"}
    if not os.environ.get("SLACK_BOT_TOKEN"):
        assert set(alerts["status"]) == {"dry_run"}  # no token in tests: every alert stays in the outbox, logged once
    pauses = demo_run.query("select * from state.experiment_status_events where experiment_id = 'checkout_redesign'")
    assert len(pauses) == 1 and pauses["status"].iloc[0] == "paused" and pauses["trigger"].iloc[0] == "guardrail_harm"
    assert (
        pauses["actor"].iloc[0] == "exptrack"
        and "error_rate" in pauses["reason"].iloc[0]
        and "level 2" in pauses["reason"].iloc[0]
    )
    status = demo_run.query("select * from dim_experiment_status").set_index("experiment_id")["effective_status"]
    assert status["checkout_redesign"] == "paused" and status["homepage_cards"] == "running"
    homepage = alerts[alerts["experiment_id"] == "homepage_cards"]
    assert "significance_reached" in set(homepage["trigger"])
    assert set(alerts[alerts["level"] == 0]["destination"]) <= {"#exp-checkout", "#exp-home", "#exp-signup"}


def test_demo_run_reports_significance_reached_for_signup(demo_run):
    results = demo_run.query(
        "select * from experiment_results where experiment_id = 'signup_social_proof' and metric_role = 'primary' "
        "and analysis_date = (select max(analysis_date) from experiment_results)"
    )
    alerts = demo_run.query(
        "select * from alerts.outbox where experiment_id = 'signup_social_proof' and trigger = 'significance_reached'"
    )
    assert results["seq_is_significant"].all(), "the demo's signup lift (+22.5% true) is significant at scale 1.0"
    assert len(alerts) == 1 and alerts["destination"].iloc[0] == "#exp-signup"


def test_asset_checks_and_the_sensor_on_a_real_instance(demo_run, tmp_path):
    path = _copy(demo_run, tmp_path, fresh=True)
    webhook = _Webhook()
    with SlackApiServer(token=TOKEN) as slack, dg.DagsterInstance.ephemeral() as instance:
        resources = _resources(path, slack, webhook.url)
        result = dg.materialize([mon.experiment_health], instance=instance, resources=resources)
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert set(checks) == set(CHECKS)
        assert not checks["srm"].passed and not checks["guardrail_harm"].passed
        assert checks["srm"].metadata["failing_experiments"].value == ["checkout_redesign"]
        assert "checkout_redesign" in checks["guardrail_harm"].metadata["verdicts"].value
        assert (
            checks["significance"].passed
            and "homepage_cards" in checks["significance"].metadata["reached_experiments"].value
        )
        assert checks["multiple_exposure"].passed and checks["freshness"].passed

        slack.down()  # Slack is down when the sensor first raises the alerts
        tick = health_alert_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        state = json.loads(tick.cursor)
        assert "new alert(s)" in tick.skip_reason.skip_message and state["undelivered"] > 0
        assert (
            slack.messages == []
            and webhook.calls[0]["action"] == "pause"
            and webhook.calls[0]["experiment_id"] == "checkout_redesign"
        )
        slack.up()
        tick = health_alert_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=tick.cursor))
        assert json.loads(tick.cursor)["undelivered"] == 0
        outbox = WarehouseResource(path=str(path)).read_df("select * from alerts.outbox")
        assert set(outbox["status"]) == {"sent"} and len(slack.messages) == len(outbox) == state["undelivered"]
        assert sorted(m["metadata"]["event_payload"]["alert_id"] for m in slack.messages) == sorted(outbox["alert_id"])
        idle = health_alert_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=tick.cursor))
        assert idle.skip_reason.skip_message.startswith("no new health results")

        dg.materialize([mon.experiment_health], instance=instance, resources=resources)  # the same day evaluated again
        again = health_alert_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=idle.cursor))
        assert again.skip_reason.skip_message.startswith("0 new alert(s)") and len(slack.messages) == len(
            outbox
        )  # exactly once
        assert len(webhook.calls) == 1


def test_alerts_asset_reads_the_token_from_the_environment_and_never_records_it(demo_run, tmp_path, monkeypatch):
    path = _copy(demo_run, tmp_path, fresh=True)
    with SlackApiServer(token=TOKEN) as slack, dg.DagsterInstance.ephemeral() as instance:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("EXPTRACK_SLACK_API_URL", slack.base_url)
        built = {"slack": SlackResource.from_env()}
        assert isinstance(built["slack"].token, dg.EnvVar)
        resources = {**_resources(path), "slack": built["slack"]}
        result = dg.materialize([mon.experiment_health, mon.experiment_alerts], instance=instance, resources=resources)
        assert result.success and slack.messages
        assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in slack.requests)
        logs = instance.all_logs(result.run_id)
        recorded = "\n".join(json.dumps(e.to_json() if hasattr(e, "to_json") else str(e)) for e in logs) + str(
            result.dagster_run
        )
        assert "experiment_alerts" in recorded and TOKEN not in recorded
        meta = result.asset_materializations_for_node("experiment_alerts")[0].metadata
        assert meta["sent"].value == len(slack.messages) and TOKEN not in str(meta)


def test_cli_lists_alerts_and_pauses_and_resumes_with_a_record(demo_run, tmp_path, monkeypatch, capsys):
    from exptrack_pipeline.cli import main

    path = _copy(demo_run, tmp_path)
    monkeypatch.setenv("EXPTRACK_WAREHOUSE", str(path))
    monkeypatch.setenv("EXPTRACK_EXPERIMENTS_DIR", str(REPO / "experiments"))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert main(["alerts", "--experiment", "checkout_redesign"]) == 0
    listing = capsys.readouterr().out
    assert "guardrail_harm" in listing and "srm" in listing and "#exp-leadership" in listing
    assert main(["resume", "checkout_redesign", "--reason", "error logging fixed in 4.2.1", "--actor", "@sam"]) == 0
    assert main(["pause", "homepage_cards", "--reason", "layout bug on Android"]) == 0
    assert main(["resume", "no_such_experiment", "--reason", "x", "--actor", "y"]) == 2
    out = capsys.readouterr()
    assert "checkout_redesign resumed by @sam" in out.out and "unknown experiment 'no_such_experiment'" in out.err
    status = WarehouseResource(path=str(path)).read_df("select * from dim_experiment_status").set_index("experiment_id")
    assert status.loc["checkout_redesign", "effective_status"] == "running"
    assert (
        status.loc["homepage_cards", "effective_status"] == "paused"
        and status.loc["homepage_cards", "status_reason"] == "layout bug on Android"
    )
    events = WarehouseResource(path=str(path)).read_df(
        "select * from state.experiment_status_events order by event_seq"
    )
    assert list(events["status"]) == ["paused", "running", "paused"] and list(events["source"]) == [
        "automatic",
        "person",
        "person",
    ]
