"""The monitoring flow shared by the Dagster assets, the sensor and the CLI:

1. :func:`evaluate_health` — read the warehouse, run every rule, store the verdicts (monitoring.health_findings);
2. :func:`raise_alerts` — in ONE transaction: plan alerts for effectively running experiments, record automatic
   pauses (state.experiment_status_events) and enqueue the alerts (alerts.outbox, unique keys);
3. :func:`sync_flags` (notify.state) — tell the feature-flag controller about pauses not yet applied;
4. :func:`deliver_pending` — claim, post to Slack (or log a dry run without a token), record the outcome.

Every step opens short connections and holds none during HTTP calls.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from exptrack_pipeline.monitoring import (
    Alert,
    Contacts,
    Finding,
    HealthConfig,
    PauseDecision,
    evaluate,
    plan_alerts,
    plan_pauses,
)
from exptrack_pipeline.monitoring.blocks import render
from exptrack_pipeline.monitoring.inputs import HealthInputs
from exptrack_pipeline.monitoring.model import LEVEL_NAMES
from exptrack_pipeline.notify import outbox
from exptrack_pipeline.notify.health_data import load_inputs
from exptrack_pipeline.notify.slack import DeliveryError, SlackSender
from exptrack_pipeline.notify.state import (
    RAMP_STOP_PREFIX,
    last_resume_data_dates,
    latest_events,
    monitored_statuses,
    now_utc,
    record_event,
    sync_flags,
)
from exptrack_pipeline.warehouse import Connect
from exptrack_pipeline.warehouse.schema import ensure_tables

AUTOMATIC_ACTOR = "exptrack"


def evaluate_health(
    connect: Connect, cfg: HealthConfig, today: dt.date | None = None
) -> tuple[HealthInputs, list[Finding]]:
    """Run every rule and store the verdicts (replacing the verdict per experiment × check × as-of date)."""
    inputs = load_inputs(connect, today)
    findings = evaluate(inputs, cfg)
    frame = pd.DataFrame(
        [
            {
                "experiment_id": f.experiment_id,
                "check_name": f.check,
                "as_of": f.as_of,
                "status": f.status,
                "level": f.level,
                "trigger": f.trigger,
                "triggered": f.triggered,
                "event_date": f.event_date,
                "summary": f.summary,
                "details_json": json.dumps(f.details, default=outbox._json_default),
                "evaluated_at": now_utc(),
            }
            for f in findings
        ],
        columns=[
            "experiment_id",
            "check_name",
            "as_of",
            "status",
            "level",
            "trigger",
            "triggered",
            "event_date",
            "summary",
            "details_json",
            "evaluated_at",
        ],
    )
    with connect() as con:
        ensure_tables(con)
        if not frame.empty:
            con.register("_findings", frame)
            typed = {
                "as_of": "cast(as_of as date)",
                "event_date": "cast(event_date as date)",
                "evaluated_at": "cast(evaluated_at as timestamp)",
            }
            con.execute("begin transaction")
            con.execute(
                "delete from monitoring.health_findings h where exists (select 1 from _findings f where "
                "f.experiment_id = h.experiment_id "
                "and f.check_name = h.check_name and cast(f.as_of as date) = h.as_of)"
            )
            con.execute(
                f"insert into monitoring.health_findings ({', '.join(frame.columns)}) "
                f"select {', '.join(typed.get(c, c) for c in frame.columns)} from _findings"
            )
            con.execute("commit")
            con.unregister("_findings")
    return inputs, findings


def latest_findings(connect: Connect) -> list[Finding]:
    """The stored verdicts of each experiment's latest as-of date."""
    with connect() as con:
        ensure_tables(con)
        rows = con.execute(
            """
            select * from monitoring.health_findings f
            where as_of = (select max(as_of) from monitoring.health_findings g where g.experiment_id = f.experiment_id)
            """
        ).df()
    out = []
    for r in rows.itertuples():
        event = None if pd.isna(r.event_date) else pd.Timestamp(r.event_date).date()
        alert = (
            bool(r.triggered) if r.status in ("fail", "reached") else True
        )  # a stored fail that did not alert had alert=False
        out.append(
            Finding(
                r.experiment_id,
                r.check_name,
                r.status,
                pd.Timestamp(r.as_of).date(),
                r.summary,
                event,
                json.loads(r.details_json),
                alert,
            )
        )
    return out


