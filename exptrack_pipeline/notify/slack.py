"""Post Block Kit messages with slack_sdk's WebClient and its own retry handlers; never leak the token.

Retries (slack_sdk.http_retry.builtin_handlers): RateLimitErrorRetryHandler waits for Retry-After on HTTP 429,
ServerErrorRetryHandler retries HTTP 500/503, ConnectionErrorRetryHandler retries connection failures — all
inside one `post`. What still fails becomes a :class:`DeliveryError` (the outbox keeps the alert for a later tick).
The bot token is only ever in the Authorization header (slack_sdk redacts it in its debug logs); every message
exptrack produces passes through :func:`scrub` as well.
"""

from __future__ import annotations

import logging
import urllib.error
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

DEFAULT_BASE_URL = "https://slack.com/api/"
log = logging.getLogger("exptrack.notify.slack")


class DeliveryError(Exception):
    """A message could not be posted. `unavailable` is True when Slack itself is down or throttling (unreachable,
    HTTP 5xx or 429 after the retries): the deliverer then stops for this tick instead of trying every alert."""

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


@dataclass(frozen=True)
class Posted:
    """A posted message: its ts and channel id."""

    ts: str
    channel_id: str


def scrub(text: str, secret: str | None) -> str:
    """`text` with the secret (and its bearer form) replaced by ***."""
    return text.replace(secret, "***") if secret else text


class _ScrubFilter(logging.Filter):
    """Replace known tokens in every record of the client's logger (belt and braces: slack_sdk does not log them)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for secret in self.secrets:
                message = scrub(message, secret)
            record.msg, record.args = message, ()
        return True


_SCRUB = _ScrubFilter()
_CLIENT_LOGGER = logging.getLogger("exptrack.notify.slack_sdk")
_CLIENT_LOGGER.addFilter(_SCRUB)


class SlackSender:
    """chat.postMessage through one WebClient with rate-limit, server-error and connection retries."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_seconds: float = 10.0,
        rate_limit_retries: int = 2,
        server_error_retries: int = 2,
        connection_retries: int = 1,
        backoff_seconds: float = 0.5,
    ) -> None:
        if not token:
            raise ValueError("SlackSender needs a bot token; without one, alerts are a dry run")
        self._token = token
        self.base_url = base_url
        backoff = BackoffRetryIntervalCalculator(backoff_factor=backoff_seconds)
        _SCRUB.secrets.add(token)
        self._client = WebClient(
            token=token,
            base_url=base_url,
            timeout=int(max(1, timeout_seconds)),
            logger=_CLIENT_LOGGER,
            retry_handlers=[
                RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
                ServerErrorRetryHandler(max_retry_count=server_error_retries, interval_calculator=backoff),
                ConnectionErrorRetryHandler(max_retry_count=connection_retries, interval_calculator=backoff),
            ],
        )

    def __repr__(self) -> str:  # never show the token
        return f"SlackSender(base_url={self.base_url!r}, token=***)"

    def post(
        self, channel: str, text: str, blocks: list[dict[str, Any]], metadata: dict[str, Any] | None = None
    ) -> Posted:
        """Post one message; returns its ts and channel id, or raises DeliveryError (token-free message)."""
        try:
            response = self._client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, metadata=metadata, unfurl_links=False
            )
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = data.get("error") or "unexpected response"
            status = int(exc.response.status_code)
            message = f"Slack refused the message to {channel}: {error} (HTTP {status})"
            raise DeliveryError(scrub(message, self._token), unavailable=status >= 500 or status == 429) from None
        except (urllib.error.URLError, OSError, SlackClientError) as exc:
            message = f"Slack API at {self.base_url} unreachable posting to {channel}: {type(exc).__name__}: {exc}"
            raise DeliveryError(scrub(message, self._token), unavailable=True) from None
        return Posted(ts=str(response.get("ts")), channel_id=str(response.get("channel") or channel))
