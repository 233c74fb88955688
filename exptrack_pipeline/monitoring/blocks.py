"""Slack Block Kit rendering of an alert: what happened, the numbers, what to do, and a link to Dagster.

Layout (https://api.slack.com/reference/block-kit/blocks): header → "What happened" section → fields
(experiment, level, trigger, dates) → "The numbers" section → "What to do" section → context (who is
mentioned, the alert key) → an "Open in Dagster" button. Texts are cut to Slack's limits
(header 150 characters, section text 3000, field 2000).
"""

from __future__ import annotations

from typing import Any

from exptrack_pipeline.monitoring.model import LEVEL_NAMES
from exptrack_pipeline.monitoring.triggers import Alert

EMOJI = {0: ":information_source:", 1: ":warning:", 2: ":rotating_light:", 3: ":octagonal_sign:"}
HIDDEN_DETAILS = {"segments", "pairs", "alerting"}  # long lists: the failing rows are under their own key


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k} = {_value(x)}" for k, x in v.items())
    if isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v):
        return (
            " .. ".join(_value(x) for x in v)
            if len(v) == 2 and all(isinstance(x, (int, float)) for x in v)
            else ", ".join(_value(x) for x in v)
        )
    return str(v)


def numbers_text(details: dict[str, Any], limit: int = 2800) -> str:
    """The numbers behind a verdict as a short mrkdwn bullet list."""
    lines: list[str] = []
    for key, v in details.items():
        if key in HIDDEN_DETAILS or v in (None, [], {}):
            continue
        label = key.replace("_", " ")
        if isinstance(v, list) and v and isinstance(v[0], dict):
            lines.append(f"• *{label}*:")
            lines += [f"    – {_value(row)}" for row in v[:6]]
            if len(v) > 6:
                lines.append(f"    – … and {len(v) - 6} more")
        else:
            lines.append(f"• *{label}*: {_value(v)}")
    return _cut("\n".join(lines) or "_no numbers_", limit)


def mention(recipient: str) -> str:
    """Slack mention syntax for user ids (U…/W…); handles like '@sam' and channels are shown as written."""
    if recipient[:1] in {"U", "W"} and recipient[1:].isalnum() and recipient.isupper():
        return f"<@{recipient}>"
    return recipient


def asset_url(dagster_url: str, asset: str = "experiment_health") -> str:
    """Link to the asset's checks in the Dagster UI."""
    return f"{dagster_url.rstrip('/')}/assets/{asset}?view=checks"


def render(alert: Alert, dagster_url: str, status_note: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for one alert. `status_note` says whether and how the experiment was paused."""
    level = LEVEL_NAMES[alert.level]
    header = f"{EMOJI[alert.level]} {alert.title}"
    cc = " ".join(mention(m) for m in alert.mentions)
    todo = alert.action + (f"\n{status_note}" if status_note else "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(header, 150), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*What happened*\n{alert.summary}", 3000)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Experiment*\n`{alert.experiment_id}`"},
                {"type": "mrkdwn", "text": f"*Level*\n{level}"},
                {"type": "mrkdwn", "text": f"*Trigger*\n{alert.trigger}"},
                {"type": "mrkdwn", "text": f"*Data through*\n{alert.as_of.isoformat()}"},
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "*The numbers*\n" + numbers_text(alert.details)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*What to do*\n{todo}", 3000)}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _cut((f"cc {cc} · " if cc else "") + f"alert `{alert.key}` · exptrack", 2000),
                }
            ],
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open in Dagster"},
                    "url": asset_url(dagster_url),
                    "action_id": "open_dagster",
                }
            ],
        },
    ]
    text = _cut(
        f"[exptrack] {level} · {alert.experiment_id}: {alert.summary}"
        + (f" {status_note}" if status_note else "")
        + (f" cc {cc}" if cc else ""),
        3000,
    )
    return text, blocks


def render_run_failure(job_name: str, run_id: str, message: str, dagster_url: str) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for a failed pipeline run, for the data-engineering channel."""
    url = f"{dagster_url.rstrip('/')}/runs/{run_id}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(f":x: Run of {job_name} failed", 150), "emoji": True},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*What happened*\n{message}", 3000)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Job*\n`{job_name}`"},
                {"type": "mrkdwn", "text": f"*Run*\n`{run_id}`"},
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*What to do*\nOpen the run's logs, fix the cause and re-execute from the failed step; "
                "results and alerts of the day are not up to date until then.",
            },
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the run"},
                    "url": url,
                    "action_id": "open_run",
                }
            ],
        },
    ]
    return _cut(f"[exptrack] Run of {job_name} failed ({run_id}): {message}", 3000), blocks