@dataclass
class RaiseReport:
    """What raising alerts did: alerts, the new ones, pauses and why some were not paused."""

    alerts: list[Alert] = field(default_factory=list)
    new_alert_ids: list[str] = field(default_factory=list)
    pauses: list[PauseDecision] = field(default_factory=list)
    not_paused: dict[str, str] = field(default_factory=dict)


def raise_alerts(
    connect: Connect,
    findings: list[Finding],
    contacts: dict[str, Contacts],
    cfg: HealthConfig,
    leadership_channel: str,
    flag_controller: str,
) -> RaiseReport:
    """Plan alerts and pauses and write both in one transaction (idempotent: re-running adds nothing)."""
    with connect() as con:
        ensure_tables(con)
        con.execute("begin transaction")
        status = monitored_statuses(con)
        announced = {
            (e, t) for e, t in con.execute("select distinct experiment_id, trigger from alerts.outbox").fetchall()
        }
        alerts = plan_alerts(findings, contacts, status, cfg, leadership_channel, announced)
        pauses, not_paused = plan_pauses(alerts, last_resume_data_dates(con), cfg)
        for p in pauses:  # a pause of a ship ramp stops it: the flag goes back to control (flags.desired)
            reason = f"{RAMP_STOP_PREFIX}{p.reason}"[:2000] if status.get(p.experiment_id) == "ship_ramp" else p.reason
            record_event(
                con,
                experiment_id=p.experiment_id,
                status="paused",
                reason=reason,
                actor=AUTOMATIC_ACTOR,
                source="automatic",
                trigger=p.trigger,
                level=p.level,
                alert_key=p.alert_key,
                data_date=p.data_date,
                flag_controller=flag_controller,
            )
        new = outbox.enqueue(con, alerts, not_paused)
        con.execute("commit")
    return RaiseReport(alerts=alerts, new_alert_ids=new, pauses=pauses, not_paused=not_paused)


def status_note(experiment_id: str, latest: pd.DataFrame, stored_note: str | None) -> str | None:
    """What the message says about the experiment's status: paused (by whom, flag outcome) or why not."""
    if stored_note:
        return f":arrow_forward: {stored_note}."
    if experiment_id not in latest.index:
        return None
    ev = latest.loc[experiment_id]
    if ev["status"] != "paused":
        return None
    flag = {
        "ok": "switched off",
        "skipped": "NOT switched (no controller): switch it off by hand",
        "failed": "switch FAILED, exptrack retries: switch it off by hand now",
        "pending": "being switched off",
    }.get(ev["flag_status"], str(ev["flag_status"]))
    if ev["flag_status"] == "ok" and isinstance(ev.get("flag_detail"), str):
        flag = f"switched: {ev['flag_detail']}"
    who = "automatically by exptrack" if ev["source"] == "automatic" else f"by {ev['actor']}"
    level = f" ({LEVEL_NAMES.get(int(ev['level']), '')})" if pd.notna(ev["level"]) else ""
    if str(ev["reason"]).startswith(RAMP_STOP_PREFIX):
        return (
            f":double_vertical_bar: *Ship ramp stopped {who}*{level} at "
            f"{pd.Timestamp(ev['changed_at']):%Y-%m-%d %H:%M} UTC; feature flag {flag}. "
            f"Every unit gets control until a person decides again (`exptrack decide {experiment_id} ship "
            "VARIANT` restarts the ramp)."
        )
    return (
        f":double_vertical_bar: *Paused {who}*{level} at {pd.Timestamp(ev['changed_at']):%Y-%m-%d %H:%M} UTC; "
        f"feature flag {flag}. "
        f'Resume after a fix with `exptrack resume {experiment_id} --reason "…" --actor @you`.'
    )


