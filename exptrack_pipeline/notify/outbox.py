"""The alert outbox (alerts.outbox): exactly-once delivery of every alert to every destination channel.

Row life cycle::

    pending ──claim──▶ sending ──Slack ok──▶ sent (slack_ts recorded)
       ▲  ▲               └──Slack failed──▶ failed-retrying ──claim──▶ sending …
       │  └─ stale claim (process died mid-send) ◀┘
       └── dry_run (no token: logged once; sent when a token is configured)

* `alert_id` = alert key (experiment:trigger:date) + "→" + destination is the primary key; inserts use
  `on conflict do nothing`, so re-evaluating a day never adds a second row.
* A claim is one conditional UPDATE (status in the deliverable set → sending) in its own transaction: of two
  deliverers, exactly one gets the row. The Slack call happens with no connection open; the outcome is
  written in a second short transaction.
* Nothing is dropped: failures go back to failed-retrying and are retried on every later tick.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd

from exptrack_pipeline.monitoring.triggers import Alert
from exptrack_pipeline.notify.state import now_utc
from exptrack_pipeline.warehouse.base import is_write_conflict

DELIVERABLE = ("pending", "failed-retrying")
DELIVERABLE_WITH_TOKEN = (*DELIVERABLE, "dry_run")


def alert_id(alert_key: str, destination: str) -> str:
    """The outbox id of one alert to one destination."""
    return f"{alert_key}→{destination}"


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def enqueue(con, alerts: list[Alert], pause_notes: dict[str, str]) -> list[str]:
    """Insert one pending row per alert × destination (inside the caller's transaction); returns the new alert ids."""
    now = now_utc()
    new: list[str] = []
    for a in alerts:
        for destination in a.destinations:
            row = con.execute(
                """
                insert into alerts.outbox (alert_id, alert_key, experiment_id, trigger, check_name, level, alert_date,
                    as_of,
                    destination, recipients, title, summary, action, details_json, auto_pause_note, status, attempts,
                    created_at, updated_at)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                on conflict do nothing
                returning alert_id
                """,
                [
                    alert_id(a.key, destination),
                    a.key,
                    a.experiment_id,
                    a.trigger,
                    a.check,
                    a.level,
                    a.alert_date,
                    a.as_of,
                    destination,
                    ",".join(a.recipients),
                    a.title,
                    a.summary,
                    a.action,
                    json.dumps(a.details, default=_json_default),
                    pause_notes.get(a.key),
                    now,
                    now,
                ],
            ).fetchone()
            if row:
                new.append(row[0])
    return new


def release_stale(con, older_than: dt.timedelta) -> int:
    """Claims older than `older_than` (the deliverer died mid-send) go back to failed-retrying."""
    cutoff = now_utc() - older_than
    rows = con.execute(
        """
        update alerts.outbox set status = 'failed-retrying', updated_at = ?,
            last_error = 'delivery outcome unknown (the deliverer stopped mid-send); sending again'
        where status = 'sending' and claimed_at < ?
        returning alert_id
        """,
        [now_utc(), cutoff],
    ).fetchall()
    return len(rows)


def deliverable(con, with_token: bool, limit: int = 200) -> pd.DataFrame:
    """Alerts to deliver now, highest level first (with a token also the failed ones)."""
    statuses = DELIVERABLE_WITH_TOKEN if with_token else ("pending",)
    marks = ", ".join("?" for _ in statuses)
    return con.execute(
        f"select * from alerts.outbox where status in ({marks}) order by level desc, created_at, alert_id "
        f"limit {int(limit)}",
        list(statuses),
    ).df()


def claim(con, alert_id_: str) -> bool:
    """Atomically move a deliverable row to `sending`; False when someone else has it (or it is done)."""
    marks = ", ".join("?" for _ in DELIVERABLE_WITH_TOKEN)
    try:
        con.execute("begin transaction")
        row = con.execute(
            f"""
            update alerts.outbox set status = 'sending', attempts = attempts + 1, claimed_at = ?, updated_at = ?
            where alert_id = ? and status in ({marks})
            returning alert_id
            """,
            [now_utc(), now_utc(), alert_id_, *DELIVERABLE_WITH_TOKEN],
        ).fetchone()
        con.execute("commit")
    except Exception as exc:
        if not is_write_conflict(exc):
            raise
        con.execute("rollback")
        return False
    return row is not None


def mark_sent(con, alert_id_: str, ts: str, channel_id: str, text: str, blocks: list[dict]) -> None:
    """Mark a claimed alert sent, with the Slack ts, channel and the message posted."""
    con.execute(
        """
        update alerts.outbox set status = 'sent', slack_ts = ?, slack_channel_id = ?, message_text = ?, blocks_json = ?,
            last_error = null, sent_at = ?, updated_at = ?
        where alert_id = ? and status = 'sending'
        """,
        [ts, channel_id, text, json.dumps(blocks), now_utc(), now_utc(), alert_id_],
    )


def mark_failed(con, alert_id_: str, error: str) -> None:
    """Mark a claimed alert failed (retried on the next delivery) with the error."""
    con.execute(
        "update alerts.outbox set status = 'failed-retrying', last_error = ?, updated_at = ? where alert_id = "
        "? and status = 'sending'",
        [error[:2000], now_utc(), alert_id_],
    )


def mark_dry_run(con, alert_id_: str, text: str, blocks: list[dict]) -> bool:
    """Pending → dry_run (only once per row); True when this call did it."""
    row = con.execute(
        """
        update alerts.outbox set status = 'dry_run', message_text = ?, blocks_json = ?, updated_at = ?
        where alert_id = ? and status = 'pending'
        returning alert_id
        """,
        [text, json.dumps(blocks), now_utc(), alert_id_],
    ).fetchone()
    return row is not None


def count_undelivered(con) -> int:
    """Alerts not delivered yet (pending, failed-retrying or sending)."""
    return int(
        con.execute(
            "select count(*) from alerts.outbox where status in ('pending', 'failed-retrying', 'sending')"
        ).fetchone()[0]
    )


def list_outbox(con, experiment_id: str | None = None, status: str | None = None) -> pd.DataFrame:
    """Outbox rows, newest alert date first (for `exptrack alerts` and the asset metadata)."""
    where, params = [], []
    if experiment_id:
        where.append("experiment_id = ?")
        params.append(experiment_id)
    if status:
        where.append("status = ?")
        params.append(status)
    sql = (
        "select alert_date, experiment_id, trigger, level, destination, recipients, status, attempts, "
        "slack_ts, last_error, alert_id "
        "from alerts.outbox"
        + (" where " + " and ".join(where) if where else "")
        + " order by alert_date desc, level desc, experiment_id, trigger, destination"
    )
    return con.execute(sql, params).df()


def row_to_alert(row: Any) -> Alert:
    """Rebuild the Alert of an outbox row (for rendering at send time)."""
    recipients = tuple(r for r in str(row.recipients).split(",") if r)
    return Alert(
        key=row.alert_key,
        experiment_id=row.experiment_id,
        trigger=row.trigger,
        check=row.check_name,
        level=int(row.level),
        alert_date=pd.Timestamp(row.alert_date).date(),
        as_of=pd.Timestamp(row.as_of).date(),
        title=row.title,
        summary=row.summary,
        action=row.action,
        recipients=recipients,
        destinations=(row.destination,),
        details=json.loads(row.details_json),
    )
