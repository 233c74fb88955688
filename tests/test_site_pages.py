"""The dashboard site generated from the demo run: every number on the portfolio and experiment pages equals
experiment_results and monitoring.health_findings (read here straight from the warehouse), charts are drawn from
the same rows, and no page references anything outside the site."""

from __future__ import annotations

import json
import re

import duckdb
import pandas as pd
import pytest
from site_support import Elements, same, value

from exptrack_pipeline.config import load_registry
from exptrack_pipeline.site import generate

RESULT_COLUMNS = [
    "n_control",
    "n_variant",
    "mean_control",
    "mean_variant",
    "rel_lift",
    "rel_lift_ci_low",
    "rel_lift_ci_high",
    "seq_rel_lift_ci_low",
    "seq_rel_lift_ci_high",
    "p_value_adjusted",
    "prob_beat_control",
]
BADGE_CHECKS = ["srm", "freshness", "instrumentation", "guardrail_harm"]


@pytest.fixture(scope="module")
def site(demo_run, tmp_path_factory):
    registry = load_registry(demo_run.settings.experiments_dir, demo_run.settings.metrics_file)
    out = tmp_path_factory.mktemp("site-output")
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as con:
        return generate(con, registry, out)


@pytest.fixture(scope="module")
def results(demo_run) -> pd.DataFrame:
    return demo_run.query("select * from main.experiment_results")


@pytest.fixture(scope="module")
def findings(demo_run) -> pd.DataFrame:
    """The latest verdict of every check per experiment."""
    return demo_run.query(
        "select * from monitoring.health_findings qualify row_number() over (partition by experiment_id, "
        "check_name order by as_of desc) = 1"
    )


def _latest(results: pd.DataFrame, experiment_id: str) -> pd.DataFrame:
    mine = results[results["experiment_id"] == experiment_id]
    return mine[mine["analysis_date"] == mine["analysis_date"].max()]


def test_the_site_has_every_page(site, demo_run):
    ids = demo_run.query("select experiment_id from registry.experiments order by 1")["experiment_id"].tolist()
    names = {p.relative_to(site.folder).as_posix() for p in site.pages}
    assert names == {
        "index.html",
        "learnings.html",
        "weekly.html",
        "monthly.html",
        "review.html",
        *(f"experiments/{i}.html" for i in ids),
    }
    assert (site.folder / "static" / "site.css").is_file() and (site.folder / "static" / "site.js").is_file()


def test_portfolio_numbers_equal_results_and_health_findings(site, results, findings, demo_run):
    demo_run_alerts = demo_run.query("select * from alerts.outbox")
    page = Elements(site.index.read_text())
    rows = [a["data-experiment"] for a, _ in page.find("tr", id="portfolio") if "data-experiment" in a]
    assert sorted(rows) == sorted(results["experiment_id"].unique())
    for eid in rows:
        latest = _latest(results, eid)
        prim = latest[latest["metric_role"] == "primary"].sort_values("prob_beat_control", ascending=False)
        best = prim.iloc[0]
        cells = {a["data-col"]: a for a, _ in page.find(data_experiment=eid) if "data-col" in a}
        assert cells["rel_lift"]["data-variant"] == best["variant"]
        for col in ("rel_lift", "seq_rel_lift_ci_low", "seq_rel_lift_ci_high"):
            assert same(value(cells[col]), best[col]), (eid, col)
        mine = findings[findings["experiment_id"] == eid].set_index("check_name")
        sample = json.loads(mine.loc["sample_size", "details_json"])
        assert same(value(cells["progress"]), sample["progress"])
        badges = {
            a["data-check"]: a["data-status"] for a, _ in page.find("span", data_experiment=eid) if "data-check" in a
        }
        assert badges == {c: mine.loc[c, "status"] for c in BADGE_CHECKS}
        # open alerts: outbox alerts (one per alert key) for checks whose latest verdict still fails
        outbox = demo_run_alerts[demo_run_alerts["experiment_id"] == eid]
        failing = set(mine.index[mine["status"] == "fail"])
        assert value(cells["alerts"]) == outbox[outbox["check_name"].isin(failing)]["alert_key"].nunique(), eid
    assert (
        value(next(a for a, _ in page.find(data_experiment="checkout_redesign") if a.get("data-col") == "alerts")) >= 2
    )
    # the demo's checkout experiment breaks its guardrail and its split: both badges fail
    checkout = {
        a["data-check"]: a["data-status"]
        for a, _ in page.find("span", data_experiment="checkout_redesign")
        if "data-check" in a
    }
    assert checkout["guardrail_harm"] == "fail" and checkout["srm"] == "fail"


def test_experiment_pages_equal_results_and_draw_them(site, results, findings):
    for eid in sorted(results["experiment_id"].unique()):
        page = Elements((site.folder / "experiments" / f"{eid}.html").read_text())
        latest = _latest(results, eid)
        shown = {}
        for a, ctx in page.find():
            if "data-col" in a and ctx.get("id", "").startswith("tbl-") and "data-metric" in ctx:
                shown[(ctx["data-metric"], ctx["data-variant"], a["data-col"])] = value(a)
        assert {(m, v) for m, v, _ in shown} == set(zip(latest["metric_id"], latest["variant"], strict=True)), eid
        for r in latest.itertuples():
            for col in RESULT_COLUMNS:
                assert same(shown[(r.metric_id, r.variant, col)], getattr(r, col)), (eid, r.metric_id, r.variant, col)
        forest = {(a["data-metric"], a["data-variant"]): value(a) for a, _ in page.find("circle", data_chart="forest")}
        assert forest == {(r.metric_id, r.variant): r.rel_lift for r in latest.itertuples() if pd.notna(r.rel_lift)}
        history = results[(results["experiment_id"] == eid) & (results["metric_role"] == "primary")]
        points = sorted(value(a) for a, _ in page.find("circle", data_chart="cumulative"))
        assert points == sorted(history["rel_lift"].dropna())
        health = {a["data-check"]: a["data-status"] for a, _ in page.find("tr", id="tbl-health") if "data-check" in a}
        mine = findings[findings["experiment_id"] == eid]
        assert health == dict(zip(mine["check_name"], mine["status"], strict=True))


def test_pages_reference_nothing_outside_the_site(site):
    for path in site.pages:
        text = path.read_text()
        refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", text)
        assert refs, path
        external = [r for r in refs if "://" in r or r.startswith("//")]
        assert not external, (path, external)


def test_the_pipeline_regenerates_the_site(demo_run):
    """The dashboard_site asset ran in the demo pipeline (after results, monitoring and lifecycle) and wrote the
    site."""
    index = (demo_run.settings.output_dir / "site" / "index.html").read_text()
    assert index.count('<tr class="experiment"') == len(demo_run.query("select * from registry.experiments"))
    for eid in demo_run.query("select experiment_id from registry.experiments")["experiment_id"]:
        page = (demo_run.settings.output_dir / "site" / "experiments" / f"{eid}.html").read_text()
        assert f'href="../../reports/{eid}.html"' in page  # the decision report beside the site
