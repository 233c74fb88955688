"""Render the static dashboard site from SiteData with the Jinja2 templates in templates/ (pure rendering + file
writes under one folder; no Dagster, no warehouse).

<out>/index.html (portfolio), experiments/<id>.html, learnings.html, weekly.html, monthly.html, review.html and
static/ (CSS, the small local JavaScript for filters, search and series toggles). Pages link to each other and to
the reports and archives beside the site (<output>/reports, <output>/archive) with relative links, so the folder
can be copied or served anywhere (`exptrack serve`); no page loads anything from the network.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from exptrack_pipeline.lifecycle import portfolio
from exptrack_pipeline.reports import summaries
from exptrack_pipeline.site import learnings, pages, scorecard
from exptrack_pipeline.site.data import SiteData
from exptrack_pipeline.site.templating import environment

ACTIVE = ("scheduled", "running", "paused")


@dataclass(frozen=True)
class Built:
    """A built site: its folder and the pages written."""

    folder: Path
    pages: list[Path]

    @property
    def index(self) -> Path:
        """The site's front page."""
        return self.folder / "index.html"


def _rel(target: Path, start: Path) -> str | None:
    return os.path.relpath(target, start).replace(os.sep, "/") if target.is_file() else None


def _library(data: SiteData, archive_root: Path, site: Path) -> pd.DataFrame:
    lib = pages.library(data)
    lib["archive_report"] = lib["experiment_id"].map(
        lambda i: _rel(archive_root / i / f"{i}.html", site / "experiments")
    )
    return lib


def _wins(data: SiteData) -> dict[str, bool]:
    decided = data.outcomes[data.outcomes["decision"].notna()] if not data.outcomes.empty else data.outcomes
    by_id = {e.id: e for e in data.experiments}
    return {
        o.experiment_id: scorecard.significant_win(by_id[o.experiment_id], data.results, o.decided_on)
        for o in decided.itertuples()
        if o.experiment_id in by_id and not data.results.empty
    }


def learnings_synthesis(data: SiteData) -> dict[str, object]:
    """The monthly learnings synthesis (learnings.synthesis) of the decided experiments in `data`."""
    backlog = portfolio.backlog(data.frame) if not data.frame.empty else pd.DataFrame()
    return learnings.synthesis(pages.library(data), _wins(data), backlog)


def _review(data: SiteData, rows: dict[str, dict]) -> list[dict]:
    """Experiments needing a decision: active or concluded without one, past their planned end or with a ship/rollback
    recommendation; with the recommendation, its reasons and trade-offs (when reports/recommendation provides them)."""
    decided = (
        set(data.outcomes.loc[data.outcomes["decision"].notna(), "experiment_id"]) if not data.outcomes.empty else set()
    )
    out = []
    for e in data.experiments:
        row = rows[e.id]
        if e.id in decided or row["status"] not in (*ACTIVE, "concluded"):
            continue
        rec = pages.recommendation(data, e, pages.latest_results(data, e.id))
        past_end = data.data_through is not None and data.data_through >= e.end_date
        if past_end or rec.action in ("ship", "rollback") or row["status"] == "concluded":
            out.append(
                {
                    "row": row,
                    "rec": rec,
                    "reasons": list(rec.reasons),
                    "tradeoffs": list(rec.trade_offs),
                    "past_end": past_end,
                }
            )
    return out


def build_site(data: SiteData, folder: Path, targets: scorecard.Targets, output_root: Path | None = None) -> Built:
    """Write every page under `folder` (replacing earlier files) and return what was written."""
    output_root = output_root or folder.parent
    env = environment()
    (folder / "experiments").mkdir(parents=True, exist_ok=True)
    static = folder / "static"
    if static.exists():
        shutil.rmtree(static)
    shutil.copytree(str(resources.files("exptrack_pipeline.site") / "static"), static)
    rows = {e.id: pages.portfolio_row(data, e) for e in data.experiments}
    lib = _library(data, output_root / "archive", folder)
    wins = _wins(data)
    common = {
        "generated": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "through": data.data_through,
        "today": data.today,
    }
    written: list[Path] = []

    def page(name: str, template: str, root: str, **context) -> None:
        path = folder / name
        path.write_text(env.get_template(template).render(root=root, **common, **context))
        written.append(path)

    page(
        "index.html",
        "portfolio.html",
        "",
        rows=list(rows.values()),
        owners=sorted({r["owner"] for r in rows.values()}),
        surfaces=sorted({r["surface"] for r in rows.values()}),
        statuses=sorted({r["status"] for r in rows.values()}),
    )
    by_id = {r["experiment_id"]: r for r in lib.to_dict("records")}
    for e in data.experiments:
        ctx = pages.experiment_context(data, e, by_id.get(e.id))
        ctx["report"] = _rel(output_root / "reports" / f"{e.id}.html", folder / "experiments")
        page(f"experiments/{e.id}.html", "experiment.html", "../", **ctx)
    page(
        "learnings.html",
        "learnings.html",
        "",
        library=lib.to_dict("records"),
        surfaces=sorted(lib["surface"].unique()),
        metrics=sorted({m for ms in lib["metrics"] for m in ms.split()}),
    )
    page("weekly.html", "weekly.html", "", **_weekly(data, rows))
    page("monthly.html", "monthly.html", "", **_monthly(data, lib, wins, targets))
    page("review.html", "review.html", "", items=_review(data, rows))
    return Built(folder, written)


def _weekly(data: SiteData, rows: dict[str, dict]) -> dict:
    week_start = data.today - dt.timedelta(days=6)
    ev = data.events
    recent = ev[pd.to_datetime(ev["occurred_at"]).dt.date >= week_start] if not ev.empty else ev
    backlog = portfolio.backlog(data.frame) if not data.frame.empty else pd.DataFrame()
    conflicts = portfolio.find_conflicts(data.frame) if not data.frame.empty else pd.DataFrame()
    return {
        "week_start": week_start,
        "active": [r for r in rows.values() if r["status"] in ACTIVE],
        "moves": recent.to_dict("records"),
        "backlog": backlog.head(5).to_dict("records"),
        "conflicts": portfolio.describe_conflicts(conflicts) if not conflicts.empty else "",
    }


def _monthly(data: SiteData, lib: pd.DataFrame, wins: dict[str, bool], targets: scorecard.Targets) -> dict:
    month = data.today.strftime("%Y-%m")
    effects = (
        summaries.shipped_effects(data.outcomes, data.results, data.daily_units)
        if not data.results.empty
        else pd.DataFrame()
    )
    this_month = lib[pd.to_datetime(lib["decided_on"]).dt.strftime("%Y-%m") == month] if not lib.empty else lib
    backlog = portfolio.backlog(data.frame) if not data.frame.empty else pd.DataFrame()
    tts = scorecard.time_to_significance(data.experiments, data.results)
    return {
        "month": month,
        "effects": effects.to_dict("records") if not effects.empty else [],
        "combined": summaries.combine(effects).to_dict("records") if not effects.empty else [],
        "winners_curse": summaries.WINNERS_CURSE,
        "scorecard": scorecard.scorecard(data.outcomes, wins, targets, data.today),
        "tts": tts.to_dict("records"),
        "tts_median": float(np.nanmedian(tts["days"])) if tts["days"].notna().any() else None,
        "month_learnings": this_month.to_dict("records"),
        "synthesis": learnings.synthesis(lib, wins, backlog),
    }
