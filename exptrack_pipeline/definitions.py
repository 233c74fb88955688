"""The one Definitions object: what the Dagster UI, the daemon and `exptrack` load.

Everything under `exptrack_pipeline/defs/` is autoloaded (`dg.load_defs`): each module's module-level assets, asset
checks, jobs, schedules and sensors, and the `@dg.definitions` function in defs/resources.py. A new area is a folder
`defs/<area>/` with an `__init__.py` and `assets.py` / `checks.py` / `jobs.py` / `schedules.py` / `sensors.py`;
nothing here changes. docs/architecture.md describes the layout.
"""

from __future__ import annotations

import dagster as dg

import exptrack_pipeline.defs
from exptrack_pipeline.config.settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """The project's definitions for `settings` (default: from the environment), exported so dbt reads the same."""
    (settings or Settings.from_env()).export()
    return dg.load_defs(defs_root=exptrack_pipeline.defs)


@dg.definitions
def defs() -> dg.Definitions:
    """The project's Dagster definitions (`dagster dev` and `dg` load them from here)."""
    return build_definitions()
