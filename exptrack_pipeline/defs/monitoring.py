"""Health checks, alerting sensors and the Slack/feature-flag resources (issue: monitoring).

* `experiment_health` — runs every health rule after the daily results; one asset check per rule (docs/monitoring.md).
* `experiment_alerts` — raises alerts (outbox), pauses experiments automatically, switches flags, delivers to Slack.
* `health_alert_sensor` — after new health results (e.g. when only `experiment_health` ran) raises their alerts, and
  re-delivers alerts Slack did not take; it never touches the warehouse while a run is in progress.
* `pipeline_failure_sensor` — posts failed runs to the data-engineering channel.
A failed asset check does not fail the run, so run-failure sensors never see health problems: hence this pair.
"""


import datetime as dt
import json
import os

import dagster as dg
import pandas as pd

from exptrack_pipeline.config.settings import Settings
from exptrack_pipeline.defs.resources import RegistryResource, WarehouseResource
from exptrack_pipeline.flags.paths import flag_file_path
from exptrack_pipeline.monitoring import CHECKS, Finding, HealthConfig
from exptrack_pipeline.monitoring.blocks import render_run_failure
from exptrack_pipeline.notify.env import TOKEN_VAR, MonitoringEnv
from exptrack_pipeline.notify.flags import FeatureFlagController, make_controller
from exptrack_pipeline.notify.outbox import list_outbox
from exptrack_pipeline.notify.service import AlertingOutcome, contacts_from_registry, evaluate_health, latest_findings, run_alerting
from exptrack_pipeline.notify.slack import DEFAULT_BASE_URL, DeliveryError, SlackSender
from exptrack_pipeline.notify.warehouse import WarehouseBusy, is_lock_error

HEALTH = "experiment_health"
ALERTS = "experiment_alerts"
HEALTH_DEPS = [
    "experiment_results", "fct_daily_exposures", "fct_segment_exposures", "dim_experiment_exposure_quality",
    "fct_variant_metric_stats", "mon_experiment_daily_activity", "mon_variant_metric_daily", "dim_experiment_status",
]
_D = HealthConfig()


class SlackResource(dg.ConfigurableResource):
    """Slack Web API access. `token` comes from SLACK_BOT_TOKEN via dg.EnvVar (unset → dry run: alerts are logged)."""

    token: str | None = None
    base_url: str = DEFAULT_BASE_URL
    leadership_channel: str = "#exp-leadership"
    data_engineering_channel: str = "#data-eng"
    dagster_url: str = "http://localhost:3000"
    timeout_seconds: float = 10.0
    rate_limit_retries: int = 2
    server_error_retries: int = 2
    connection_retries: int = 1
    retry_backoff_seconds: float = 0.5

    def sender(self) -> SlackSender | None:
        if not self.token:
            return None
        return SlackSender(
            self.token, self.base_url, timeout_seconds=self.timeout_seconds, rate_limit_retries=self.rate_limit_retries,
            server_error_retries=self.server_error_retries, connection_retries=self.connection_retries, backoff_seconds=self.retry_backoff_seconds,
        )


class FeatureFlagResource(dg.ConfigurableResource):
    """What a pause switches: `none` (record only), `webhook` (POST JSON to webhook_url) or `flagd` (write flag_file)."""

    mode: str = "none"
    webhook_url: str | None = None
    timeout_seconds: float = 10.0
    flag_file: str | None = None

    def controller(self, connect=None) -> FeatureFlagController:
        return make_controller(self.mode, self.webhook_url, self.timeout_seconds, connect=connect, flag_file=self.flag_file)


class MonitoringResource(dg.ConfigurableResource):
    """Thresholds of the health rules (meanings and defaults: exptrack_pipeline.monitoring.model.HealthConfig)."""

    srm_threshold: float = _D.srm_threshold
    srm_min_units_per_arm: int = _D.srm_min_units_per_arm
    srm_segment_min_units_per_arm: int = _D.srm_segment_min_units_per_arm
    multi_exposure_max_rate: float = _D.multi_exposure_max_rate
    traffic_trailing_days: int = _D.traffic_trailing_days
    traffic_drop_ratio: float = _D.traffic_drop_ratio
    traffic_min_trailing_units: float = _D.traffic_min_trailing_units
    freshness_max_lag_days: int | None = _D.freshness_max_lag_days
    anomaly_window_days: int = _D.anomaly_window_days
    anomaly_min_points: int = _D.anomaly_min_points
    anomaly_k: float = _D.anomaly_k
    anomaly_min_units: float = _D.anomaly_min_units
    anomaly_min_relative_change: float = _D.anomaly_min_relative_change
    significance_min_days: int = _D.significance_min_days
    significance_min_units_per_arm: int = _D.significance_min_units_per_arm
    significance_roles: list[str] = list(_D.significance_roles)
    guardrail_min_units_per_arm: int = _D.guardrail_min_units_per_arm
    instrumentation_days: int = _D.instrumentation_days
    instrumentation_min_units_per_arm: int = _D.instrumentation_min_units_per_arm
    instrumentation_max_flip_rate: float = _D.instrumentation_max_flip_rate
    bias_alpha: float = _D.bias_alpha
    bias_min_units_per_arm: int = _D.bias_min_units_per_arm
    auto_pause_levels: list[int] = list(_D.auto_pause_levels)
    resume_grace_days: int = _D.resume_grace_days

    def config(self) -> HealthConfig:
        values = {name: getattr(self, name) for name in HealthConfig.model_fields}
        return HealthConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _verdicts_md(findings: list[Finding]) -> str:
    if not findings:
        return "_no running experiments_"
    rows = [f"| `{f.experiment_id}` | {f.status}{'' if f.alert else ' (no alert)'} | {f.summary.replace('|', '/')} |" for f in findings]
    return "| experiment | verdict | why |\n|---|---|---|\n" + "\n".join(rows)


