"""The weekly and monthly summaries post through the `slack` resource when it has a sender, and not without one."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from exptrack_pipeline.config import Settings
from exptrack_pipeline.defs.lifecycle.assets import monthly_impact_report, weekly_status_report
from exptrack_pipeline.defs.resources import OutputPathsResource, RegistryResource, WarehouseResource


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


class _Sender:
    def __init__(self) -> None:
        self.posts: list[tuple[str, str, list]] = []

    def post(self, channel, text, blocks, metadata=None):
        self.posts.append((channel, text, blocks))


class _Slack:
    leadership_channel = "#exp-leadership"

    def __init__(self, sender) -> None:
        self._sender = sender

    def sender(self):
        return self._sender


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
    sender = _Sender()
    result, settings = _materialize(demo_run, tmp_path, _Slack(sender))
    assert result.success
    assert [channel for channel, _, _ in sender.posts] == ["#experiments", "#experiments"]
    weekly = next(text for _, text, _ in sender.posts if text.startswith("Weekly"))
    running = demo_run.query("select experiment_id from registry.experiments where status = 'running'")["experiment_id"]
    assert all(eid in weekly for eid in running)
    assert str(settings.output_dir / "summaries" / "weekly_status.md") in weekly


def test_summaries_are_files_only_without_a_token(demo_run, tmp_path):
    result, settings = _materialize(demo_run, tmp_path, _Slack(None))
    assert result.success
    assert (settings.output_dir / "summaries" / "weekly_status.md").is_file()
    meta = result.asset_materializations_for_node("weekly_status_report")[0].metadata
    assert "files only" in meta["slack"].value
