"""Bring the flag file in line with `state.flag_changes`: plan (in a transaction), then write atomically.

The file is a function of the recorded changes (the latest definition per flag key). A write is recorded as
`intended` before the rename and `written` after it, so after a crash at any point the next run recognises the file
as exptrack's own and finishes the job. A file whose bytes match none of exptrack's writes was edited by hand: it is
never overwritten silently (`FlagDriftError`; `exptrack flags sync --overwrite` replaces it on purpose, recorded).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from exptrack_pipeline.flags import store
from exptrack_pipeline.flags.definition import FlagError, render_file
from exptrack_pipeline.flags.files import atomic_write, file_sha256, sha256_text
from exptrack_pipeline.flags.plan import Plan, plan_changes

Connect = Callable[[], AbstractContextManager]


class FlagDriftError(FlagError):
    """The flag file differs from every version exptrack wrote: someone edited it by hand."""


@dataclass
class WriteOutcome:
    """What writing the flag file did: path, hash, flags and changes applied."""

    path: Path
    written: bool
    sha256: str
    flags: int
    changes_applied: int
    message: str


@dataclass
class SyncOutcome:
    """A sync's plan, its write (None when nothing was written), an error and lines to print."""

    plan: Plan
    write: WriteOutcome | None = None
    error: str | None = None
    lines: list[str] = field(default_factory=list)


def _drift_message(path: Path, on_disk: str, expected: str | None, desired: dict[str, dict]) -> str:
    try:
        found = json.loads(path.read_text()).get("flags", {})
        differing = sorted(k for k in set(found) | set(desired) if found.get(k) != desired.get(k))
        what = f"flags that differ from exptrack's record: {', '.join(differing) or 'none (formatting only)'}"
    except (ValueError, AttributeError, OSError):
        what = "it is not valid flag JSON"
    return (
        f"{path}: the flag file was changed outside exptrack ({what}; sha256 {on_disk[:12]}, exptrack last wrote "
        f"{(expected or 'nothing')[:12]}). exptrack does not overwrite it: put the change in the experiment YAML or "
        "`exptrack move/decide/pause/resume`, then replace the file on purpose with `exptrack flags sync "
        "--overwrite --actor WHO`"
    )


def write_file(connect: Connect, path: Path, *, actor: str = "exptrack", overwrite: bool = False) -> WriteOutcome:
    """Write the latest definition of every recorded flag to `path` (atomically), unless the file already holds it."""
    with connect() as con:
        store.ensure_tables(con)
        latest = store.latest_changes(con)
        last_written, intended = store.known_file_hashes(con, str(path))
        pending = int(con.execute("select count(*) from state.flag_changes where written_at is null").fetchone()[0])
    desired = {r.flag_key: json.loads(r.definition_json) for r in latest.itertuples()}
    text = render_file(desired)
    sha = sha256_text(text)
    on_disk = file_sha256(path)
    known = {sha} | intended | ({last_written} if last_written else set())
    if on_disk is not None and on_disk not in known and not overwrite:
        raise FlagDriftError(_drift_message(path, on_disk, last_written, desired))
    if on_disk == sha and last_written == sha and not pending:
        return WriteOutcome(path, False, sha, len(desired), 0, f"{path}: up to date ({len(desired)} flags)")
    with connect() as con:
        store.record_write(
            con, path=str(path), sha=sha, status="intended", flags=len(desired), forced=overwrite, actor=actor
        )
    if on_disk != sha:
        atomic_write(path, text)
    with connect() as con:
        con.execute("begin transaction")
        store.record_write(
            con, path=str(path), sha=sha, status="written", flags=len(desired), forced=overwrite, actor=actor
        )
        applied = store.mark_written(con, sha)
        con.execute("commit")
    return WriteOutcome(
        path, True, sha, len(desired), applied, f"{path}: wrote {len(desired)} flags ({applied} change(s))"
    )


def sync(
    connect: Connect,
    path: Path,
    *,
    today: dt.date,
    actor: str,
    reason: str,
    source: str,
    only: list[str] | None = None,
    overwrite: bool = False,
) -> SyncOutcome:
    """Plan the changes the state calls for (one transaction), then write the file. Drift is reported, not raised."""
    with connect() as con:
        store.ensure_tables(con)
        con.execute("begin transaction")
        plan = plan_changes(con, today=today, actor=actor, reason=reason, source=source, only=only)
        con.execute("commit")
    out = SyncOutcome(plan)
    out.lines += [f"flag {c['flag_key']} ({c['experiment_id']}) → {c['note']}" for c in plan.changes]
    out.lines += [f"flag problem: {p}" for p in plan.problems]
    try:
        out.write = write_file(connect, path, actor=actor, overwrite=overwrite)
        out.lines.append(out.write.message)
    except FlagDriftError as exc:
        out.error = str(exc)
        out.lines.append(f"flag file NOT written: {exc}")
    return out