def check_results(findings: list[Finding]) -> list[dg.AssetCheckResult]:
    """One result per rule over all experiments: fails when any experiment fails it (informational rules always pass)."""
    out = []
    for name, spec in CHECKS.items():
        mine = [f for f in findings if f.check == name]
        failing = sorted(f.experiment_id for f in mine if f.status == "fail" and f.alert)
        reached = sorted(f.experiment_id for f in mine if f.status == "reached")
        passed = spec.informational or not failing
        headline = (f"reached: {', '.join(reached)}" if reached else "reached by none") if spec.informational else (f"failing: {', '.join(failing)}" if failing else "all pass")
        out.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=passed,
                severity=dg.AssetCheckSeverity.ERROR if spec.level >= 2 else dg.AssetCheckSeverity.WARN,
                description=headline,
                metadata={
                    "verdicts": dg.MetadataValue.md(_verdicts_md(mine)),
                    "rule": dg.MetadataValue.text(spec.rule),
                    "what_to_do": dg.MetadataValue.text(spec.action),
                    "escalation": dg.MetadataValue.text(f"level {spec.level} · trigger {spec.trigger}"),
                    ("reached_experiments" if spec.informational else "failing_experiments"): dg.MetadataValue.json(reached if spec.informational else failing),
                    "numbers": dg.MetadataValue.json({f.experiment_id: {"as_of": str(f.as_of), **f.details} for f in mine}),
                },
            )
        )
    return out


@dg.asset(
    key=HEALTH,
    deps=HEALTH_DEPS,
    pool="duckdb",
    group_name="monitoring",
    kinds={"python", "duckdb"},
    check_specs=[dg.AssetCheckSpec(name, asset=HEALTH, description=spec.rule) for name, spec in CHECKS.items()],
    description="Every health rule for every running experiment on its latest data date (monitoring.health_findings); "
    "one asset check per rule, with the verdict per experiment and the numbers behind it.",
)
def experiment_health(context: dg.AssetExecutionContext, warehouse: WarehouseResource, monitoring: MonitoringResource) -> dg.MaterializeResult:
    inputs, findings = evaluate_health(warehouse.connect, monitoring.config(), today=dt.date.today())
    triggered = [f for f in findings if f.triggered]
    for f in triggered:
        context.log.info(f"{f.experiment_id} · {f.check}: {f.summary}")
    return dg.MaterializeResult(
        metadata={
            "experiments": dg.MetadataValue.int(len(inputs.experiments)),
            "data_through": dg.MetadataValue.text(str(inputs.data_through)),
            "triggered": dg.MetadataValue.int(len(triggered)),
            "triggered_findings": dg.MetadataValue.md(_verdicts_md(triggered)),
        },
        check_results=check_results(findings),
    )


def _outcome_metadata(outcome: AlertingOutcome, outbox: pd.DataFrame) -> dict[str, dg.MetadataValue]:
    d = outcome.delivery
    meta = {
        "sent": dg.MetadataValue.int(d.sent), "dry_run": dg.MetadataValue.int(d.dry_run), "failed": dg.MetadataValue.int(d.failed),
        "undelivered_after": dg.MetadataValue.int(d.undelivered_after),
        "outbox": dg.MetadataValue.md(outbox.head(50).to_markdown(index=False) if not outbox.empty else "_empty_"),
    }
    if outcome.raised is not None:
        meta["new_alerts"] = dg.MetadataValue.int(len(outcome.raised.new_alert_ids))
        meta["paused"] = dg.MetadataValue.json([p.experiment_id for p in outcome.raised.pauses])
    return meta


def _alerting(warehouse: WarehouseResource, registry: RegistryResource, slack: SlackResource, feature_flags: FeatureFlagResource,
              monitoring: MonitoringResource, findings: list[Finding] | None, log) -> AlertingOutcome:
    return run_alerting(
        warehouse.connect, findings, contacts_from_registry(registry.load()), monitoring.config(),
        leadership_channel=slack.leadership_channel, controller=feature_flags.controller(warehouse.connect), sender=slack.sender(),
        dagster_url=slack.dagster_url, log=log,
    )


