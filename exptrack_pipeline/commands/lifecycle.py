"""CLI commands of the lifecycle feature (see exptrack_pipeline/commands/__init__.py for the contract).

exptrack plan --metric M --mde 0.05 [--baseline B] [--surface S] ...   sample size per arm and expected duration
exptrack new ID --name ... --metric M --mde 0.05 ...                   scaffold experiments/ID.yaml (status backlog)
exptrack move ID --to STATE --actor WHO --reason WHY                   validated lifecycle transition
exptrack decide ID ship VARIANT|rollback|iterate --rationale ... --actor WHO
exptrack implemented ID --actor WHO --reason ...                       a shipped variant is fully rolled out
exptrack lifecycle [ID]                                                effective status and history
exptrack backlog                                                       backlog ordered by ICE score
exptrack reports                                                       where the reports and summaries are
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from exptrack_pipeline.commands.flags import history_lines, sync_after
from exptrack_pipeline.config import RegistryError, Settings, load_registry
from exptrack_pipeline.config.registry import load_experiment
from exptrack_pipeline.lifecycle import archive, inputs, planning, portfolio, store
from exptrack_pipeline.lifecycle.states import (
    STATES,
    LifecycleError,
    LifecycleEvent,
    transitions_for_decision,
    validate_decision,
    validate_transition,
)
from exptrack_pipeline.reports import paths, where
from exptrack_pipeline.site import learnings
from exptrack_pipeline.warehouse import WarehouseBusy, open_warehouse

Handler = Callable[[argparse.Namespace, Settings], int]


def _now(text: str | None) -> dt.datetime:
    """--at YYYY-MM-DD[THH:MM] (UTC, to back-fill history) or now."""
    if not text:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--at {text!r} is not a date/time; use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None


@contextmanager
def _warehouse(settings: Settings, write: bool):
    """A short warehouse connection; a clear message when a pipeline run holds DuckDB's write lock."""
    if settings.target == "duckdb" and not write and not settings.warehouse.exists():
        raise LifecycleError(
            f"{settings.warehouse}: warehouse not found; run `exptrack run --start ... --end ...` first"
        )
    warehouse = open_warehouse(settings)
    try:
        with warehouse.connect(read_only=not write) as con:
            yield con
    except (WarehouseBusy, ConnectionError) as exc:
        raise LifecycleError(
            f"{warehouse.describe()}: cannot open the warehouse ({exc}); if a pipeline run is writing, retry "
            "when it ends"
        ) from None


def _add_plan_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metric", required=True, help="primary metric id from the catalog")
    p.add_argument("--mde", type=float, required=True, help="minimum detectable effect, e.g. 0.05 = 5%% relative")
    p.add_argument("--mde-type", choices=["relative", "absolute"], default="relative")
    p.add_argument("--baseline", type=float, help="control value of the metric (default: read from the warehouse)")
    p.add_argument("--sd", type=float, help="per-unit standard deviation for mean and ratio metrics with --baseline")
    p.add_argument("--cuped", action="store_true", help="plan for the CUPED-adjusted test (ρ² from pre-period data)")
    p.add_argument("--variance-reduction", type=float, help="CUPED ρ² to plan with (default: from the warehouse)")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument(
        "--alternative",
        choices=["two-sided", "greater", "less"],
        default="two-sided",
        help="the hypothesis the experiment will declare (success_criteria.one_sided); one-sided needs fewer units",
    )
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--arms", default="control,treatment", help="comma-separated arm names, control first")
    p.add_argument("--weights", help="comma-separated traffic weights per arm (default: equal)")
    p.add_argument("--surface", help="surface whose observed daily traffic sets the duration")
    p.add_argument("--daily-units", type=float, help="daily units entering the experiment (overrides the warehouse)")


