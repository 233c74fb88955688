"""Experiment pauses and resumes: the state.experiment_status_events log and the effective status.

The experiment YAML stays the user's. exptrack records a pause (automatic, or `exptrack pause`) or a resume
(`exptrack resume`) as an event; the *effective* status is the registry status, overridden by the latest event
while the registry says running or paused (a registry status of concluded/archived/backlog/scheduled wins:
the user moved on), and so does a lifecycle move or decision recorded by `exptrack decide` / `exptrack move`
(see `effective_statuses`). dbt's `dim_experiment_status` applies the rule to the registry and these events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from exptrack_pipeline.flags import store as flag_store
from exptrack_pipeline.flags.plan import plan_changes
from exptrack_pipeline.lifecycle import store
from exptrack_pipeline.notify.flags import FeatureFlagController, FlagResult
from exptrack_pipeline.warehouse import Connect
from exptrack_pipeline.warehouse.schema import ensure_tables

OVERRIDABLE = ("running", "paused")


def effective_status(registry_status: str, latest_event_status: str | None) -> str:
    """The status exptrack acts on: the latest pause/resume event when the registry says running or paused."""
    if registry_status in OVERRIDABLE and latest_event_status in OVERRIDABLE:
        return str(latest_event_status)
    return registry_status


def now_utc() -> dt.datetime:
    """Now in UTC, naive (as the warehouse stores timestamps)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def latest_events(con) -> pd.DataFrame:
    """The latest status event per experiment."""
    return con.execute(
        """
        select * from state.experiment_status_events e
        where not exists (
            select 1 from state.experiment_status_events later
            where later.experiment_id = e.experiment_id
              and (later.changed_at > e.changed_at or (later.changed_at = e.changed_at and later.event_seq >
                  e.event_seq))
        )
        """
    ).df()


def effective_statuses(con) -> dict[str, str]:
    """experiment_id → effective status for every experiment in registry.experiments.

    One rule for the whole project: exptrack_pipeline.lifecycle.store.effective_statuses over both logs — people's
    lifecycle moves and decisions (state.lifecycle_events: a concluded experiment is no longer monitored) and the
    pauses/resumes here (which count only while the experiment is running or paused).
    """
    registry = dict(con.execute("select experiment_id, status from registry.experiments").fetchall())
    frame = store.effective_statuses(registry, store.all_events(con))
    return dict(zip(frame["experiment_id"], frame["status"], strict=True))


SHIP_RAMP = "ship_ramp"
RAMP_STOP_PREFIX = "ship ramp stopped: "


def monitored_statuses(con) -> dict[str, str]:
    """`effective_statuses`, with `ship_ramp` for a concluded experiment whose flag is ramping its shipped variant.

    Monitoring still judges such an experiment's guardrails (monitoring.model.SHIP_RAMP_CHECKS); a breach stops the
    ramp: an automatic `paused` event after the decision sends the flag back to control (flags.desired).
    """
    status = effective_statuses(con)
    flag_store.ensure_tables(con)
    for experiment_id in flag_store.ship_ramps_in_progress(con):
        if status.get(experiment_id) in ("concluded", "archived"):
            status[experiment_id] = SHIP_RAMP
    return status


def last_resume_data_dates(con) -> dict[str, dt.date | None]:
    """experiment_id → data date of its latest resume by a person (None when unknown), for the resume grace period."""
    rows = con.execute(
        """
        select e.experiment_id, e.data_date from state.experiment_status_events e
        where e.status = 'running' and e.source = 'person' and not exists (
            select 1 from state.experiment_status_events later
            where later.experiment_id = e.experiment_id and later.status = 'running' and later.source = 'person'
              and (later.changed_at > e.changed_at or (later.changed_at = e.changed_at and later.event_seq >
                  e.event_seq))
        )
        """
    ).fetchall()
    return dict(rows)


