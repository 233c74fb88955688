"""A small simulated product for the source tests: the same experiment, told through each tool and natively.

Two experiments per copy (`<copy>` is `native`, `segment`, `mixpanel`, ...; ids are prefixed so copies never mix):

- `signup_<copy>` randomizes signed-in users (unit user_id): exposure, sessions (session_start, session_end with
  seconds as value) and a signup_completed conversion, all carrying the user id.
- `logout_<copy>` randomizes logged-out visitors (unit anonymous_id, or device_id for Amplitude): the exposure and
  the first session carry only the anonymous id; a visitor who signs up is identified (anonymous id → user id) and
  every later event — the conversion, the next day's session — carries the user id only. Through a tool these
  events reach the anonymous unit only via the identity map; the native copy writes the stitched truth directly
  (the anonymous id in its user_id column), so equal results mean the stitching is exact.

Times are whole seconds (Mixpanel's export has second precision) and every record has a unique id.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import pandas as pd

START = dt.date(2026, 11, 2)
DAYS = 4
END = START + dt.timedelta(days=DAYS - 1)
VARIANTS = ("control", "treatment")
VISITORS = 240


@dataclass
class Record:
    """One thing that happened: kind is exposure, event or identify."""

    kind: str
    at: dt.datetime
    user_id: str | None = None
    anonymous_id: str | None = None
    experiment_id: str | None = None
    variant: str | None = None
    event_name: str | None = None
    value: float | None = None
    record_id: str = ""


@dataclass
class World:
    copy: str
    records: list[Record] = field(default_factory=list)

    def add(self, record: Record) -> None:
        record.record_id = f"{self.copy}-{len(self.records):06d}"  # event ids are unique across copies too
        self.records.append(record)


def experiment_yaml(experiment_id: str, unit: str) -> dict:
    return {
        "id": experiment_id,
        "name": f"Source test {experiment_id}",
        "hypothesis": "The same data through any tool gives the same results.",
        "owner": "@qa",
        "slack_channel": "#exp-qa",
        "status": "running",
        "surface": "signup_page",
        "unit": unit,
        "start_date": START.isoformat(),
        "end_date": END.isoformat(),
        "variants": [{"name": "control", "weight": 0.5, "is_control": True}, {"name": "treatment", "weight": 0.5}],
        "primary_metric": "signup_conversion",
        "secondary_metrics": ["d1_retention", "session_duration"],
        "success_criteria": {"minimum_detectable_effect": 0.1},
    }


def _at(rng: random.Random, day: int, after: dt.datetime | None = None) -> dt.datetime:
    if after is not None:
        return after + dt.timedelta(seconds=rng.randint(30, 3600))
    return dt.datetime.combine(START + dt.timedelta(days=day), dt.time()) + dt.timedelta(
        seconds=rng.randint(0, 20 * 3600)
    )


def _visit(world: World, rng: random.Random, copy: str, logged_out: bool, i: int) -> None:
    experiment = f"{'logout' if logged_out else 'signup'}_{copy}"
    user, anon = f"{copy}_u{int(logged_out)}_{i}", f"{copy}_a{int(logged_out)}_{i}"
    variant = VARIANTS[rng.random() < 0.5]
    day = rng.randrange(DAYS)
    exposed = _at(rng, day)
    ids = {"anonymous_id": anon} if logged_out else {"user_id": user}
    world.add(Record("exposure", exposed, experiment_id=experiment, variant=variant, **ids))
    start = _at(rng, day, exposed)
    world.add(Record("event", start, event_name="session_start", **ids))
    converts = rng.random() < (0.45 if variant == "treatment" else 0.3)
    if logged_out and converts:
        identified = _at(rng, day, start)
        world.add(Record("identify", identified, user_id=user, anonymous_id=anon))
        ids = {"user_id": user}  # from here on the server logs the user id only
        start = identified
    world.add(Record("event", _at(rng, day, start), event_name="session_end", value=float(rng.randint(10, 900)), **ids))
    if converts:
        world.add(Record("event", _at(rng, day, start), event_name="signup_completed", **ids))
    if rng.random() < (0.5 if converts else 0.2):
        next_day = _at(rng, day + 1)
        world.add(Record("event", next_day, event_name="session_start", **ids))


def simulate(copy: str, seed: int = 5) -> World:
    """The same visitors (same seed) for every copy; only the ids' prefix differs."""
    rng = random.Random(seed)
    world = World(copy)
    for i in range(VISITORS):
        _visit(world, rng, copy, logged_out=i % 2 == 1, i=i)
    return world