@dataclass
class DeliveryReport:
    """Delivery counts: sent, failed, dry run, skipped, stale claims released and left undelivered."""

    sent: int = 0
    failed: int = 0
    dry_run: int = 0
    skipped: int = 0
    released_stale: int = 0
    undelivered_after: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_pending(
    connect: Connect,
    sender: SlackSender | None,
    dagster_url: str,
    log: Callable[[str], None] = print,
    stale_after: dt.timedelta = dt.timedelta(minutes=15),
    limit: int = 200,
) -> DeliveryReport:
    """Deliver every deliverable outbox row once; without a sender, log each pending alert once as a dry run.

    When Slack is unavailable (down, 5xx or 429 after the retries), the remaining rows are left as they are for a later
    tick.
    """
    report = DeliveryReport()
    with connect() as con:
        ensure_tables(con)
        if sender is not None:
            report.released_stale = outbox.release_stale(con, stale_after)
        rows = outbox.deliverable(con, with_token=sender is not None, limit=limit)
        latest = latest_events(con).set_index("experiment_id")
    for row in rows.itertuples():
        alert = outbox.row_to_alert(row)
        text, blocks = render(alert, dagster_url, status_note(alert.experiment_id, latest, row.auto_pause_note))
        if sender is None:
            with connect() as con:
                if outbox.mark_dry_run(con, row.alert_id, text, blocks):
                    report.dry_run += 1
                    log(f"DRY RUN (no SLACK_BOT_TOKEN) to {row.destination}: {text}")
            continue
        with connect() as con:
            claimed = outbox.claim(con, row.alert_id)
        if not claimed:
            report.skipped += 1
            continue
        try:
            posted = sender.post(
                row.destination,
                text,
                blocks,
                metadata={"event_type": "exptrack_alert", "event_payload": {"alert_id": row.alert_id}},
            )
        except DeliveryError as exc:
            with connect() as con:
                outbox.mark_failed(con, row.alert_id, str(exc))
            report.failed += 1
            report.errors.append(str(exc))
            log(f"alert {row.alert_id} not delivered, will retry: {exc}")
            if exc.unavailable:
                break
            continue
        with connect() as con:
            outbox.mark_sent(con, row.alert_id, posted.ts, posted.channel_id, text, blocks)
        report.sent += 1
    with connect() as con:
        report.undelivered_after = outbox.count_undelivered(con)
    return report


def contacts_from_registry(registry: object) -> dict[str, Contacts]:
    """experiment_id → Contacts from a loaded exptrack_pipeline.config.Registry."""
    return {e.id: Contacts.from_experiment(e) for e in registry.experiments}  # type: ignore[attr-defined]


@dataclass
class AlertingOutcome:
    """One alerting pass: what was raised, the flag results and the delivery."""

    raised: RaiseReport | None
    flags: list
    delivery: DeliveryReport


def run_alerting(
    connect: Connect,
    findings: list[Finding] | None,
    contacts: dict[str, Contacts],
    cfg: HealthConfig,
    *,
    leadership_channel: str,
    controller: object,
    sender: SlackSender | None,
    dagster_url: str,
    log: Callable[[str], None] = print,
) -> AlertingOutcome:
    """Steps 2–4: raise alerts from `findings` (skipped when None), apply feature flags, deliver the outbox."""
    raised = None
    if findings is not None:
        raised = raise_alerts(connect, findings, contacts, cfg, leadership_channel, getattr(controller, "name", "none"))
        for p in raised.pauses:
            log(f"{p.experiment_id} paused automatically ({LEVEL_NAMES[p.level]}, {p.trigger}): {p.reason[:300]}")
    flags = sync_flags(connect, controller)  # type: ignore[arg-type]
    for experiment_id, status, result in flags:
        log(f"feature flag of {experiment_id} → {status}: {result.status} ({result.detail})")
    delivery = deliver_pending(connect, sender, dagster_url, log)
    return AlertingOutcome(raised, flags, delivery)
