"""The `flagd` feature-flag controller of the monitoring feature: a pause or resume writes the flag file.

The change itself was recorded in state.flag_changes in the transaction of the pause (notify.state.record_event);
`set_status` writes the file right after that commit. When the write fails (e.g. the file drifted), the status
event's flag call stays `failed` and notify.state.sync_flags retries it on the next run; the daily `feature_flags`
asset writes pending changes too.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from exptrack_pipeline.flags import store
from exptrack_pipeline.flags.sync import Connect, sync
from exptrack_pipeline.notify.flags import FlagResult


class FlagdFileController:
    """Switch flags by writing exptrack's flagd flag file (served by flagd or read by in-process providers)."""

    name = "flagd"

    def __init__(self, connect: Connect, path: Path) -> None:
        self.connect = connect
        self.path = Path(path)

    def set_status(self, experiment_id: str, status: str, *, reason: str, actor: str) -> FlagResult:
        """Write the file with the experiment's recorded flag change; never raises."""
        try:
            outcome = sync(
                self.connect,
                self.path,
                today=dt.datetime.now(dt.UTC).date(),
                actor=actor,
                reason=reason,
                source="monitoring",
                only=[experiment_id],
            )
        except Exception as exc:
            return FlagResult(
                "failed",
                f"flag file {self.path} not written ({type(exc).__name__}: {exc}); exptrack retries on the next run",
            )
        if outcome.error:
            return FlagResult("failed", outcome.error)
        with self.connect() as con:
            mine = store.history(con, experiment_id)
        if mine.empty:
            return FlagResult(
                "skipped", f"{experiment_id} has no flag in {self.path} (is it in the registry? run `exptrack run`)"
            )
        last = mine.iloc[-1]
        return FlagResult(
            "ok",
            f"flag {last['flag_key']} → {last['note']} at {pd.Timestamp(last['changed_at']):%H:%M} UTC ({self.path})",
        )