def record_event(
    con,
    *,
    experiment_id: str,
    status: str,
    reason: str,
    actor: str,
    source: str,
    trigger: str | None = None,
    level: int | None = None,
    alert_key: str | None = None,
    data_date: dt.date | None = None,
    flag_controller: str | None = None,
    flag_status: str = "pending",
) -> int:
    """Append one status event (inside the caller's transaction); returns its event_seq.

    Every pause or resume, whatever its reason, also records the flag change it calls for (every unit to control,
    or the allocation phase in force) in state.flag_changes in the same transaction (exptrack_pipeline.flags).
    """
    changed_at = now_utc()
    row = con.execute(
        """
        insert into state.experiment_status_events
            (experiment_id, status, reason, actor, changed_at, source, trigger, level, alert_key, data_date,
                flag_controller, flag_status)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        returning event_seq
        """,
        [
            experiment_id,
            status,
            reason,
            actor,
            changed_at,
            source,
            trigger,
            level,
            alert_key,
            data_date,
            flag_controller,
            flag_status,
        ],
    ).fetchone()
    plan_changes(
        con,
        today=changed_at.date(),
        actor=actor,
        reason=reason,
        source="monitoring" if source == "automatic" else source,
        only=[experiment_id],
        at=changed_at,
    )
    return int(row[0])


def record_flag_result(con, event_seq: int, result: FlagResult) -> None:
    """Store the flag controller's result on the status event `event_seq`."""
    con.execute(
        "update state.experiment_status_events set flag_status = ?, flag_detail = ?, flag_attempts = "
        "flag_attempts + 1 where event_seq = ?",
        [result.status, result.detail[:2000], event_seq],
    )


def sync_flags(connect: Connect, controller: FeatureFlagController) -> list[tuple[str, str, FlagResult]]:
    """Call the feature-flag controller for every experiment whose latest event's flag call is pending or failed.

    Only the latest event counts: a failed pause call is not retried after a person resumed. Returns
    (experiment_id, status, result) per call. No connection is held during the HTTP call.
    """
    with connect() as con:
        ensure_tables(con)
        todo = latest_events(con)
    todo = todo[todo["flag_status"].isin(["pending", "failed"])]
    done = []
    for row in todo.itertuples():
        result = controller.set_status(row.experiment_id, row.status, reason=row.reason, actor=row.actor)
        with connect() as con:
            record_flag_result(con, int(row.event_seq), result)
        done.append((row.experiment_id, row.status, result))
    return done


@dataclass(frozen=True)
class StatusChange:
    """Outcome of a pause/resume by a person; `ok` is False when the request itself was wrong."""

    experiment_id: str
    status: str
    changed: bool
    message: str
    flag: FlagResult | None = None
    ok: bool = True


def set_status_by_person(
    connect: Connect, controller: FeatureFlagController, experiment_id: str, status: str, reason: str, actor: str
) -> StatusChange:
    """`exptrack pause` / `exptrack resume`: record the change (with the latest data date) and switch the flag."""
    with connect() as con:
        ensure_tables(con)
        registry = dict(con.execute("select experiment_id, status from registry.experiments").fetchall())
        if experiment_id not in registry:
            known = ", ".join(sorted(registry)) or "none"
            return StatusChange(
                experiment_id,
                status,
                False,
                f"unknown experiment {experiment_id!r} (the warehouse knows: {known}); run `exptrack run` "
                "after adding its YAML",
                ok=False,
            )
        current = effective_statuses(con)[experiment_id]
        if registry[experiment_id] not in OVERRIDABLE:
            return StatusChange(
                experiment_id,
                current,
                False,
                f"{experiment_id} is {registry[experiment_id]} in its YAML; only running or paused experiments "
                "can be paused or resumed",
                ok=False,
            )
        if current not in OVERRIDABLE:
            return StatusChange(
                experiment_id,
                current,
                False,
                f"{experiment_id} is {current} (recorded with `exptrack decide`/`move`); only running or paused "
                "experiments can be paused or resumed",
                ok=False,
            )
        if current == status:
            return StatusChange(experiment_id, current, False, f"{experiment_id} is already {status}; nothing to do")
        through = con.execute(
            "select max(exposure_date) from main.fct_daily_exposures where experiment_id = ?", [experiment_id]
        ).fetchone()[0]
        con.execute("begin transaction")
        seq = record_event(
            con,
            experiment_id=experiment_id,
            status=status,
            reason=reason,
            actor=actor,
            source="person",
            data_date=through,
            flag_controller=controller.name,
        )
        con.execute("commit")
    flag = controller.set_status(experiment_id, status, reason=reason, actor=actor)
    with connect() as con:
        record_flag_result(con, seq, flag)
    verb = "paused" if status == "paused" else "resumed"
    return StatusChange(
        experiment_id,
        status,
        True,
        f"{experiment_id} {verb} by {actor}: {reason} (feature flag: {flag.status}, {flag.detail})",
        flag,
    )
