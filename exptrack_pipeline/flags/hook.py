"""Exposure logging from the application side: an OpenFeature hook that writes exptrack's exposure rows.

    from openfeature import api
    from exptrack_pipeline.flags.hook import ExposureHook, LandingZoneExposures

    client = api.get_client()
    client.add_hooks([ExposureHook(LandingZoneExposures("/data/raw"))])
    variant = client.get_string_value("checkout_redesign", "control", EvaluationContext(targeting_key=user_id,
    attributes={"platform": "ios"}))

The hook runs at the `after` stage of every successful evaluation. It writes a row only for flags exptrack manages
(flag metadata `managed_by: exptrack`) while they split traffic (`serving: split`, or `ship_ramp` while a shipped
variant ramps up, so monitoring keeps judging its guardrails against control): an evaluation while the experiment is
paused, not started or fully shipped is not an exposure to the experiment (everyone gets the same variant), so it is
not logged and cannot distort the comparison. The row follows the exposure contract (README: input
contract): `user_id` (the evaluation context's targeting key, the experiment's unit), `experiment_id` (from the flag
metadata), `variant` (the variant flagd served), `exposed_at` (UTC, ISO-8601), and the context's attributes as extra
columns (segments). Assignment and analysis so use the same flag definitions.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from openfeature.flag_evaluation import FlagEvaluationDetails
from openfeature.hook import Hook, HookContext, HookHints

Row = dict[str, object]
CONTRACT_COLUMNS = ("user_id", "experiment_id", "variant", "exposed_at")
SPLITTING = ("split", "ship_ramp")  # servings that compare variants (flags.definition.Mode)


def exposure_row(hook_context: HookContext, details: FlagEvaluationDetails, at: dt.datetime) -> Row | None:
    """The exposure row of one evaluation, or None when it is not an exposure to a running split of exptrack's."""
    meta = details.flag_metadata or {}
    unit = hook_context.evaluation_context.targeting_key if hook_context.evaluation_context else None
    if (
        details.error_code is not None
        or meta.get("managed_by") != "exptrack"
        or meta.get("serving") not in SPLITTING
        or not unit
    ):
        return None
    row: Row = {
        "user_id": unit,
        "experiment_id": meta["experiment_id"],
        "variant": details.variant or details.value,
        "exposed_at": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    attributes = hook_context.evaluation_context.attributes or {}
    row.update(
        {k: v for k, v in attributes.items() if k not in CONTRACT_COLUMNS and isinstance(v, (str, int, float, bool))}
    )
    return row


class ExposureHook(Hook):
    """OpenFeature `after` hook: hands every exposure row to `sink` (e.g. LandingZoneExposures, or your event
    pipeline)."""

    def __init__(
        self, sink: Callable[[Row], None], clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        self.sink = sink
        self.clock = clock

    def after(self, hook_context: HookContext, details: FlagEvaluationDetails, hints: HookHints) -> None:
        """After each evaluation, pass its exposure row (if it is one) to the sink."""
        row = exposure_row(hook_context, details, self.clock())
        if row is not None:
            self.sink(row)


class LandingZoneExposures:
    """Append exposure rows as JSON lines to `<raw_dir>/exposures/date=YYYY-MM-DD/<name>-<pid>.jsonl` (thread-safe).

    One file per process and day; exptrack loads a day when its partition runs (the next day), so a file is complete
    by then. A line cut short by a crash is quarantined alone (with its line number), never silently dropped.
    """

    def __init__(self, raw_dir: str | Path, name: str = "openfeature") -> None:
        self.raw_dir = Path(raw_dir)
        self.name = name
        self._lock = threading.Lock()

    def path_for(self, day: str) -> Path:
        """The JSON-lines file of `day` for this process."""
        return self.raw_dir / "exposures" / f"date={day}" / f"{self.name}-{os.getpid()}.jsonl"

    def __call__(self, row: Row) -> None:
        """Append the row to its day's file (thread-safe)."""
        path = self.path_for(str(row["exposed_at"])[:10])
        line = json.dumps(row, sort_keys=True) + "\n"
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line)
