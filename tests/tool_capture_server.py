"""A local HTTP server that receives what the analytics tools' own Python clients send, and writes it out in each
tool's export layout — the landing-zone files exptrack's source presets read.

    with ToolCaptureServer() as server:
        client = segment.analytics.Client("wk", host=server.base_url, sync_mode=True)
        ...
        server.write_segment(raw_dir / "segment")

It binds 127.0.0.1 on a random port and answers like each tool's ingestion API:
- Segment / RudderStack `POST /v1/batch` (JSON, possibly gzip): `{"batch": [message, ...]}`;
- Mixpanel `POST /track` (form field `data`: one event or a list): `{"status": 1}`;
- Amplitude HTTP V2 `POST /2/httpapi`: `{"api_key", "events": [...]}` → `{"code": 200}`;
- Snowplow `POST /com.snowplowanalytics.snowplow/tp2`: `{"schema", "data": [tracker payload, ...]}`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import threading
import zipfile
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

SNOWPLOW_PATH = "/com.snowplowanalytics.snowplow/tp2"


def _parse(path: str, headers, raw: bytes) -> tuple[str, list[dict[str, Any]]]:
    if headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    if path.startswith("/v1/batch"):
        return "segment", json.loads(raw)["batch"]
    if path.startswith("/track"):
        data = json.loads(parse_qs(raw.decode())["data"][0])
        return "mixpanel", data if isinstance(data, list) else [data]
    if path.startswith("/2/httpapi"):
        return "amplitude", json.loads(raw)["events"]
    if path.startswith(SNOWPLOW_PATH):
        return "snowplow", json.loads(raw)["data"]
    raise ValueError(f"unknown endpoint {path}")


class ToolCaptureServer:
    def __init__(self) -> None:
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                tool, messages = _parse(self.path, self.headers, raw)
                with lock:
                    received[tool].extend(messages)
                body = {"segment": {"success": True}, "mixpanel": {"status": 1}, "amplitude": {"code": 200}}.get(
                    tool, {}
                )
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ToolCaptureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------------------------------ export layouts

    def write_segment(self, root: Path, tool: str = "segment") -> None:
        """Segment's / RudderStack's object-storage layout: gzipped JSON lines of the messages as received, one
        file per day of the message timestamp (each message gets `receivedAt`, as the API adds it)."""
        by_day: dict[str, list[dict]] = defaultdict(list)
        for message in self.received[tool]:
            by_day[message["timestamp"][:10]].append({**message, "receivedAt": message["timestamp"]})
        for day, messages in by_day.items():
            folder = root / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            with gzip.open(folder / "batch-0001.jsonl.gz", "wt") as out:
                out.writelines(json.dumps(m) + "\n" for m in messages)

    def write_mixpanel(self, root: Path, time_in_ms: bool = False) -> None:
        """The raw export: JSON lines `{"event", "properties"}` with `time` in seconds (or ms), per day."""
        by_day: dict[str, list[dict]] = defaultdict(list)
        for event in self.received["mixpanel"]:
            props = {k: v for k, v in event["properties"].items() if k != "token"}
            seconds = int(props["time"])
            props["time"] = seconds * 1000 if time_in_ms else seconds
            by_day[dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat()].append(
                {"event": event["event"], "properties": props}
            )
        for day, events in by_day.items():
            folder = root / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "export.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))

    def write_amplitude(self, root: Path, project: str = "187520") -> None:
        """The Export API's zip: per day, one zip of hourly gzipped JSON-lines files
        `<project>/<project>_<day>_<hour>#0.json.gz`
        with the export's fields (`event_time` as UTC text, `$insert_id`, `uuid`, `server_upload_time`)."""
        by_hour: dict[tuple[str, int], list[dict]] = defaultdict(list)
        for number, event in enumerate(self.received["amplitude"]):
            at = dt.datetime.fromtimestamp(event["time"] / 1000, dt.UTC).replace(tzinfo=None)
            exported = {
                "event_type": event["event_type"],
                "user_id": event.get("user_id"),
                "device_id": event.get("device_id"),
                "event_time": at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                "server_upload_time": at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                "$insert_id": event.get("insert_id"),
                "uuid": f"00000000-0000-4000-8000-{number:012d}",
                "event_properties": event.get("event_properties") or {},
                "user_properties": event.get("user_properties") or {},
                "session_id": event.get("session_id", -1),
            }
            by_hour[(at.date().isoformat(), at.hour)].append(exported)
        for day in sorted({d for d, _ in by_hour}):
            folder = root / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(folder / f"{project}_{day.replace('-', '')}.zip", "w") as archive:
                for (d, hour), events in sorted(by_hour.items()):
                    if d == day:
                        body = "".join(json.dumps(e) + "\n" for e in events).encode()
                        archive.writestr(f"{project}/{project}_{d}_{hour}#0.json.gz", gzip.compress(body))

    def write_snowplow(self, root: Path) -> None:
        """Enriched events as the enrichment writes them: 131 tab-separated fields per line in the canonical event
        model's order, made from the tracker payloads (`eid` → event_id, `ttm` → true_tstamp → derived_tstamp,
        `uid` → user_id, `duid` → domain_userid, `se_*` → se_category ... se_value); timestamps UTC with ms."""
        from exptrack_pipeline.sources.snowplow import ENRICHED_FIELDS

        by_day: dict[str, list[str]] = defaultdict(list)
        for payload in self.received["snowplow"]:
            stamp = int(payload.get("ttm") or payload["dtm"])
            at = dt.datetime.fromtimestamp(stamp / 1000, dt.UTC).replace(tzinfo=None)
            text = at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            fields = {
                "app_id": payload.get("aid"),
                "platform": payload.get("p"),
                "event": "struct" if payload.get("e") == "se" else payload.get("e"),
                "event_id": payload["eid"],
                "collector_tstamp": text,
                "dvce_created_tstamp": text,
                "true_tstamp": text,
                "derived_tstamp": text,
                "user_id": payload.get("uid"),
                "domain_userid": payload.get("duid"),
                "domain_sessionid": payload.get("sid"),
                "se_category": payload.get("se_ca"),
                "se_action": payload.get("se_ac"),
                "se_label": payload.get("se_la"),
                "se_property": payload.get("se_pr"),
                "se_value": payload.get("se_va"),
                "name_tracker": payload.get("tna"),
            }
            by_day[at.date().isoformat()].append("\t".join(fields.get(name) or "" for name in ENRICHED_FIELDS) + "\n")
        for day, lines in by_day.items():
            folder = root / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "enriched.tsv").write_text("".join(lines))
