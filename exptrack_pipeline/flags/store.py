"""The record of every flag change and every file write (schema `state`; DuckDB and PostgreSQL).

* `state.flag_changes` — one row per change of a flag's definition: who (actor), why (reason), when (changed_at),
  what caused it (source: monitoring, person, lifecycle, schedule, registry), the new definition and whether the
  file has it yet (`written_at`, `file_sha256`). Rows are appended in the transaction of their cause.
* `state.flag_file_writes` — one row per write of the flag file: `intended` before the rename, `written` after, so a
  crash in between is recognised and the file exptrack last wrote is known (drift detection).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

DDL = [
    "create schema if not exists state",
    "create sequence if not exists state.flag_change_seq",
    """
    create table if not exists state.flag_changes (
        change_seq bigint primary key default nextval('state.flag_change_seq'),
        flag_key varchar not null,
        experiment_id varchar not null,
        serving varchar not null,
        weights_json varchar not null,
        definition_json varchar not null,
        note varchar not null,
        actor varchar not null,
        reason varchar not null,
        source varchar not null,
        changed_at timestamp not null,
        written_at timestamp,
        file_sha256 varchar
    )
    """,
    "create sequence if not exists state.flag_write_seq",
    """
    create table if not exists state.flag_file_writes (
        write_seq bigint primary key default nextval('state.flag_write_seq'),
        path varchar not null,
        file_sha256 varchar not null,
        status varchar not null check (status in ('intended', 'written')),
        flags integer not null,
        forced boolean not null,
        actor varchar not null,
        written_at timestamp not null
    )
    """,
]


def ensure_tables(con) -> None:
    """Create the flag state tables when missing."""
    for statement in DDL:
        con.execute(statement)


def now_utc() -> dt.datetime:
    """Now in UTC, naive (as the warehouse stores timestamps)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def latest_changes(con) -> pd.DataFrame:
    """The latest change per flag key (what the file must hold)."""
    return con.execute(
        """
        select * from state.flag_changes c
        where not exists (select 1 from state.flag_changes later where later.flag_key = c.flag_key and later.change_seq
            > c.change_seq)
        order by flag_key
        """
    ).df()


def ship_ramps_in_progress(con) -> set[str]:
    """Experiments whose flag's latest recorded change serves a ship ramp (the winner to part of the units)."""
    rows = con.execute(
        """
        select experiment_id from state.flag_changes c
        where serving = 'ship_ramp' and not exists (
            select 1 from state.flag_changes later where later.flag_key = c.flag_key and later.change_seq >
                c.change_seq)
        """
    ).fetchall()
    return {r[0] for r in rows}


def history(con, experiment_id: str | None = None) -> pd.DataFrame:
    """Every recorded flag change (of one experiment, or all), oldest first."""
    where, params = ("where experiment_id = ?", [experiment_id]) if experiment_id else ("", [])
    return con.execute(f"select * from state.flag_changes {where} order by changed_at, change_seq", params).df()


def append_change(
    con,
    *,
    flag_key: str,
    experiment_id: str,
    serving: str,
    weights_json: str,
    definition_json: str,
    note: str,
    actor: str,
    reason: str,
    source: str,
    changed_at: dt.datetime,
) -> int:
    """Append one flag change; return its change_seq."""
    row = con.execute(
        """
        insert into state.flag_changes (flag_key, experiment_id, serving, weights_json, definition_json, note, actor,
            reason, source, changed_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning change_seq
        """,
        [
            flag_key,
            experiment_id,
            serving,
            weights_json,
            definition_json,
            note,
            actor,
            reason[:2000],
            source,
            changed_at,
        ],
    ).fetchone()
    return int(row[0])


def known_file_hashes(con, path: str) -> tuple[str | None, set[str]]:
    """(hash of the last completed write, hashes of writes intended after it) for `path`."""
    rows = con.execute(
        "select file_sha256, status from state.flag_file_writes where path = ? order by write_seq", [path]
    ).fetchall()
    last_written, intended = None, set()
    for sha, status in rows:
        if status == "written":
            last_written, intended = sha, set()
        else:
            intended.add(sha)
    return last_written, intended


def record_write(con, *, path: str, sha: str, status: str, flags: int, forced: bool, actor: str) -> None:
    """Record one write of the flag file (or a refusal) in state.flag_file_writes."""
    con.execute(
        "insert into state.flag_file_writes (path, file_sha256, status, flags, forced, actor, written_at) "
        "values (?, ?, ?, ?, ?, ?, ?)",
        [path, sha, status, flags, forced, actor, now_utc()],
    )


def mark_written(con, sha: str) -> int:
    """Stamp every change not yet in a file with the write that now holds it."""
    n = con.execute("select count(*) from state.flag_changes where written_at is null").fetchone()[0]
    con.execute(
        "update state.flag_changes set written_at = ?, file_sha256 = ? where written_at is null", [now_utc(), sha]
    )
    return int(n)
