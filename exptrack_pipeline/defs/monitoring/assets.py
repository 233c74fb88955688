"""experiment_health (every health rule, one asset check per rule) and experiment_alerts (outbox, automatic pauses,
feature flags, Slack delivery). Rules: exptrack_pipeline.monitoring; warehouse side: exptrack_pipeline.notify;
the sensors that re-deliver and post run failures: sensors.py. A failed asset check does not fail the run, so
run-failure sensors never see health problems: hence the health_alert_sensor.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from exptrack_pipeline.defs.resources import (
    FeatureFlagResource,
    MonitoringResource,
    RegistryResource,
    SlackResource,
    WarehouseResource,
)
from exptrack_pipeline.monitoring import CHECKS, Finding
from exptrack_pipeline.notify.outbox import list_outbox
from exptrack_pipeline.notify.service import (
    AlertingOutcome,
    contacts_from_registry,
    evaluate_health,
    latest_findings,
    run_alerting,
)
from exptrack_pipeline.warehouse.targets import writer_pool

HEALTH = "experiment_health"
ALERTS = "experiment_alerts"
HEALTH_DEPS = [
    "experiment_results",
    "fct_daily_exposures",
    "fct_segment_exposures",
    "dim_experiment_exposure_quality",
    "fct_variant_metric_stats",
    "mon_experiment_daily_activity",
    "mon_variant_metric_daily",
    "dim_experiment_status",
    "fct_unmatched_exposures",
    "lifecycle_novelty_stats",
    "lifecycle_interaction_stats",
]


def _verdicts_md(findings: list[Finding]) -> str:
    if not findings:
        return "_no running experiments_"
    rows = [
        f"| `{f.experiment_id}` | {f.status}{'' if f.alert else ' (no alert)'} | {f.summary.replace('|', '/')} |"
        for f in findings
    ]
    return "| experiment | verdict | why |\n|---|---|---|\n" + "\n".join(rows)


def check_results(findings: list[Finding]) -> list[dg.AssetCheckResult]:
    """One result per rule over all experiments: fails when any experiment fails it (informational rules always
    pass)."""
    out = []
    for name, spec in CHECKS.items():
        mine = [f for f in findings if f.check == name]
        failing = sorted(f.experiment_id for f in mine if f.status == "fail" and f.alert)
        reached = sorted(f.experiment_id for f in mine if f.status == "reached")
        passed = spec.informational or not failing
        headline = (
            (f"reached: {', '.join(reached)}" if reached else "reached by none")
            if spec.informational
            else (f"failing: {', '.join(failing)}" if failing else "all pass")
        )
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
                    ("reached_experiments" if spec.informational else "failing_experiments"): dg.MetadataValue.json(
                        reached if spec.informational else failing
                    ),
                    "numbers": dg.MetadataValue.json(
                        {f.experiment_id: {"as_of": str(f.as_of), **f.details} for f in mine}
                    ),
                },
            )
        )
    return out


@dg.asset(
    key=HEALTH,
    deps=HEALTH_DEPS,
    pool=writer_pool(),
    group_name="monitoring",
    kinds={"python", "duckdb"},
    check_specs=[dg.AssetCheckSpec(name, asset=HEALTH, description=spec.rule) for name, spec in CHECKS.items()],
    description="Every health rule for every running experiment on its latest data date (monitoring.health_findings); "
    "one asset check per rule, with the verdict per experiment and the numbers behind it.",
)
def experiment_health(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, monitoring: MonitoringResource
) -> dg.MaterializeResult:
    """Evaluate every health check of every running experiment and store the findings."""
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
        "sent": dg.MetadataValue.int(d.sent),
        "dry_run": dg.MetadataValue.int(d.dry_run),
        "failed": dg.MetadataValue.int(d.failed),
        "undelivered_after": dg.MetadataValue.int(d.undelivered_after),
        "outbox": dg.MetadataValue.md(outbox.head(50).to_markdown(index=False) if not outbox.empty else "_empty_"),
    }
    if outcome.raised is not None:
        meta["new_alerts"] = dg.MetadataValue.int(len(outcome.raised.new_alert_ids))
        meta["paused"] = dg.MetadataValue.json([p.experiment_id for p in outcome.raised.pauses])
    return meta


def alerting(
    warehouse: WarehouseResource,
    registry: RegistryResource,
    slack: SlackResource,
    feature_flags: FeatureFlagResource,
    monitoring: MonitoringResource,
    findings: list[Finding] | None,
    log,
) -> AlertingOutcome:
    """Raise alerts from `findings` (None: only deliver what is pending), pause, switch flags, deliver to Slack."""
    return run_alerting(
        warehouse.connect,
        findings,
        contacts_from_registry(registry.load()),
        monitoring.config(),
        leadership_channel=slack.leadership_channel,
        controller=feature_flags.controller(warehouse.connect),
        sender=slack.sender(),
        dagster_url=slack.dagster_url,
        log=log,
    )


@dg.asset(
    key=ALERTS,
    deps=[HEALTH],
    pool=writer_pool(),
    group_name="monitoring",
    kinds={"python", "duckdb", "slack"},
    description="Alerts from the health verdicts into alerts.outbox (exactly once per experiment × trigger × day), "
    "automatic "
    "pauses (state.experiment_status_events + feature-flag controller), and Slack delivery (dry run without "
    "SLACK_BOT_TOKEN).",
)
def experiment_alerts(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    registry: RegistryResource,
    slack: SlackResource,
    feature_flags: FeatureFlagResource,
    monitoring: MonitoringResource,
) -> dg.MaterializeResult:
    """Raise the alerts of the latest findings, pause harmful experiments and deliver to Slack."""

    def log(message: str) -> None:
        context.log.info(message)
        if message.startswith("DRY RUN"):
            print(message)

    outcome = alerting(warehouse, registry, slack, feature_flags, monitoring, latest_findings(warehouse.connect), log)
    if outcome.delivery.failed:
        context.log.warning(f"{outcome.delivery.failed} alert(s) not delivered; the health_alert_sensor retries them")
    with warehouse.connect() as con:
        table = list_outbox(con)
    return dg.MaterializeResult(metadata=_outcome_metadata(outcome, table))