def native_rows(world: World) -> tuple[list[dict], list[dict]]:
    """The stitched truth in the native contract: exposures and events keyed by the experiment's unit id."""
    unit_of_user = {r.user_id: r.anonymous_id for r in world.records if r.kind == "identify"}
    exposures, events = [], []
    for r in world.records:
        unit = r.anonymous_id or unit_of_user.get(r.user_id, r.user_id)
        stamp = r.at.isoformat() + "Z"
        if r.kind == "exposure":
            exposures.append(
                {"user_id": unit, "experiment_id": r.experiment_id, "variant": r.variant, "exposed_at": stamp}
            )
        elif r.kind == "event":
            value = "" if r.value is None else repr(r.value)
            events.append(
                {
                    "event_id": r.record_id,
                    "user_id": unit,
                    "event_name": r.event_name,
                    "occurred_at": stamp,
                    "value": value,
                }
            )
    return exposures, events


SEGMENT_VALUES_VIEW = (
    "create view segment_prod.tracks_with_values as select tracks.*, session_end.value from segment_prod.tracks "
    "left join segment_prod.session_end using (id)"
)
"""A view adding the session_end table's `value` to tracks (the sources YAML reads events from it)."""


def segment_warehouse_frames(world: World) -> dict[str, pd.DataFrame]:
    """Segment's warehouse schema (https://segment.com/docs/connections/storage/warehouses/schema/): `tracks` (every
    track call), a table per event with its properties as columns (`experiment_viewed`, `session_end`) and
    `identifies`; each a frame to create in schema segment_prod."""
    tracks = [
        {
            "id": r.record_id,
            "anonymous_id": r.anonymous_id,
            "user_id": r.user_id,
            "event": "Experiment Viewed" if r.kind == "exposure" else r.event_name,
            "timestamp": r.at,
        }
        for r in world.records
        if r.kind != "identify"
    ]
    viewed = [
        {
            "id": r.record_id,
            "anonymous_id": r.anonymous_id,
            "user_id": r.user_id,
            "experiment_id": r.experiment_id,
            "variation_id": r.variant,
            "timestamp": r.at,
        }
        for r in world.records
        if r.kind == "exposure"
    ]
    ended = [
        {"id": r.record_id, "value": r.value, "timestamp": r.at} for r in world.records if r.event_name == "session_end"
    ]
    identifies = [
        {"id": r.record_id, "anonymous_id": r.anonymous_id, "user_id": r.user_id, "timestamp": r.at}
        for r in world.records
        if r.kind == "identify"
    ]
    return {
        name: pd.DataFrame(rows)
        for name, rows in (
            ("tracks", tracks),
            ("experiment_viewed", viewed),
            ("session_end", ended),
            ("identifies", identifies),
        )
    }


def native_frames(world: World) -> dict[str, pd.DataFrame]:
    """The native contract's `exposures` and `events` as warehouse tables (typed timestamps and values)."""
    exposures, events = (pd.DataFrame(rows) for rows in native_rows(world))
    exposures["exposed_at"] = pd.to_datetime(exposures["exposed_at"]).dt.tz_localize(None)
    events["occurred_at"] = pd.to_datetime(events["occurred_at"]).dt.tz_localize(None)
    events["value"] = pd.to_numeric(events["value"].replace("", None))
    return {"exposures": exposures, "events": events}
