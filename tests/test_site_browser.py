"""The dashboard in a real headless Chromium (Debian's `chromium`, installed by .ci/run; driven by Playwright without
downloading a browser): rows, badges and charts render, filters and search work, the portfolio links to the
experiment pages, no request leaves the site, and screenshots are kept as test artifacts
(EXPTRACK_TEST_ARTIFACTS, default test-artifacts/site/)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from pipeline_support import REPO
from site_support import SHIP_LEARNING, decided_copy

CHROMIUM = os.environ.get("EXPTRACK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"SKIPPED LOUDLY: no Chromium at {CHROMIUM}: install it with `apt-get install chromium` (.ci/run does) "
            "or point EXPTRACK_CHROMIUM at one; the dashboard's browser test did not run"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'"
    )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(demo_run, tmp_path_factory):
    from exptrack_pipeline.site.serve import make_server

    settings = decided_copy(demo_run, tmp_path_factory.mktemp("browser"))
    server = make_server(settings.output_dir / "site", "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", demo_run
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("EXPTRACK_TEST_ARTIFACTS") or REPO / "test-artifacts") / "site"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, served):
    base, _ = served
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    pg = context.new_page()
    requests, errors = [], []
    pg.on("request", lambda r: requests.append(r.url))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    outside = [u for u in requests if not u.startswith(base)]
    assert requests and not outside, f"requests outside the site: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def _visible(pg, selector: str) -> int:
    return sum(1 for el in pg.query_selector_all(selector) if el.is_visible())


def test_portfolio_renders_filters_and_links_to_the_experiment_page(page, served, artifacts):
    base, demo_run = served
    page.goto(base + "index.html")
    ids = demo_run.query("select experiment_id from registry.experiments order by 1")["experiment_id"].tolist()
    assert sorted(el.get_attribute("data-experiment") for el in page.query_selector_all("#portfolio tbody tr")) == ids
    assert _visible(page, "#portfolio .badge[data-check]") == 4 * len(ids)
    assert (
        page.inner_text("tr[data-experiment=checkout_redesign] .badge[data-check=guardrail_harm]") == "guardrails: fail"
    )
    page.screenshot(path=str(artifacts / "portfolio.png"), full_page=True)
    page.select_option("select[data-filter=owner]", "@sam")
    assert _visible(page, "#portfolio tbody tr") == 1 and page.inner_text("#shown") == f"1 of {len(ids)} shown"
    page.select_option("select[data-filter=owner]", "")
    assert _visible(page, "#portfolio tbody tr") == len(ids)
    page.click("tr[data-experiment=homepage_cards] a")
    page.wait_for_url("**/experiments/homepage_cards.html")
    assert "homepage_cards" in page.inner_text("h1")


def test_experiment_page_draws_the_charts_and_toggles_a_variant(page, served, artifacts):
    base, demo_run = served
    page.goto(base + "experiments/homepage_cards.html")
    history = demo_run.query(
        "select variant, count(*) as n from main.experiment_results where experiment_id = 'homepage_cards' "
        "and metric_role = 'primary' group by variant order by variant"
    )
    points = page.query_selector_all("figure[data-chart=cumulative] circle.point")
    assert len(points) == int(history["n"].sum())
    box = points[0].bounding_box()
    assert box and box["width"] > 0  # drawn, not just present in the markup
    assert _visible(page, "figure[data-chart=forest] circle.point") > 0
    assert _visible(page, "figure[data-chart=retention] circle.point") > 0
    page.screenshot(path=str(artifacts / "experiment_homepage_cards.png"), full_page=True)
    variant = history["variant"].iloc[0]
    before = _visible(page, "figure[data-chart=cumulative] circle.point")
    page.uncheck(f"figure[data-chart=cumulative] input[data-toggle={variant}]")
    hidden = int(history.set_index("variant").loc[variant, "n"])
    assert _visible(page, "figure[data-chart=cumulative] circle.point") == before - hidden
    assert page.get_attribute(
        "figure[data-chart=cumulative] circle.point", "data-value"
    )  # the exact number stays in the markup


def test_learnings_search_finds_a_learning(page, served, artifacts):
    base, _ = served
    page.goto(base + "learnings.html")
    assert _visible(page, ".learning-card") == 2
    page.fill("#q", "trust with new")
    assert _visible(page, ".learning-card") == 1
    assert SHIP_LEARNING in page.inner_text(".learning-card[data-experiment=signup_social_proof]")
    page.screenshot(path=str(artifacts / "learnings_search.png"), full_page=True)
    page.fill("#q", "")
    page.select_option("select[data-filter=surface]", "checkout")
    assert _visible(page, ".learning-card") == 1 and page.is_visible(
        ".learning-card[data-experiment=checkout_redesign]"
    )
    page.fill("#q", "no such words")
    assert _visible(page, ".learning-card") == 0 and page.is_visible("#no-match")
    for name in ("weekly", "monthly", "review"):
        page.goto(base + f"{name}.html")
        assert page.inner_text("h1")
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
