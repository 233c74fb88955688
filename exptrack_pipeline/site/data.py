"""Everything the dashboard shows, read once from an open warehouse connection (no Dagster). Tables another feature
has not built read as empty frames, so a page says "no data" instead of failing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from exptrack_pipeline.config import Experiment, Registry
from exptrack_pipeline.lifecycle import inputs, portfolio, store
from exptrack_pipeline.site import learnings

HEALTH_FINDINGS = "monitoring.health_findings"
OUTBOX = "alerts.outbox"
STATUS_EVENTS = "state.experiment_status_events"


@dataclass
class SiteData:
    """Everything the site's pages are built from, read once from the warehouse."""

    experiments: list[Experiment]
    today: dt.date
    frame: pd.DataFrame  # portfolio.experiment_frame: design fields + effective status
    events: pd.DataFrame  # lifecycle + monitoring status events (store.all_events)
    outcomes: pd.DataFrame  # launch_and_decision + rationale
    results: pd.DataFrame  # experiment_results, every analysis date
    retention: pd.DataFrame
    cohorts: pd.DataFrame
    segments: pd.DataFrame
    findings: pd.DataFrame  # monitoring.health_findings, every as-of date
    alerts: pd.DataFrame  # alerts.outbox
    status_events: pd.DataFrame  # state.experiment_status_events: pauses/resumes with the feature-flag outcome
    learnings: pd.DataFrame
    daily_units: dict[str, float]

    @property
    def data_through(self) -> dt.date | None:
        """The latest analysis date with results, None without results."""
        return pd.Timestamp(self.results["analysis_date"].max()).date() if not self.results.empty else None

    def of(self, name: str, experiment_id: str) -> pd.DataFrame:
        """The rows of frame `name` for one experiment."""
        frame: pd.DataFrame = getattr(self, name)
        return frame[frame["experiment_id"] == experiment_id] if not frame.empty else frame

    def status(self, experiment_id: str) -> str:
        """The experiment's effective status ("unknown" when it has none)."""
        rows = self.frame[self.frame["experiment_id"] == experiment_id]
        return str(rows["status"].iloc[0]) if not rows.empty else "unknown"


def load(con, registry: Registry, today: dt.date | None = None) -> SiteData:
    """Read the registry's experiments' results, health, alerts, lifecycle history and learnings."""
    experiments = list(registry.experiments)
    events = store.all_events(con)
    statuses = store.effective_statuses({e.id: e.status for e in experiments}, events)
    frame = portfolio.experiment_frame(experiments, statuses)
    outcomes = (
        portfolio.launch_and_decision(frame, events)
        if not frame.empty
        else pd.DataFrame(columns=["experiment_id", "decision"])
    )
    decisions = store.latest_decisions(events)[["experiment_id", "rationale", "decided_by"]]
    outcomes = outcomes.merge(decisions, on="experiment_id", how="left")
    findings = inputs.optional_table(con, HEALTH_FINDINGS)
    alerts = inputs.optional_table(con, OUTBOX)
    return SiteData(
        experiments=experiments,
        today=today or dt.datetime.now(dt.UTC).date(),
        frame=frame,
        events=events,
        outcomes=outcomes,
        results=inputs.optional_table(con, "main.experiment_results"),
        retention=inputs.optional_table(con, "main.retention_results"),
        cohorts=inputs.optional_table(con, "main.fct_retention_cohorts"),
        segments=inputs.optional_table(con, "main.segment_results"),
        findings=findings.sort_values(["experiment_id", "as_of", "check_name"]) if not findings.empty else findings,
        alerts=alerts.sort_values(["experiment_id", "created_at"]) if not alerts.empty else alerts,
        status_events=inputs.optional_table(con, STATUS_EVENTS),
        learnings=learnings.read(con),
        daily_units=inputs.daily_units(con),
    )
