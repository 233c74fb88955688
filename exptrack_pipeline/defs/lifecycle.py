"""Lifecycle, reports and portfolio summaries (issue: lifecycle and reports)."""

import dagster as dg

from exptrack_pipeline.config.settings import Settings


def build(settings: Settings) -> dg.Definitions:
    """Definitions merged into the project's one Definitions object; must not redefine core resources."""
    return dg.Definitions()
