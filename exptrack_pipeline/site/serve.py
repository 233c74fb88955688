"""`exptrack serve`: browse the static site locally with the standard library's HTTP server (no network beyond it)."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8000) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `folder` (port 0 = any free port); the caller runs serve_forever() and shutdown()."""
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(
            f"{folder}/index.html not found: build the site first with `exptrack site` (or `exptrack run ...`)"
        )

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    return http.server.ThreadingHTTPServer((host, port), handler)