@dg.asset(
    key=ALERTS,
    deps=[HEALTH],
    pool="duckdb",
    group_name="monitoring",
    kinds={"python", "duckdb", "slack"},
    description="Alerts from the health verdicts into alerts.outbox (exactly once per experiment × trigger × day), automatic "
    "pauses (state.experiment_status_events + feature-flag controller), and Slack delivery (dry run without SLACK_BOT_TOKEN).",
)
def experiment_alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, registry: RegistryResource, slack: SlackResource,
                      feature_flags: FeatureFlagResource, monitoring: MonitoringResource) -> dg.MaterializeResult:
    def log(message: str) -> None:
        context.log.info(message)
        if message.startswith("DRY RUN"):
            print(message)

    outcome = _alerting(warehouse, registry, slack, feature_flags, monitoring, latest_findings(warehouse.connect), log)
    if outcome.delivery.failed:
        context.log.warning(f"{outcome.delivery.failed} alert(s) not delivered; the health_alert_sensor retries them")
    with warehouse.connect() as con:
        table = list_outbox(con)
    return dg.MaterializeResult(metadata=_outcome_metadata(outcome, table))


_BUSY = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING)


def _latest_storage_id(instance: dg.DagsterInstance, key: str) -> int:
    records = instance.fetch_materializations(dg.AssetKey(key), limit=1).records
    return int(records[0].storage_id) if records else -1


@dg.sensor(
    name="health_alert_sensor",
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After new health results: raise their alerts (if experiment_alerts did not) and deliver every alert Slack has not "
    "taken yet. Skips while a run is in progress (DuckDB has one writer).",
)
def health_alert_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource, registry: RegistryResource, slack: SlackResource,
                        feature_flags: FeatureFlagResource, monitoring: MonitoringResource) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    health_id, alerts_id = _latest_storage_id(context.instance, HEALTH), _latest_storage_id(context.instance, ALERTS)
    evaluate = health_id > cursor.get("health", -1) and health_id > alerts_id
    news = health_id > cursor.get("health", -1) or alerts_id > cursor.get("alerts", -1)
    if not (evaluate or news or cursor.get("undelivered", 0) > 0):
        return dg.SensorResult(skip_reason="no new health results and nothing left to deliver")
    if context.instance.get_run_records(filters=dg.RunsFilter(statuses=list(_BUSY)), limit=1):
        return dg.SensorResult(skip_reason="a run is in progress (DuckDB has one writer): trying again on the next tick")
    try:
        findings = latest_findings(warehouse.connect) if evaluate else None
        outcome = _alerting(warehouse, registry, slack, feature_flags, monitoring, findings, context.log.info)
    except WarehouseBusy as exc:
        return dg.SensorResult(skip_reason=str(exc))
    except Exception as exc:
        if is_lock_error(exc):
            return dg.SensorResult(skip_reason="the warehouse is locked by another process: trying again on the next tick")
        raise
    d = outcome.delivery
    new = len(outcome.raised.new_alert_ids) if outcome.raised else 0
    summary = f"{new} new alert(s); sent {d.sent}, dry run {d.dry_run}, failed {d.failed}; {d.undelivered_after} waiting for a later tick"
    context.log.info(summary)
    state = {"health": max(health_id, cursor.get("health", -1)), "alerts": max(alerts_id, cursor.get("alerts", -1)), "undelivered": d.undelivered_after}
    return dg.SensorResult(skip_reason=summary, cursor=json.dumps(state))


@dg.run_failure_sensor(
    name="pipeline_failure_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts every failed run to the data-engineering Slack channel (dry run without SLACK_BOT_TOKEN).",
)
def pipeline_failure_sensor(context: dg.RunFailureSensorContext, slack: SlackResource) -> None:
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


monitoring_job = dg.define_asset_job(
    "monitoring_job", selection=dg.AssetSelection.assets(HEALTH, ALERTS),
    description="Re-run the health checks and alerting on the warehouse as it is (no ingestion, no dbt).",
)


def build(settings: Settings) -> dg.Definitions:
    """Definitions merged into the project's one Definitions object; must not redefine core resources."""
    env = MonitoringEnv.from_env()
    return dg.Definitions(
        assets=[experiment_health, experiment_alerts],
        jobs=[monitoring_job],
        sensors=[health_alert_sensor, pipeline_failure_sensor],
        resources={
            "slack": SlackResource(
                token=dg.EnvVar(TOKEN_VAR) if os.environ.get(TOKEN_VAR) else None, base_url=env.slack_api_url,
                leadership_channel=env.leadership_channel, data_engineering_channel=env.data_engineering_channel, dagster_url=env.dagster_url,
            ),
            "feature_flags": FeatureFlagResource(mode=env.flag_controller, webhook_url=env.flag_webhook_url,
                                                 flag_file=str(flag_file_path(settings))),
            "monitoring": MonitoringResource(),
        },
    )
