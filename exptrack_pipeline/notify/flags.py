"""Feature-flag controllers: what actually stops (or restarts) serving an experiment's variants.

* `none` — exptrack only records the pause; a person switches the flag (the alert says so).
* `webhook` — POST a JSON body to a configured URL:
  {"action": "pause"|"resume", "experiment_id", "status", "reason", "actor", "at", "source": "exptrack"};
  any 2xx answer is success. Point it at your flag service or a small adapter.
* `flagd` — write exptrack's flagd flag-definition file (exptrack_pipeline.flags; served by flagd to any OpenFeature
  SDK).
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Literal, Protocol

FlagStatus = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True)
class FlagResult:
    """What a flag change did: status (ok, failed, skipped) and a detail for people."""

    status: FlagStatus
    detail: str


class FeatureFlagController(Protocol):
    """Switches an experiment's feature flag when monitoring pauses or resumes it."""

    name: str

    def set_status(self, experiment_id: str, status: str, *, reason: str, actor: str) -> FlagResult:
        """Make the flag match `status` ('paused' or 'running'); never raises."""
        ...


class NoFlagController:
    """No controller configured: the pause is recorded, the flag must be switched by hand."""

    name = "none"

    def set_status(self, experiment_id: str, status: str, *, reason: str, actor: str) -> FlagResult:
        """Change nothing; say the flag must be switched by hand."""
        action = "off" if status == "paused" else "back on"
        return FlagResult(
            "skipped", f"no feature-flag controller configured: switch the flag of {experiment_id} {action} by hand"
        )


class WebhookFlagController:
    """POST the change as JSON to `url`; success on HTTP 2xx."""

    name = "webhook"

    def __init__(self, url: str, timeout_seconds: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the feature-flag webhook URL must start with http:// or https://, got {url!r}")
        self.url = url
        self.timeout_seconds = timeout_seconds

    def set_status(self, experiment_id: str, status: str, *, reason: str, actor: str) -> FlagResult:
        """POST the pause or resume to the webhook; the result says whether it took."""
        body = {
            "action": "pause" if status == "paused" else "resume",
            "experiment_id": experiment_id,
            "status": status,
            "reason": reason,
            "actor": actor,
            "at": dt.datetime.now(dt.UTC).isoformat(),
            "source": "exptrack",
        }
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return FlagResult("ok", f"webhook answered HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            return FlagResult("failed", f"webhook answered HTTP {exc.code}; exptrack retries on the next run")
        except (urllib.error.URLError, OSError) as exc:
            reason_text = getattr(exc, "reason", exc)
            return FlagResult("failed", f"webhook unreachable ({reason_text}); exptrack retries on the next run")


def make_controller(
    mode: str, webhook_url: str | None = None, timeout_seconds: float = 10.0, *, connect=None, flag_file=None
) -> FeatureFlagController:
    """`none`, `webhook` (needs `webhook_url`) or `flagd` (exptrack's flag file; needs `connect` and `flag_file`)."""
    if mode == "flagd":
        if connect is None or flag_file is None:
            raise ValueError(
                "feature_flags mode 'flagd' needs the warehouse connection and the flag file (EXPTRACK_FLAG_FILE)"
            )
        from exptrack_pipeline.flags.controller import FlagdFileController

        return FlagdFileController(connect, flag_file)
    if mode == "none":
        return NoFlagController()
    if mode == "webhook":
        if not webhook_url:
            raise ValueError("feature_flags mode 'webhook' needs webhook_url (or EXPTRACK_FLAG_WEBHOOK_URL)")
        return WebhookFlagController(webhook_url, timeout_seconds)
    raise ValueError(f"feature_flags mode must be 'none' or 'webhook', or 'flagd' (exptrack's flag file), got {mode!r}")
