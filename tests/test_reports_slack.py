"""The weekly and monthly summaries post through the `slack` resource (slack_sdk against tests/slack_api_server.py)
when it has a token, and are files only without one."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from slack_api_server import SlackApiServer

from exptrack_pipeline.config import Settings
from exptrack_pipeline.defs.lifecycle.assets import monthly_impact_report, weekly_status_report
from exptrack_pipeline.defs.resources import OutputPathsResource, RegistryResource, SlackResource, WarehouseResource

TOKEN = "xoxb-reports-test"


def make_settings(root: Path, experiments_dir: Path | None = None) -> Settings:
    """Settings under `root` (the session conftest's helper is not importable by name when tests/stats/conftest.py loads
    first)."""
    experiments_dir = experiments_dir or Path(__file__).resolve().parents[1] / "experiments"
    return Settings(
        raw_dir=root / "raw",
        experiments_dir=experiments_dir,
        metrics_file=experiments_dir / "metrics.yaml",
        warehouse=root / "warehouse.duckdb",
        output_dir=root / "output",
    )


def _materialize(demo_run, tmp_path, slack):
    s = demo_run.settings
    settings = make_settings(tmp_path)  # fresh output folder; the demo warehouse is only read
    settings = settings.model_copy(update={"warehouse": s.warehouse})
    return dg.materialize(
        [weekly_status_report, monthly_impact_report],
        resources={
            "warehouse": WarehouseResource(path=str(s.warehouse)),
            "registry": RegistryResource(experiments_dir=str(s.experiments_dir), metrics_file=str(s.metrics_file)),
            "output_paths": OutputPathsResource(root=str(settings.output_dir)),
            "slack": slack,
        },
    ), settings


def test_summaries_post_to_the_portfolio_channel(demo_run, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPTRACK_PORTFOLIO_CHANNEL", "#experiments")
    with SlackApiServer(token=TOKEN) as slack:
        resource = SlackResource(token=TOKEN, base_url=slack.base_url, retry_backoff_seconds=0.01)
        result, settings = _materialize(demo_run, tmp_path, resource)
    assert result.success
    posts = slack.messages
    assert [m["channel"] for m in posts] == ["#experiments", "#experiments"]
    assert all(r.path.endswith("/chat.postMessage") and r.status == 200 for r in slack.requests)
    weekly = next(m["text"] for m in posts if m["text"].startswith("Weekly"))
    monthly = next(m["text"] for m in posts if not m["text"].startswith("Weekly"))
    running = demo_run.query("select experiment_id from registry.experiments where status = 'running'")["experiment_id"]
    assert len(running) and all(eid in weekly for eid in running)
    assert str(settings.output_dir / "summaries" / "weekly_status.md") in weekly
    assert str(settings.output_dir / "summaries" / "monthly_impact.md") in monthly
    meta = result.asset_materializations_for_node("weekly_status_report")[0].metadata
    assert "#experiments" in meta["slack"].value


def test_summaries_are_files_only_without_a_token(demo_run, tmp_path):
    with SlackApiServer(token=TOKEN) as slack:
        result, settings = _materialize(demo_run, tmp_path, SlackResource(token=None, base_url=slack.base_url))
    assert result.success
    assert slack.requests == []
    assert (settings.output_dir / "summaries" / "weekly_status.md").is_file()
    meta = result.asset_materializations_for_node("weekly_status_report")[0].metadata
    assert "files only" in meta["slack"].value
