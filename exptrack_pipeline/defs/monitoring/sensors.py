"""The monitoring sensors: `health_alert_sensor` raises the alerts of health results experiment_alerts did not see
and re-delivers what Slack did not take; `pipeline_failure_sensor` posts failed runs to the data-engineering channel."""

import json

import dagster as dg

from exptrack_pipeline.defs.monitoring.assets import ALERTS, HEALTH, alerting
from exptrack_pipeline.defs.resources import (
    FeatureFlagResource,
    MonitoringResource,
    RegistryResource,
    SlackResource,
    WarehouseResource,
)
from exptrack_pipeline.monitoring.blocks import render_run_failure
from exptrack_pipeline.notify.env import TOKEN_VAR
from exptrack_pipeline.notify.service import latest_findings
from exptrack_pipeline.notify.slack import DeliveryError
from exptrack_pipeline.warehouse import WarehouseBusy, is_lock_error

_BUSY = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING)


def _latest_storage_id(instance: dg.DagsterInstance, key: str) -> int:
    records = instance.fetch_materializations(dg.AssetKey(key), limit=1).records
    return int(records[0].storage_id) if records else -1


@dg.sensor(
    name="health_alert_sensor",
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After new health results: raise their alerts (if experiment_alerts did not) and deliver every alert "
    "Slack "
    "has not "
    "taken yet. Skips while a run is in progress (DuckDB has one writer).",
)
def health_alert_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    registry: RegistryResource,
    slack: SlackResource,
    feature_flags: FeatureFlagResource,
    monitoring: MonitoringResource,
) -> dg.SensorResult:
    """Raise and deliver alerts after new health results; retry undelivered ones."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    health_id, alerts_id = _latest_storage_id(context.instance, HEALTH), _latest_storage_id(context.instance, ALERTS)
    evaluate = health_id > cursor.get("health", -1) and health_id > alerts_id
    news = health_id > cursor.get("health", -1) or alerts_id > cursor.get("alerts", -1)
    if not (evaluate or news or cursor.get("undelivered", 0) > 0):
        return dg.SensorResult(skip_reason="no new health results and nothing left to deliver")
    if context.instance.get_run_records(filters=dg.RunsFilter(statuses=list(_BUSY)), limit=1):
        return dg.SensorResult(
            skip_reason="a run is in progress (DuckDB has one writer): trying again on the next tick"
        )
    try:
        findings = latest_findings(warehouse.connect) if evaluate else None
        outcome = alerting(warehouse, registry, slack, feature_flags, monitoring, findings, context.log.info)
    except WarehouseBusy as exc:
        return dg.SensorResult(skip_reason=str(exc))
    except Exception as exc:
        if is_lock_error(exc):
            return dg.SensorResult(
                skip_reason="the warehouse is locked by another process: trying again on the next tick"
            )
        raise
    d = outcome.delivery
    new = len(outcome.raised.new_alert_ids) if outcome.raised else 0
    summary = (
        f"{new} new alert(s); sent {d.sent}, dry run {d.dry_run}, failed {d.failed}; {d.undelivered_after} waiting "
        "for a later tick"
    )
    context.log.info(summary)
    state = {
        "health": max(health_id, cursor.get("health", -1)),
        "alerts": max(alerts_id, cursor.get("alerts", -1)),
        "undelivered": d.undelivered_after,
    }
    return dg.SensorResult(skip_reason=summary, cursor=json.dumps(state))


@dg.run_failure_sensor(
    name="pipeline_failure_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts every failed run to the data-engineering Slack channel (dry run without SLACK_BOT_TOKEN).",
)
def pipeline_failure_sensor(context: dg.RunFailureSensorContext, slack: SlackResource) -> None:
    """Post a failed run's job, id and error to the data-engineering channel."""
    run = context.dagster_run
    message = context.failure_event.message or "the run failed"
    text, blocks = render_run_failure(run.job_name, run.run_id, message, slack.dagster_url)
    sender = slack.sender()
    if sender is None:
        context.log.info(f"DRY RUN (no {TOKEN_VAR}) to {slack.data_engineering_channel}: {text}")
        return
    try:
        sender.post(slack.data_engineering_channel, text, blocks)
    except DeliveryError as exc:
        context.log.error(f"run failure of {run.run_id} not posted to {slack.data_engineering_channel}: {exc}")
        raise dg.Failure(description=str(exc)) from None
