"""The dashboard site for experiment owners, PMs and leadership: static pages rendered from Jinja2 templates
(portfolio, one page per experiment, learnings library, weekly status, monthly leadership view, decision review),
the learnings library and the portfolio metrics against their targets. Pure: no Dagster (defs/site/assets.py wires it).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

SITE_FOLDER = "site"


def site_dir(output_dir: str | Path) -> Path:
    """<EXPTRACK_OUTPUT_DIR>/site: beside reports/ and archive/, which the pages link to."""
    return Path(output_dir) / SITE_FOLDER


def generate(con, registry, output_dir: str | Path, targets=None, today: dt.date | None = None):
    """Read the warehouse through `con` and write the whole site under <output_dir>/site; returns build.Built."""
    from exptrack_pipeline.site import build, data, scorecard

    site_data = data.load(con, registry, today)
    return build.build_site(site_data, site_dir(output_dir), targets or scorecard.Targets.from_env(), Path(output_dir))
