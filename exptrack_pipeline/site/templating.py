"""The one Jinja2 environment of the dashboard pages and the self-contained report documents (reports/document.py),
with the number filters they share. Templates live in exptrack_pipeline/site/templates, CSS and JS in static/."""

from __future__ import annotations

import base64
import html
from functools import cache
from importlib import resources

import jinja2
import markupsafe
import pandas as pd

from exptrack_pipeline.site import charts


def _share(v: object, digits: int = 0) -> str:
    return "n/a" if v is None or pd.isna(v) else f"{float(v) * 100:.{digits}f}%"


def _num(v: object, fmt: str = ",.4g") -> str:
    return "n/a" if v is None or pd.isna(v) else format(float(v), fmt)


def _exact(v: object) -> str:
    """The exact number for a data-value attribute (repr round-trips a float64), '' for missing."""
    return "" if v is None or pd.isna(v) else repr(float(v))


def inline(text: object) -> markupsafe.Markup:
    """Escape, then render the documents' **bold** and `code` spans."""
    parts = html.escape(str(text)).split("`")
    joined = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    bold = joined.split("**")
    return markupsafe.Markup("".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(bold)))


@cache
def environment() -> jinja2.Environment:
    """The Jinja environment of the site's templates (strict undefined, HTML autoescaped)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("exptrack_pipeline.site", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=lambda v, d=1: charts.pct(None if v is None or pd.isna(v) else float(v), d),
        share=_share,
        num=_num,
        exact=_exact,
        date=lambda v: "" if v is None or pd.isna(v) else str(pd.Timestamp(v).date()),
        when=lambda v: "" if v is None or pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d %H:%M}",
        inline=inline,
        b64=lambda data: base64.b64encode(data).decode(),
    )
    return env


@cache
def stylesheet() -> str:
    """The site's stylesheet text."""
    return (resources.files("exptrack_pipeline.site") / "static" / "site.css").read_text()


def render_document(doc) -> str:
    """A reports.document.Document as one self-contained HTML page (CSS inline, PNGs as data URIs)."""
    return environment().get_template("document.html").render(doc=doc, css=markupsafe.Markup(stylesheet()))
