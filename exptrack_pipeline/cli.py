"""`exptrack`: run the pipeline for a date range and read the results from the terminal.

This module only parses and dispatches: each command lives in exptrack_pipeline/commands/ (see its __init__).
"""

from __future__ import annotations

import argparse
import sys

from exptrack_pipeline.commands import flags, lifecycle, monitoring, pipeline, results
from exptrack_pipeline.commands.pipeline import run_pipeline
from exptrack_pipeline.config import RegistryError, Settings
from exptrack_pipeline.site import commands as site_commands
from exptrack_pipeline.sources import SourcesError

__all__ = ["main", "run_pipeline"]  # run_pipeline: what `exptrack run` does, for tests and scripts


def main(argv: list[str] | None = None) -> int:
    """Parse `argv`, dispatch to the command's handler and return its exit code."""
    parser = argparse.ArgumentParser(prog="exptrack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    handlers = {}
    for group in (pipeline, results, monitoring, lifecycle, flags, site_commands):
        handlers.update(group.register(sub))
    args = parser.parse_args(argv)
    try:
        return handlers[args.command](args, Settings.from_env())
    except (RegistryError, SourcesError) as exc:
        print(f"exptrack: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
