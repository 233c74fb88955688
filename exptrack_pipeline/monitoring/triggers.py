"""From findings to alerts: who hears about what (routing), which experiment pauses, and the exactly-once key.

Rules (docs/monitoring.md):

* Only experiments whose *effective* status is running get alerts (a paused experiment was already escalated),
  and a shipped variant still ramping up (status `ship_ramp`) for its guardrails (model.SHIP_RAMP_CHECKS): an
  auto-pausing level stops the ramp (the flag goes back to control).
* One alert per experiment × trigger × event date; its key `experiment:trigger:date` is unique in the outbox,
  so evaluating the same day again never sends twice. Problems use the as-of date (re-alerted daily while they
  last and the experiment runs); milestones use the date they were first reached (announced once).
* Recipients per level come from the experiment YAML (`alerting.level_N`), else the defaults: level 1 → owner;
  level 2 → owner + pm; level 3 → owner + pm + the leadership channel. Informational triggers go to the
  experiment's slack_channel. Messages go to every channel among the recipients; people are @-mentioned, in the
  experiment's slack_channel when no channel was listed.
* Levels in `auto_pause_levels` (default 2 and 3) pause the experiment, unless a person resumed it recently
  (`resume_grace_days` after the data date of the resume).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from exptrack_pipeline.config.experiments import AlertRouting
from exptrack_pipeline.monitoring.model import CHECKS, LEVEL_NAMES, SHIP_RAMP_CHECKS, TITLES, Finding, HealthConfig


@dataclass(frozen=True)
class Contacts:
    """Who owns an experiment and where it is discussed (from its YAML)."""

    owner: str
    pm: str | None
    slack_channel: str
    alerting: AlertRouting = field(default_factory=AlertRouting)

    @classmethod
    def from_experiment(cls, experiment: Any) -> Contacts:
        """From an exptrack_pipeline.config.Experiment."""
        return cls(
            owner=experiment.owner,
            pm=experiment.pm,
            slack_channel=experiment.slack_channel,
            alerting=experiment.alerting,
        )


@dataclass(frozen=True)
class Alert:
    """One alert: what happened to which experiment, how bad, and who hears about it."""

    key: str
    experiment_id: str
    trigger: str
    check: str
    level: int
    alert_date: dt.date
    as_of: dt.date
    title: str
    summary: str
    action: str
    recipients: tuple[str, ...]
    destinations: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)
    auto_pause: bool = False

    @property
    def mentions(self) -> tuple[str, ...]:
        """The recipients that are people (not channels), to mention in the message."""
        return tuple(r for r in self.recipients if not is_channel(r))


@dataclass(frozen=True)
class PauseDecision:
    """An automatic pause to record for one experiment (the highest-level pausing alert names it)."""

    experiment_id: str
    trigger: str
    level: int
    alert_key: str
    data_date: dt.date
    reason: str


def alert_key(experiment_id: str, trigger: str, day: dt.date) -> str:
    """The exactly-once key: the same trigger for the same experiment and day is one alert."""
    return f"{experiment_id}:{trigger}:{day.isoformat()}"


def is_channel(recipient: str) -> bool:
    """'#name' or a channel id (C…/G…); '@name' and user ids (U…/W…) are people."""
    return recipient.startswith("#") or (
        recipient[:1] in {"C", "G"} and recipient[1:].isalnum() and recipient.isupper()
    )


def recipients_for(level: int, contacts: Contacts, leadership_channel: str) -> tuple[str, ...]:
    """Recipients of an alert of `level` for one experiment (YAML routing first, then the global defaults)."""
    if level == 0:
        return (contacts.slack_channel,)
    configured = {1: contacts.alerting.level_1, 2: contacts.alerting.level_2, 3: contacts.alerting.level_3}[level]
    if configured:
        return tuple(dict.fromkeys(configured))
    pm = [contacts.pm] if contacts.pm else []
    default = {1: [contacts.owner], 2: [contacts.owner, *pm], 3: [contacts.owner, *pm, leadership_channel]}[level]
    return tuple(dict.fromkeys(default))


def destinations_for(recipients: tuple[str, ...], contacts: Contacts) -> tuple[str, ...]:
    """Channels the message is posted to: every channel recipient, plus the experiment channel when people are
    mentioned."""
    channels = [r for r in recipients if is_channel(r)]
    if any(not is_channel(r) for r in recipients) and contacts.slack_channel not in channels:
        channels.insert(0, contacts.slack_channel)
    return tuple(dict.fromkeys(channels))


def plan_alerts(
    findings: list[Finding],
    contacts: dict[str, Contacts],
    effective_status: dict[str, str],
    cfg: HealthConfig,
    leadership_channel: str,
    announced: set[tuple[str, str]] | None = None,
) -> list[Alert]:
    """One alert per triggered finding of an effectively running experiment.

    A per-segment SRM is folded into the overall SRM alert when both fire on the same day. Milestones marked
    `once_per_experiment` are skipped when (experiment, trigger) is in `announced` (their date can shift as the
    baseline moves). Experiments missing from `contacts` (no YAML any more) are skipped.
    """
    announced = announced or set()
    alerts: list[Alert] = []
    failing = {(f.experiment_id, f.check) for f in findings if f.triggered}
    for f in findings:
        status = effective_status.get(f.experiment_id)
        watched = status == "running" or (status == "ship_ramp" and f.check in SHIP_RAMP_CHECKS)
        if not f.triggered or not watched or f.experiment_id not in contacts:
            continue
        if f.check == "srm_segments" and (f.experiment_id, "srm") in failing:
            continue
        who = contacts[f.experiment_id]
        spec = CHECKS[f.check]
        if spec.once_per_experiment and (f.experiment_id, spec.trigger) in announced:
            continue
        recipients = recipients_for(spec.level, who, leadership_channel)
        day = f.event_date or f.as_of
        alerts.append(
            Alert(
                key=alert_key(f.experiment_id, spec.trigger, day),
                experiment_id=f.experiment_id,
                trigger=spec.trigger,
                check=f.check,
                level=spec.level,
                alert_date=day,
                as_of=f.as_of,
                title=f"{f.experiment_id}: {TITLES[f.check]}",
                summary=f.summary,
                action=spec.action,
                recipients=recipients,
                destinations=destinations_for(recipients, who),
                details=f.details,
                auto_pause=spec.level in cfg.auto_pause_levels,
            )
        )
    return sorted(alerts, key=lambda a: (-a.level, a.experiment_id, a.trigger))


def plan_pauses(
    alerts: list[Alert], last_resume_data_date: dict[str, dt.date | None], cfg: HealthConfig
) -> tuple[list[PauseDecision], dict[str, str]]:
    """Automatic pauses (one per experiment) and, per alert key, why an auto-pausing alert did not pause.

    A person's resume wins for `resume_grace_days` days of data after the resume's data date.
    """
    decisions: dict[str, PauseDecision] = {}
    suppressed: dict[str, str] = {}
    reasons: dict[str, list[str]] = {}
    for a in sorted(alerts, key=lambda a: -a.level):
        if not a.auto_pause:
            continue
        resumed = last_resume_data_date.get(a.experiment_id)
        if resumed is not None and a.alert_date <= resumed + dt.timedelta(days=cfg.resume_grace_days):
            suppressed[a.key] = (
                f"not paused automatically: a person resumed it (data through {resumed}); "
                f"automatic pauses resume after {resumed + dt.timedelta(days=cfg.resume_grace_days)}"
            )
            continue
        reasons.setdefault(a.experiment_id, []).append(f"{LEVEL_NAMES[a.level]}: {a.summary}")
        if a.experiment_id not in decisions:
            decisions[a.experiment_id] = PauseDecision(a.experiment_id, a.trigger, a.level, a.key, a.as_of, "")
    out = []
    for exp_id, d in decisions.items():
        reason = " | ".join(reasons[exp_id])
        out.append(PauseDecision(d.experiment_id, d.trigger, d.level, d.alert_key, d.data_date, reason[:2000]))
    return out, suppressed
