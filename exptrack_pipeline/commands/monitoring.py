"""CLI commands of this feature (see exptrack_pipeline/commands/__init__.py for the contract)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from exptrack_pipeline.config import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


def register(subparsers: argparse._SubParsersAction) -> dict[str, Handler]:
    return {}
