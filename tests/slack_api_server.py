"""A local HTTP server that speaks enough of the Slack Web API for tests (chat.postMessage, auth.test).

    with SlackApiServer(token="xoxb-test") as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        slack.fail_next(429, retry_after=1)      # next request: HTTP 429 with Retry-After
        slack.fail_next(503, times=2)            # then two HTTP 503
        slack.down(); slack.up()                 # refuse connections (outage), then listen again on the same port

It binds 127.0.0.1 on a random port, records every request (`requests`), keeps accepted messages (`messages`),
answers like Slack (`{"ok": true, "channel": "C…", "ts": "…"}`; `invalid_auth` for a wrong token;
`channel_not_found` for channels not starting with '#', 'C', 'G', 'U' or 'W').
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class Planned:
    status: int
    retry_after: int | None = None
    body: dict[str, Any] | None = None


@dataclass
class _State:
    token: str
    requests: list[Recorded] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    plan: deque[Planned] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    seq: int = 0


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if "json" in (self.headers.get("Content-Type") or ""):
                body = json.loads(raw or "{}")
            else:
                body = {k: v[0] for k, v in parse_qs(raw).items()}
            with state.lock:
                planned = state.plan.popleft() if state.plan else None
                status, payload, headers = self._answer(planned, body)
                state.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body, status))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, planned: Planned | None, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
            if planned is not None:
                headers = {"Retry-After": str(planned.retry_after)} if planned.retry_after is not None else {}
                default = {"ok": False, "error": "ratelimited" if planned.status == 429 else "internal_error"}
                return planned.status, planned.body or default, headers
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            method = self.path.rsplit("/", 1)[-1]
            if method == "auth.test":
                return 200, {"ok": True, "team": "exptrack-test", "user": "exptrack"}, {}
            if method != "chat.postMessage":
                return 200, {"ok": False, "error": "unknown_method"}, {}
            channel = str(body.get("channel", ""))
            if not channel or channel[0] not in "#CGUW":
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            state.seq += 1
            ts = f"{int(time.time())}.{state.seq:06d}"
            channel_id = "C" + format(abs(hash(channel)) % 10**8, "08d")
            state.messages.append(
                {
                    "channel": channel,
                    "channel_id": channel_id,
                    "ts": ts,
                    "text": body.get("text"),
                    "blocks": body.get("blocks"),
                    "metadata": body.get("metadata"),
                }
            )
            return 200, {"ok": True, "channel": channel_id, "ts": ts, "message": {"text": body.get("text")}}, {}

    return Handler


class SlackApiServer:
    """Start with `with SlackApiServer() as s:` (or start()/stop()); point WebClient(base_url=s.base_url) at it."""

    def __init__(self, token: str = "xoxb-test-token") -> None:
        self._state = _State(token=token)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # life cycle ---------------------------------------------------------------------------------
    def start(self) -> SlackApiServer:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self._state))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def down(self) -> None:
        """Outage: stop listening (connections are refused) but keep the recordings and the port."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same port after `down()`."""
        if self._server is None:
            self.start()

    def __enter__(self) -> SlackApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # behaviour and recordings -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def token(self) -> str:
        return self._state.token

    def fail_next(
        self, status: int, *, retry_after: int | None = None, times: int = 1, body: dict[str, Any] | None = None
    ) -> None:
        """Answer the next `times` requests with HTTP `status` (429 with `retry_after` seconds, 500, 503, …)."""
        with self._state.lock:
            for _ in range(times):
                self._state.plan.append(Planned(status, retry_after, body))

    @property
    def requests(self) -> list[Recorded]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return list(self._state.messages)

    def reset(self) -> None:
        with self._state.lock:
            self._state.requests.clear()
            self._state.messages.clear()
            self._state.plan.clear()
