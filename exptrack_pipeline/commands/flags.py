"""`exptrack flags`: the flag each experiment serves, its change history, and re-writing the flag file on purpose.

exptrack flags [EXPERIMENT]                       flag state of every experiment (history of one)
exptrack flags --sync [--overwrite --actor WHO]   plan and write the flag file now (--overwrite replaces a hand-edited
file)
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable

import pandas as pd

from exptrack_pipeline.config import Settings
from exptrack_pipeline.flags import store
from exptrack_pipeline.flags.paths import flag_file_path
from exptrack_pipeline.flags.sync import sync
from exptrack_pipeline.warehouse import WarehouseBusy, open_warehouse

Handler = Callable[[argparse.Namespace, Settings], int]


def register(subparsers: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add the `flags` command to the CLI; return its handlers by name."""
    flags = subparsers.add_parser(
        "flags", help="feature-flag state of every experiment and its history; --sync writes the flag file now"
    )
    flags.add_argument("experiment", nargs="?")
    flags.add_argument(
        "--sync", action="store_true", help="plan the changes the lifecycle calls for and write the flag file"
    )
    flags.add_argument(
        "--overwrite", action="store_true", help="with --sync: replace a flag file that was edited by hand (recorded)"
    )
    flags.add_argument("--actor", default="cli", help="who writes (recorded)")
    return {"flags": guarded(cmd_flags)}


def sync_after(settings: Settings, experiment_id: str, actor: str, reason: str, source: str = "lifecycle") -> list[str]:
    """After a lifecycle move or decision: record the experiment's flag change and write the file (lines to print)."""
    try:
        outcome = sync(
            open_warehouse(settings).connect,
            flag_file_path(settings),
            today=dt.datetime.now(dt.UTC).date(),
            actor=actor,
            reason=reason,
            source=source,
            only=[experiment_id],
        )
    except WarehouseBusy as exc:
        return [f"flag not switched yet ({exc}); the next pipeline run switches it"]
    return outcome.lines


def history_lines(con, experiment_id: str) -> list[str]:
    """One line per flag change of the experiment (none before the first flag was written)."""
    from exptrack_pipeline.lifecycle.store import table_exists

    if not table_exists(con, "state.flag_changes"):
        return []
    return [
        f"  {pd.Timestamp(r.changed_at):%Y-%m-%d %H:%M}  flag {r.flag_key} → {r.note}  by {r.actor} "
        f"[{r.source}]: {r.reason}"
        for r in store.history(con, experiment_id).itertuples()
    ]


def format_state(latest: pd.DataFrame) -> str:
    """One line per flag: key, experiment, serving mode, note, since when and by whom."""
    if latest.empty:
        return "no flags yet (run `exptrack run`)"
    rows = [
        f"{r.flag_key:<26} {r.experiment_id:<24} {r.serving:<8} {r.note}  [since "
        f"{pd.Timestamp(r.changed_at):%Y-%m-%d %H:%M} UTC, {r.actor}]"
        + ("" if pd.notna(r.written_at) else "  (NOT in the file yet)")
        for r in latest.itertuples()
    ]
    return "\n".join(rows)


def cmd_flags(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack flags`: sync the flag file (--sync) or print the flag state and history."""
    path = flag_file_path(settings)
    connect = open_warehouse(settings).connect
    if args.sync:
        outcome = sync(
            connect,
            path,
            today=dt.datetime.now(dt.UTC).date(),
            actor=args.actor,
            reason="exptrack flags --sync",
            source="person",
            overwrite=args.overwrite,
        )
        print("\n".join(outcome.lines))
        if outcome.error:
            return 2
    with connect() as con:
        store.ensure_tables(con)
        latest = store.latest_changes(con)
        history = history_lines(con, args.experiment) if args.experiment else []
    print(f"flag file: {path}")
    print(format_state(latest))
    if history:
        print("\n".join(history))
    return 0


def guarded(fn: Handler) -> Handler:
    """Wrap a handler so a busy warehouse prints a one-line error and exits 1 instead of a traceback."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return fn(args, settings)
        except WarehouseBusy as exc:
            print(f"exptrack flags: {exc}", file=sys.stderr)
            return 1

    return run
