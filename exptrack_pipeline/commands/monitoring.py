"""`exptrack alerts`, `exptrack pause` and `exptrack resume` (see exptrack_pipeline/commands/__init__.py for the
contract)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

import pandas as pd

from exptrack_pipeline.config import Settings
from exptrack_pipeline.flags.paths import flag_file_path
from exptrack_pipeline.notify.env import TOKEN_VAR, MonitoringEnv
from exptrack_pipeline.notify.flags import make_controller
from exptrack_pipeline.notify.outbox import list_outbox
from exptrack_pipeline.notify.service import deliver_pending
from exptrack_pipeline.notify.slack import SlackSender
from exptrack_pipeline.notify.state import set_status_by_person
from exptrack_pipeline.warehouse import WarehouseBusy, open_warehouse
from exptrack_pipeline.warehouse.schema import OUTBOX_STATUSES, ensure_tables

Handler = Callable[[argparse.Namespace, Settings], int]


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "cli"


def register(subparsers: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add the monitoring commands (alerts, health, pause, resume) to the CLI; return their handlers."""
    alerts = subparsers.add_parser(
        "alerts", help="list the alert outbox; --deliver sends pending alerts now (dry run without SLACK_BOT_TOKEN)"
    )
    alerts.add_argument("--experiment", help="only this experiment")
    alerts.add_argument("--status", choices=OUTBOX_STATUSES, help="only alerts in this delivery status")
    alerts.add_argument("--deliver", action="store_true", help="deliver pending and failed alerts before listing")
    pause = subparsers.add_parser(
        "pause",
        help="pause a running experiment (recorded in state.experiment_status_events; switches its feature flag)",
    )
    pause.add_argument("experiment")
    pause.add_argument("--reason", required=True, help="why, for the record and the people who resume it")
    pause.add_argument("--actor", default=_default_actor(), help="who pauses (default: your login name)")
    resume = subparsers.add_parser(
        "resume", help="resume a paused experiment after a fix (recorded; switches its feature flag back on)"
    )
    resume.add_argument("experiment")
    resume.add_argument("--reason", required=True, help="what was fixed or why it is safe to continue")
    resume.add_argument("--actor", required=True, help="who takes responsibility for resuming")
    return {"alerts": _alerts, "pause": _pause, "resume": _resume}


def _missing(settings: Settings) -> bool:
    if settings.target != "duckdb" or settings.warehouse.exists():
        return False
    print(
        f"exptrack: no warehouse at {settings.warehouse}; run `exptrack run --start ... --end ...` first",
        file=sys.stderr,
    )
    return True


def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    if _missing(settings):
        return 2
    connect = open_warehouse(settings).connect
    env = MonitoringEnv.from_env()
    try:
        if args.deliver:
            token = os.environ.get(TOKEN_VAR)
            sender = SlackSender(token, env.slack_api_url) if token else None
            report = deliver_pending(connect, sender, env.dagster_url, print)
            print(
                f"sent {report.sent}, dry run {report.dry_run}, failed {report.failed}; "
                f"{report.undelivered_after} still waiting"
            )
        with connect() as con:
            ensure_tables(con)
            table = list_outbox(con, args.experiment, args.status)
    except WarehouseBusy as exc:
        print(f"exptrack: {exc}", file=sys.stderr)
        return 1
    if table.empty:
        print(
            "the outbox is empty" + (" for that filter" if args.experiment or args.status else " (no alert raised yet)")
        )
        return 0
    shown = table.drop(columns=["alert_id"]).assign(last_error=table["last_error"].fillna("").str.slice(0, 60))
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 60):
        print(shown.to_string(index=False))
    return 0


def _set_status(args: argparse.Namespace, settings: Settings, status: str) -> int:
    if _missing(settings):
        return 2
    env = MonitoringEnv.from_env()
    try:
        connect = open_warehouse(settings).connect
        controller = make_controller(
            env.flag_controller, env.flag_webhook_url, connect=connect, flag_file=flag_file_path(settings)
        )
        change = set_status_by_person(connect, controller, args.experiment, status, args.reason, args.actor)
    except (WarehouseBusy, ValueError) as exc:
        print(f"exptrack: {exc}", file=sys.stderr)
        return 1
    print(change.message, file=sys.stdout if change.ok else sys.stderr)
    return 0 if change.ok else 2


def _pause(args: argparse.Namespace, settings: Settings) -> int:
    return _set_status(args, settings, "paused")


def _resume(args: argparse.Namespace, settings: Settings) -> int:
    return _set_status(args, settings, "running")
