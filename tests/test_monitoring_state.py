"""Pauses and resumes: the status-event log, the webhook feature-flag controller (against a local HTTP server)
and its retries, and the Dagster resources' configuration."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from exptrack_pipeline.monitoring import HealthConfig
from exptrack_pipeline.notify.flags import NoFlagController, WebhookFlagController, make_controller
from exptrack_pipeline.notify.health_data import connector
from exptrack_pipeline.notify.state import (
    effective_statuses,
    latest_events,
    record_event,
    set_status_by_person,
    sync_flags,
)
from exptrack_pipeline.warehouse.schema import ensure_tables


class FlagService:
    """A local feature-flag webhook: records JSON bodies; `status` sets the HTTP answer."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                outer.calls.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/flags"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def flags():
    service = FlagService()
    yield service
    service.close()


@pytest.fixture()
def connect(tmp_path):
    c = connector(tmp_path / "w.duckdb")
    with c() as con:
        ensure_tables(con)
        con.execute("create schema registry")
        con.register("_e", pd.DataFrame({"experiment_id": ["exp_a", "exp_b"], "status": ["running", "concluded"]}))
        con.execute("create table registry.experiments as select * from _e")
        con.execute(
            "create table main.fct_daily_exposures as select 'exp_a' as experiment_id, date '2026-11-20' as "
            "exposure_date"
        )
    return c


def test_webhook_controller_posts_the_change_as_json(flags):
    result = WebhookFlagController(flags.url).set_status("exp_a", "paused", reason="guardrail harm", actor="exptrack")
    assert result.status == "ok" and flags.calls[0]["action"] == "pause"
    assert {k: flags.calls[0][k] for k in ("experiment_id", "status", "reason", "actor", "source")} == {
        "experiment_id": "exp_a",
        "status": "paused",
        "reason": "guardrail harm",
        "actor": "exptrack",
        "source": "exptrack",
    }
    flags.status = 503
    assert WebhookFlagController(flags.url).set_status("exp_a", "running", reason="r", actor="a").status == "failed"


def test_controller_configuration_errors_say_what_to_set():
    assert isinstance(make_controller("none"), NoFlagController)
    with pytest.raises(ValueError, match="webhook_url"):
        make_controller("webhook")
    with pytest.raises(ValueError, match="'none' or 'webhook'"):
        make_controller("launchdarkly")


def test_pause_and_resume_by_a_person_are_recorded_and_change_the_effective_status(connect, flags):
    controller = WebhookFlagController(flags.url)
    change = set_status_by_person(connect, controller, "exp_a", "paused", "bug on Android", "@li")
    assert change.changed and change.ok and flags.calls[-1]["action"] == "pause"
    assert not set_status_by_person(connect, controller, "exp_a", "paused", "again", "@li").changed  # already paused
    with connect() as con:
        assert effective_statuses(con) == {"exp_a": "paused", "exp_b": "concluded"}
    set_status_by_person(connect, controller, "exp_a", "running", "fixed in 4.2.1", "@li")
    with connect() as con:
        events = con.execute(
            "select status, actor, source, data_date, flag_status from state.experiment_status_events order by "
            "event_seq"
        ).df()
        assert effective_statuses(con)["exp_a"] == "running"
    assert list(events["status"]) == ["paused", "running"] and set(events["flag_status"]) == {"ok"}
    assert str(events["data_date"].iloc[1])[:10] == "2026-11-20"
    refused = set_status_by_person(connect, controller, "exp_b", "paused", "x", "@li")
    assert not refused.ok and "concluded in its YAML" in refused.message


def test_failed_flag_calls_are_retried_but_only_for_the_latest_event(connect, flags):
    with connect() as con:
        record_event(
            con,
            experiment_id="exp_a",
            status="paused",
            reason="srm",
            actor="exptrack",
            source="automatic",
            flag_controller="webhook",
        )
    flags.status = 500
    [(_, _, first)] = sync_flags(connect, WebhookFlagController(flags.url))
    assert first.status == "failed"
    flags.status = 200
    [(_, status, second)] = sync_flags(connect, WebhookFlagController(flags.url))
    assert status == "paused" and second.status == "ok" and sync_flags(connect, WebhookFlagController(flags.url)) == []
    with connect() as con:
        assert latest_events(con)["flag_attempts"].iloc[0] == 2
        record_event(
            con,
            experiment_id="exp_a",
            status="paused",
            reason="harm",
            actor="exptrack",
            source="automatic",
            flag_controller="webhook",
        )
        con.execute("update state.experiment_status_events set flag_status = 'failed' where reason = 'harm'")
        record_event(
            con, experiment_id="exp_a", status="running", reason="fixed", actor="@li", source="person", flag_status="ok"
        )
    assert sync_flags(connect, WebhookFlagController(flags.url)) == []  # a failed pause is not replayed after a resume


def test_monitoring_resource_exposes_every_threshold():
    from exptrack_pipeline.defs.resources import MonitoringResource

    assert set(HealthConfig.model_fields) <= set(MonitoringResource.model_fields)
    assert MonitoringResource().config() == HealthConfig()
    assert MonitoringResource(srm_threshold=0.01, auto_pause_levels=[3]).config().auto_pause_levels == (3,)


def test_monitoring_is_wired_into_the_project_definitions():
    from exptrack_pipeline.definitions import build_definitions

    defs = build_definitions()

    for key in ("experiment_health", "experiment_alerts"):
        assert defs.resolve_assets_def(key).op.pool == "duckdb", key
    assert {s.name for s in defs.sensors} >= {"health_alert_sensor", "pipeline_failure_sensor"}
    analysis = defs.resolve_job_def("analysis_job").asset_layer.executable_asset_keys
    assert {k.to_user_string() for k in analysis} >= {
        "experiment_health",
        "experiment_alerts",
        "dim_experiment_status",
        "mon_variant_metric_daily",
    }
    assert set(defs.resolve_assets_def("experiment_health").check_keys) and {
        "slack",
        "feature_flags",
        "monitoring",
    } <= set(defs.resources)


def test_a_lifecycle_decision_ends_monitoring_and_refuses_pauses(connect, flags):
    """One effective-status rule: `exptrack decide` (a lifecycle transition to concluded) wins over the YAML's running,
    and a later pause or resume of a concluded experiment is refused instead of re-opening it."""
    import datetime as dt

    from exptrack_pipeline.lifecycle import store
    from exptrack_pipeline.lifecycle.states import LifecycleEvent

    controller = WebhookFlagController(flags.url)
    assert set_status_by_person(connect, controller, "exp_a", "paused", "bug", "@li").changed
    with connect() as con:
        store.append_events(
            con,
            [
                LifecycleEvent(
                    experiment_id="exp_a",
                    event_type="transition",
                    from_status="paused",
                    to_status="concluded",
                    actor="@maria",
                    reason="decided: rollback",
                    occurred_at=dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=1),
                )
            ],
        )
        assert effective_statuses(con) == {"exp_a": "concluded", "exp_b": "concluded"}
    refused = set_status_by_person(connect, controller, "exp_a", "running", "resume", "@li")
    assert not refused.ok and not refused.changed and "concluded" in refused.message
    assert [c["action"] for c in flags.calls] == ["pause"]  # the flag was not switched back on
