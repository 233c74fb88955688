"""Every table exptrack's Python writes outside dbt: the one owner of their DDL and column names.

Created idempotently by the `experiment_registry` asset before dbt runs (dbt reads the two `state` tables through
the sources in dbt_project/models/monitoring/_monitoring.yml and models/lifecycle/), and by every writer.

* alerts.outbox — one row per alert × destination channel; `alert_id` is the exactly-once key.
* state.experiment_status_events — append-only log of pauses and resumes (automatic or by a person; notify/state.py).
* state.lifecycle_events — append-only log of lifecycle moves and decisions (`exptrack move/decide`;
  lifecycle/store.py).
* monitoring.health_findings — every health verdict per experiment, check and as-of date (history kept).
"""

from __future__ import annotations

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed-retrying", "dry_run")
STATUS_EVENTS_TABLE = "state.experiment_status_events"
LIFECYCLE_EVENTS_TABLE = "state.lifecycle_events"
HEALTH_FINDINGS_TABLE = "monitoring.health_findings"
LIFECYCLE_EVENT_COLUMNS = [
    "experiment_id",
    "event_type",
    "from_status",
    "to_status",
    "decision",
    "variant",
    "actor",
    "reason",
    "occurred_at",
    "source",
]

DDL = [
    "create schema if not exists alerts",
    "create schema if not exists state",
    "create schema if not exists monitoring",
    "create sequence if not exists state.status_event_seq",
    """
    create table if not exists state.experiment_status_events (
        event_seq bigint primary key default nextval('state.status_event_seq'),
        experiment_id varchar not null,
        status varchar not null check (status in ('paused', 'running')),
        reason varchar not null,
        actor varchar not null,
        changed_at timestamp not null,
        source varchar not null check (source in ('automatic', 'person')),
        trigger varchar,
        level integer,
        alert_key varchar,
        data_date date,
        flag_controller varchar,
        flag_status varchar check (flag_status in ('pending', 'ok', 'failed', 'skipped')),
        flag_detail varchar,
        flag_attempts integer not null default 0
    )
    """,
    f"""
    create table if not exists alerts.outbox (
        alert_id varchar primary key,
        alert_key varchar not null,
        experiment_id varchar not null,
        trigger varchar not null,
        check_name varchar not null,
        level integer not null,
        alert_date date not null,
        as_of date not null,
        destination varchar not null,
        recipients varchar not null,
        title varchar not null,
        summary varchar not null,
        action varchar not null,
        details_json varchar not null,
        auto_pause_note varchar,
        status varchar not null check (status in ({", ".join(repr(s) for s in OUTBOX_STATUSES)})),
        attempts integer not null default 0,
        last_error varchar,
        slack_ts varchar,
        slack_channel_id varchar,
        message_text varchar,
        blocks_json varchar,
        created_at timestamp not null,
        updated_at timestamp not null,
        claimed_at timestamp,
        sent_at timestamp
    )
    """,
    """
    create table if not exists state.lifecycle_events (
        experiment_id varchar not null,
        event_type varchar not null,
        from_status varchar,
        to_status varchar,
        decision varchar,
        variant varchar,
        actor varchar not null,
        reason varchar not null,
        occurred_at timestamp not null,
        source varchar not null
    )
    """,
    """
    create table if not exists monitoring.health_findings (
        experiment_id varchar not null,
        check_name varchar not null,
        as_of date not null,
        status varchar not null,
        level integer not null,
        trigger varchar not null,
        triggered boolean not null,
        event_date date,
        summary varchar not null,
        details_json varchar not null,
        evaluated_at timestamp not null,
        primary key (experiment_id, check_name, as_of)
    )
    """,
]


def ensure_tables(con) -> None:
    """Create the schemas, tables and sequence above when missing (never drops or alters)."""
    for statement in DDL:
        con.execute(statement)