def register(subparsers: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add the lifecycle commands (plan, new, move, decide, implemented, status, backlog, reports) to the CLI;
    return their handlers."""
    plan = subparsers.add_parser("plan", help="sample size per arm and expected duration for a hypothesis")
    _add_plan_args(plan)
    new = subparsers.add_parser("new", help="scaffold a valid experiment YAML (status backlog) from a plan")
    new.add_argument("experiment_id")
    for name in ("name", "hypothesis", "owner", "slack-channel"):
        new.add_argument(f"--{name}", required=True)
    _add_plan_args(new)
    new.add_argument("--pm")
    new.add_argument("--audience", default="all_users")
    new.add_argument("--layer")
    new.add_argument("--secondary", default="", help="comma-separated secondary metric ids")
    new.add_argument("--guardrails", default="", help="comma-separated guardrail metric ids (tolerance 5%% relative)")
    new.add_argument("--start", type=dt.date.fromisoformat, help="start date (default: next Monday)")
    new.add_argument("--days", type=int, help="planned days (default: the plan's duration rounded up to whole weeks)")
    new.add_argument("--ice", help="expected_impact,confidence,effort (0-10 each) for backlog priority")
    new.add_argument("--out", type=Path, help="file to write (default: <experiments dir>/<id>.yaml)")
    move = subparsers.add_parser("move", help="move an experiment to another lifecycle state")
    move.add_argument("experiment_id")
    move.add_argument("--to", required=True, choices=STATES)
    move.add_argument("--actor", required=True)
    move.add_argument("--reason", required=True)
    move.add_argument("--at", help="when it happened (UTC, default now)")
    decide = subparsers.add_parser("decide", help="record a decision: ship VARIANT, rollback or iterate")
    decide.add_argument("experiment_id")
    decide.add_argument("decision", choices=["ship", "rollback", "iterate"])
    decide.add_argument("variant", nargs="?")
    decide.add_argument("--rationale", required=True)
    decide.add_argument("--actor", required=True)
    decide.add_argument("--at", help="when it was decided (UTC, default now)")
    learnings.add_arguments(decide)
    impl = subparsers.add_parser("implemented", help="record that a shipped variant is fully rolled out")
    impl.add_argument("experiment_id")
    impl.add_argument("--actor", required=True)
    impl.add_argument("--reason", required=True)
    impl.add_argument("--at")
    status = subparsers.add_parser("lifecycle", help="effective lifecycle status and history")
    status.add_argument("experiment_id", nargs="?")
    subparsers.add_parser("backlog", help="the backlog ordered by ICE score")
    subparsers.add_parser("reports", help="where the reports, summaries, handoffs and archives are")
    handlers = {
        "plan": cmd_plan,
        "new": cmd_new,
        "move": cmd_move,
        "decide": cmd_decide,
        "implemented": cmd_implemented,
        "lifecycle": cmd_status,
        "backlog": cmd_backlog,
        "reports": cmd_reports,
    }
    return {name: _guard(fn) for name, fn in handlers.items()}


def _guard(fn: Handler) -> Handler:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return fn(args, settings)
        except (LifecycleError, ValueError, argparse.ArgumentTypeError) as exc:
            if isinstance(exc, RegistryError):
                raise
            print(f"exptrack {args.command}: {exc}", file=sys.stderr)
            return 2

    return run


def _plan(args: argparse.Namespace, settings: Settings) -> tuple[planning.Plan, list[str]]:
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    weights = tuple(float(w) for w in args.weights.split(",")) if args.weights else tuple(1.0 / len(arms) for _ in arms)
    if len(weights) != len(arms):
        raise ValueError(f"--weights has {len(weights)} values but --arms names {len(arms)} arms ({', '.join(arms)})")
    registry = load_registry(settings.experiments_dir, settings.metrics_file)
    if args.metric not in registry.catalog.ids:
        raise ValueError(
            f"unknown metric {args.metric!r}; define it in {settings.metrics_file} or use one of: "
            f"{', '.join(sorted(registry.catalog.ids))}"
        )
    stats, exposures = pd.DataFrame(), pd.DataFrame()
    metric_kind = registry.catalog.get(args.metric).kind
    if settings.warehouse.exists() and (args.baseline is None or args.daily_units is None):
        with _warehouse(settings, write=False) as con:
            table = "fct_variant_metric_quantiles" if metric_kind == "quantile" else "fct_variant_metric_stats"
            stats = inputs.optional_table(con, f"main.{table}", "metric_id = ?", [args.metric])
            exposures = inputs.exposures_by_surface(con)
    baseline = _baseline(args, registry.catalog.get(args.metric), stats, settings)
    daily, source = (
        (args.daily_units, "--daily-units") if args.daily_units else planning.daily_traffic(exposures, args.surface)
    )
    plan = planning.make_plan(
        args.metric,
        baseline,
        args.mde,
        relative=args.mde_type == "relative",
        alpha=args.alpha,
        power=args.power,
        weights=weights,
        daily_units=daily,
        traffic_source=source,
        cuped=args.cuped,
        alternative=args.alternative,
    )
    return plan, arms


def _baseline(args: argparse.Namespace, metric, stats: pd.DataFrame, settings: Settings) -> planning.Baseline:
    """The baseline from --baseline/--sd (kind from the catalog) or the warehouse; --variance-reduction overrides ρ²."""
    lag = metric.retention_day or 0
    kind = planning.power_kind(metric.kind, metric.stat_kind)
    if args.baseline is not None:
        if kind in ("mean", "ratio", "quantile") and args.sd is None:
            raise ValueError(f"{args.metric!r} is a {metric.kind} metric: pass --sd (its per-unit standard deviation)")
        baseline = planning.Baseline(args.baseline, kind, args.sd, "--baseline", None, lag)
    else:
        found = None
        if not stats.empty:
            found = (
                planning.baseline_from_quantiles(stats, args.metric)
                if metric.kind == "quantile"
                else planning.baseline_from_stats(stats, args.metric, lag)
            )
        if found is None:
            raise ValueError(
                f"no warehouse data for metric {args.metric!r} ({settings.warehouse}); pass --baseline (and "
                "--sd for mean, ratio and quantile metrics)"
            )
        baseline = found
    if args.variance_reduction is not None:
        if not 0 <= args.variance_reduction < 1:
            raise ValueError(f"--variance-reduction is ρ², between 0 and 1 (got {args.variance_reduction:g})")
        baseline = dataclasses.replace(baseline, variance_reduction=args.variance_reduction)
    return baseline


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack plan`: print the sample size per arm and the expected duration."""
    plan, arms = _plan(args, settings)
    print(planning.format_plan(plan, arms))
    return 0


def cmd_new(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack new`: write a valid backlog experiment YAML scaffolded from the plan."""
    plan, arms = _plan(args, settings)
    if args.surface is None:
        raise ValueError("`exptrack new` needs --surface (where the experiment runs)")
    out = args.out or settings.experiments_dir / f"{args.experiment_id}.yaml"
    if out.exists():
        raise ValueError(
            f"{out} already exists; choose another id or --out (the YAML is yours: exptrack never overwrites it)"
        )
    days = args.days or (planning.scheduled_days(plan.duration_days) if plan.duration_days else None)
    if days is None:
        raise ValueError("unknown duration: no traffic data for this surface; pass --days or --daily-units")
    today = dt.date.today()
    start = args.start or today + dt.timedelta(days=7 - today.weekday())
    ice = None
    if args.ice:
        parts = [float(x) for x in args.ice.split(",")]
        if len(parts) != 3:
            raise ValueError("--ice needs three numbers: expected_impact,confidence,effort")
        ice = dict(zip(("expected_impact", "confidence", "effort"), parts, strict=True))
    text = planning.scaffold_yaml(
        experiment_id=args.experiment_id,
        name=args.name,
        hypothesis=args.hypothesis,
        owner=args.owner,
        slack_channel=args.slack_channel,
        surface=args.surface,
        audience=args.audience,
        start_date=start,
        days=days,
        plan=plan,
        arm_names=arms,
        secondary_metrics=[m for m in args.secondary.split(",") if m],
        guardrail_metrics=[m for m in args.guardrails.split(",") if m],
        pm=args.pm,
        layer=args.layer,
        prioritization=ice,
    )
    with tempfile.TemporaryDirectory() as tmp:  # validate alone and together with the registry before writing
        candidate = Path(tmp) / out.name
        candidate.write_text(text)
        load_experiment(candidate)
        for existing in settings.experiments_dir.glob("*.y*ml"):
            if existing.resolve() != settings.metrics_file.resolve():
                (Path(tmp) / existing.name).write_bytes(existing.read_bytes())
        load_registry(Path(tmp), settings.metrics_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(planning.format_plan(plan, arms))
    print(
        f"\nwrote {out} (status backlog, {start} → {start + dt.timedelta(days=days - 1)}); schedule it with "
        f"`exptrack move {args.experiment_id} --to scheduled --actor WHO --reason WHY`"
    )
    return 0


def _experiment(settings: Settings, experiment_id: str):
    return load_registry(settings.experiments_dir, settings.metrics_file).get(experiment_id)


def _ensure_not_frozen(settings: Settings, experiment_id: str) -> None:
    if archive.is_frozen(paths(settings).archive, experiment_id):
        raise LifecycleError(
            f"{experiment_id}: is archived under {paths(settings).archive / experiment_id} and frozen; nothing "
            "can change it"
        )


def cmd_move(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack move`: record an allowed lifecycle transition of an experiment."""
    e = _experiment(settings, args.experiment_id)
    at = _now(args.at)
    with _warehouse(settings, write=True) as con:
        current = store.current_status(con, e.id, e.status)
        validate_transition(e.id, current, args.to)
        if args.to == "concluded" or current in ("concluded", "archived"):
            _ensure_not_frozen(settings, e.id)
        store.append_events(
            con,
            [LifecycleEvent(e.id, "transition", args.actor, args.reason, at, from_status=current, to_status=args.to)],
        )
    print(f"{e.id}: {current} → {args.to} (by {args.actor}: {args.reason})")
    print("\n".join(sync_after(settings, e.id, args.actor, args.reason)))
    return 0


def cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack decide`: record a decision (ship, rollback, ...) and its learning."""
    e = _experiment(settings, args.experiment_id)
    at = _now(args.at)
    _ensure_not_frozen(settings, e.id)
    learning = learnings.from_args(e.id, args, at)  # a ship/rollback without --learned stops here
    with _warehouse(settings, write=True) as con:
        current = store.current_status(con, e.id, e.status)
        validate_decision(e.id, current, args.decision, args.variant, [v.name for v in e.variants], e.control.name)
        events = transitions_for_decision(e.id, current, args.actor, args.rationale, at)
        events.append(
            LifecycleEvent(
                e.id, "decision", args.actor, args.rationale, at, decision=args.decision, variant=args.variant
            )
        )
        store.append_events(con, events)
        if learning:
            learnings.record(con, learning)
    what = f"ship {args.variant}" if args.decision == "ship" else args.decision
    print(f"{e.id}: decision {what} recorded" + (f"; {current} → concluded" if len(events) > 1 else ""))
    print("\n".join(sync_after(settings, e.id, args.actor, args.rationale)))
    print(
        "the next pipeline run writes the report"
        + (", the handoff" if args.decision == "ship" else "")
        + " and freezes the archive"
    )
    return 0


def cmd_implemented(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack implemented`: record that a shipped decision is implemented."""
    e = _experiment(settings, args.experiment_id)
    with _warehouse(settings, write=True) as con:
        decisions = store.latest_decisions(store.all_events(con))
        mine = decisions[decisions["experiment_id"] == e.id]
        if mine.empty or mine["decision"].iloc[0] != "ship":
            raise LifecycleError(
                f"{e.id}: has no `ship` decision; record one first: exptrack decide {e.id} ship VARIANT "
                "--rationale ... --actor ..."
            )
        store.append_events(con, [LifecycleEvent(e.id, "implemented", args.actor, args.reason, _now(args.at))])
    print(f"{e.id}: marked implemented")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack status`: print the effective status and history of one or every experiment."""
    registry = load_registry(settings.experiments_dir, settings.metrics_file)
    experiments = [registry.get(args.experiment_id)] if args.experiment_id else list(registry.experiments)
    with _warehouse(settings, write=False) as con:
        events = store.all_events(con)
        flag_lines = history_lines(con, args.experiment_id) if args.experiment_id else []
    statuses = store.effective_statuses({e.id: e.status for e in experiments}, events)
    for row in statuses.itertuples():
        since = f" since {row.status_since:%Y-%m-%d %H:%M}" if pd.notna(row.status_since) else ""
        print(f"{row.experiment_id:<24} {row.status:<10} ({row.status_source}{since})")
        if args.experiment_id and not events.empty:
            for ev in events[events["experiment_id"] == row.experiment_id].itertuples():
                what = (
                    f"{ev.from_status or '?'} → {ev.to_status}"
                    if ev.event_type == "transition"
                    else (
                        f"decision {ev.decision} {ev.variant or ''}".strip()
                        if ev.event_type == "decision"
                        else "implemented"
                    )
                )
                print(
                    f"  {pd.Timestamp(ev.occurred_at):%Y-%m-%d %H:%M}  {what:<28} {ev.actor} [{ev.source}]: {ev.reason}"
                )
    if flag_lines:
        print("\n".join(flag_lines))
    return 0


def cmd_backlog(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack backlog`: print the backlog ordered by ICE score."""
    registry = load_registry(settings.experiments_dir, settings.metrics_file)
    events = pd.DataFrame()
    if settings.warehouse.exists():
        with _warehouse(settings, write=False) as con:
            events = store.all_events(con)
    statuses = store.effective_statuses({e.id: e.status for e in registry.experiments}, events)
    ordered = portfolio.backlog(portfolio.experiment_frame(list(registry.experiments), statuses))
    print("ICE score = expected_impact × confidence / effort")
    print(ordered.to_string(index=False) if not ordered.empty else "backlog is empty")
    return 0


def cmd_reports(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack reports`: print where the reports, summaries and archive are written."""
    print(where(settings))
    return 0
