"""CLI commands of the dashboard (see exptrack_pipeline/commands/__init__.py for the contract).

exptrack site [--today YYYY-MM-DD]                 build the static site under <EXPTRACK_OUTPUT_DIR>/site and print its
path
exptrack serve [--port 8000] [--host 127.0.0.1]    browse it locally
exptrack learnings [--search TEXT] [--surface S] [--metric M]   the learnings library in the terminal
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable

from exptrack_pipeline.config import Settings, load_registry
from exptrack_pipeline.site import build, data, learnings, pages, scorecard, site_dir
from exptrack_pipeline.warehouse import WarehouseBusy, open_warehouse

Handler = Callable[[argparse.Namespace, Settings], int]


def register(subparsers: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add the site, serve and learnings commands to the CLI; return their handlers."""
    site = subparsers.add_parser(
        "site", help="build the dashboard site (static HTML) from the warehouse and print its path"
    )
    site.add_argument(
        "--today", type=dt.date.fromisoformat, help="report date of the weekly/monthly pages (default today, UTC)"
    )
    serve = subparsers.add_parser("serve", help="browse the dashboard site locally")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    lib = subparsers.add_parser("learnings", help="the learnings library of decided experiments, searchable")
    lib.add_argument("--search", help="text to find in the hypothesis, result, decision and learnings")
    lib.add_argument("--surface")
    lib.add_argument("--metric", help="a metric id the experiment measured (any role)")
    return {"site": _guard(cmd_site), "serve": _guard(cmd_serve), "learnings": _guard(cmd_learnings)}


def _guard(fn: Handler) -> Handler:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return fn(args, settings)
        except (FileNotFoundError, ValueError, WarehouseBusy, ConnectionError) as exc:
            print(f"exptrack {args.command}: {exc}", file=sys.stderr)
            return 2

    return run


def _load(settings: Settings, today: dt.date | None = None) -> data.SiteData:
    if settings.target == "duckdb" and not settings.warehouse.exists():
        raise FileNotFoundError(
            f"{settings.warehouse}: warehouse not found; run `exptrack run --start ... --end ...` first"
        )
    registry = load_registry(settings.experiments_dir, settings.metrics_file)
    with open_warehouse(settings).connect(read_only=True) as con:
        return data.load(con, registry, today)


def cmd_site(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack site`: build the dashboard site and print its path."""
    built = build.build_site(
        _load(settings, args.today), site_dir(settings.output_dir), scorecard.Targets.from_env(), settings.output_dir
    )
    print(f"Dashboard site ({len(built.pages)} pages): {built.index}")
    print("  browse it with `exptrack serve` (http://127.0.0.1:8000) or open the file in a browser")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack serve`: serve the built site over HTTP until interrupted."""
    from exptrack_pipeline.site.serve import make_server

    server = make_server(site_dir(settings.output_dir), args.host, args.port)
    print(f"serving {site_dir(settings.output_dir)} on http://{args.host}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_learnings(args: argparse.Namespace, settings: Settings) -> int:
    """`exptrack learnings`: print the learnings matching the search."""
    site_data = _load(settings)
    library = pages.library(site_data)
    found = learnings.search(library, args.search, args.surface, args.metric)
    if found.empty:
        print("no learning matches" if not library.empty else "the library is empty: no experiment has a decision yet")
        return 0
    for r in found.itertuples():
        print(
            f"{r.experiment_id} ({r.surface}; {r.primary_metric}) — "
            f"{r.decision}{' ' + r.variant if r.variant else ''} on {r.decided_on}"
        )
        print(f"  hypothesis: {r.hypothesis}")
        print(f"  result:     {r.result}")
        print(f"  learned:    {r.learned or 'not recorded'}")
        if r.evidence:
            print(f"  evidence:   {r.evidence}")
        for idea in learnings.follow_ups(r.follow_up):
            print(f"  follow-up:  {idea}")
        archived = settings.output_dir / "archive" / r.experiment_id
        if archived.is_dir():
            print(f"  archive:    {archived}")
    return 0
