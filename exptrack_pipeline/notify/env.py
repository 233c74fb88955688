"""Monitoring settings from the environment, shared by the Dagster resources (defaults) and the CLI.

SLACK_BOT_TOKEN              bot token (xoxb-…); unset → alerts stay in the outbox and are logged as a dry run
EXPTRACK_SLACK_API_URL       Slack Web API base URL (default https://slack.com/api/; tests point it at a local server)
EXPTRACK_LEADERSHIP_CHANNEL  channel of level-3 alerts (default #exp-leadership)
EXPTRACK_DATA_ENG_CHANNEL    channel of pipeline run failures (default #data-eng)
EXPTRACK_DAGSTER_URL         Dagster UI base URL for links in messages (default http://localhost:3000)
EXPTRACK_FLAG_CONTROLLER     flagd | webhook | none (default flagd: exptrack's flag file, EXPTRACK_FLAG_FILE)
EXPTRACK_FLAG_WEBHOOK_URL    URL the webhook controller POSTs pauses and resumes to
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from exptrack_pipeline.notify.slack import DEFAULT_BASE_URL

TOKEN_VAR = "SLACK_BOT_TOKEN"


@dataclass(frozen=True)
class MonitoringEnv:
    """Monitoring settings from the environment: Slack URL and channels, Dagster URL, flag controller."""

    slack_api_url: str = DEFAULT_BASE_URL
    leadership_channel: str = "#exp-leadership"
    data_engineering_channel: str = "#data-eng"
    dagster_url: str = "http://localhost:3000"
    flag_controller: str = "flagd"
    flag_webhook_url: str | None = None

    @property
    def has_token(self) -> bool:
        """True when SLACK_BOT_TOKEN is set."""
        return bool(os.environ.get(TOKEN_VAR))

    @classmethod
    def from_env(cls) -> MonitoringEnv:
        """The settings from the EXPTRACK_* variables, with defaults."""
        get = os.environ.get
        return cls(
            slack_api_url=get("EXPTRACK_SLACK_API_URL") or DEFAULT_BASE_URL,
            leadership_channel=get("EXPTRACK_LEADERSHIP_CHANNEL") or "#exp-leadership",
            data_engineering_channel=get("EXPTRACK_DATA_ENG_CHANNEL") or "#data-eng",
            dagster_url=get("EXPTRACK_DAGSTER_URL") or "http://localhost:3000",
            flag_controller=get("EXPTRACK_FLAG_CONTROLLER") or "flagd",
            flag_webhook_url=get("EXPTRACK_FLAG_WEBHOOK_URL") or None,
        )
