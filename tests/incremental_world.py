"""A tiny seeded world for the incremental-model tests: landing-zone days, late and re-sent data, registry edits.

The world keeps every partition's raw rows and the registry as plain data; `write` puts the whole state into a
warehouse (raw tables replaced, registry tables rebuilt through the real registry loader), as ingestion and the
registry asset would. Every operation is one of the hard cases of issue 16; each returns what it touched, and
`snapshot()` / `changed_scope()` say which partitions, metrics and experiments differ between two states of the
world — what a run's refresh scope must be, found from the inputs alone (not from the models under test).
The registry edits live in incremental_registry.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from incremental_registry import FIRST_DAY, METRICS, RegistryEdits, experiment

USERS = [f"u{i:03d}" for i in range(60)]
ANONYMOUS = [f"anon-{i}" for i in range(12)]
EVENT_NAMES = ["purchase", "session_start", "checkout_started"]
PLATFORMS = ["ios", "android", "web"]
EVENTS_PER_DAY, EXPOSURES_PER_DAY = 60, 20


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


class World(RegistryEdits):
    """Raw partitions and a registry, changed by the hard-case operations below (all seeded)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.days: list[dt.date] = []
        self.exposures: dict[dt.date, pd.DataFrame] = {}
        self.events: dict[dt.date, pd.DataFrame] = {}
        self.identities = [("u000", "anon-0")]
        self.metrics = copy.deepcopy(METRICS)
        self.experiments = {
            "exp_a": experiment(
                "exp_a", 0, 20, ["revenue_per_user", "purchases_per_checkout", "d1_retention", "order_value_p50"]
            ),
            "exp_b": experiment("exp_b", 1, 20, ["revenue_per_user"], phases=[(1, 0.2), (4, 0.5)]),
        }
        self.serial = 0

    # -- data ---------------------------------------------------------------------------------------------------

    def _event_rows(self, day: dt.date, count: int, back_days: int = 0) -> list[dict]:
        rows = []
        for _ in range(count):
            self.serial += 1
            occurred = dt.datetime.combine(day, dt.time()) - dt.timedelta(days=int(self.rng.integers(0, back_days + 1)))
            anonymous = self.rng.random() < 0.1  # a logged-out event: the identity map resolves it, or nothing does
            rows.append(
                {
                    "event_id": f"e{self.serial:06d}",
                    "user_id": None if anonymous else str(self.rng.choice(USERS)),
                    "anonymous_id": str(self.rng.choice(ANONYMOUS)) if anonymous else None,
                    "event_name": str(self.rng.choice(EVENT_NAMES, p=[0.3, 0.5, 0.2])),
                    "occurred_at": occurred + dt.timedelta(seconds=int(self.rng.integers(0, 86_400))),
                    "value": round(float(self.rng.gamma(2.0, 20.0)), 2),
                }
            )
        return rows

    def _exposure_rows(self, day: dt.date, count: int) -> list[dict]:
        rows = []
        for _ in range(count):
            user = str(self.rng.choice(USERS))
            rows.append(
                {
                    "user_id": user,
                    "experiment_id": str(self.rng.choice(["exp_a", "exp_b", "exp_c", "exp_d"])),
                    "variant": "treatment" if int(user[1:]) % 2 else "control",
                    "exposed_at": dt.datetime.combine(day, dt.time())
                    + dt.timedelta(seconds=int(self.rng.integers(0, 86_400))),
                    "platform": str(self.rng.choice(PLATFORMS)),
                }
            )
        return rows

    def new_day(self) -> dt.date:
        """The next landing-zone day: exposures to every experiment (exp_c's, exp_d's unknown until registered)."""
        day = FIRST_DAY + dt.timedelta(days=len(self.days))
        self.days.append(day)
        self.exposures[day] = pd.DataFrame(self._exposure_rows(day, EXPOSURES_PER_DAY))
        self.events[day] = pd.DataFrame(self._event_rows(day, EVENTS_PER_DAY))
        return day

    def _first_exposures(self, experiment_id: str) -> pd.Series:
        """The first exposure time of each unit a registered experiment analyses, as far as the world can tell: seen in
        one variant only, first exposed within the experiment's dates (a ramp's phases aside)."""
        definition = self.experiments.get(experiment_id)
        exposed = pd.concat(self.exposures.values())
        exposed = exposed[exposed["experiment_id"] == experiment_id]
        if definition is None or exposed.empty:
            return pd.Series(dtype="datetime64[ns]")
        units = exposed.groupby("user_id").agg(first=("exposed_at", "min"), variants=("variant", "nunique"))
        dates = units["first"].dt.date
        analysed = (units["variants"] == 1) & (dates >= definition["start_date"]) & (dates <= definition["end_date"])
        return units.loc[analysed, "first"]

    def late_events(self) -> dt.date:
        """Events of earlier days arriving in the latest partition."""
        day = self.days[-1]
        self.events[day] = pd.concat([self.events[day], pd.DataFrame(self._event_rows(day, 12, back_days=4))])
        return day

    def resend_day(self) -> dt.date:
        """An earlier day re-sent: some rows dropped, some values changed, some rows added."""
        day = self.days[int(self.rng.integers(0, len(self.days) - 1))] if len(self.days) > 1 else self.days[0]
        frame = self.events[day].sample(frac=0.8, random_state=int(self.rng.integers(0, 1 << 30)))
        frame = frame.assign(value=frame["value"] * np.where(self.rng.random(len(frame)) < 0.2, 1.5, 1.0))
        self.events[day] = pd.concat([frame, pd.DataFrame(self._event_rows(day, 8))])
        return day

    def resend_without_unit(self) -> dt.date:
        """An earlier day re-sent with fewer rows: every event of one unit that day dropped, nothing added (the unit
        disappears from that day; its sums and deltas must lose what the day gave it). The unit is one exp_a analyses,
        active that day within four days of its exposure, linked to no anonymous id and absent from every later
        partition (the latest such day): afterwards no partition from the re-sent day on holds a row of it, so only
        the rows replaced say it changed (int_refresh_replaced_units). Without such a unit, any unit of the day."""
        linked = {user for user, _ in self.identities}
        first = self._first_exposures("exp_a")
        for position in range(len(self.days) - 2, -1, -1):
            day, frame = self.days[position], self.events[self.days[position]]
            later = {user for d in self.days[position + 1 :] for user in self.events[d]["user_id"].dropna()}
            active = frame[frame["user_id"].isin(first.index) & ~frame["user_id"].isin(later | linked)]
            exposed = active["user_id"].map(first)
            near = (active["occurred_at"] >= exposed) & (active["occurred_at"] < exposed + pd.Timedelta(days=4))
            users = sorted(set(active.loc[near, "user_id"]))
            if users:
                self.events[day] = frame[frame["user_id"] != self.rng.choice(users)]
                return day
        day = self.days[int(self.rng.integers(0, len(self.days) - 1))] if len(self.days) > 1 else self.days[0]
        frame = self.events[day]
        users = sorted(frame["user_id"].dropna().unique())
        if users:
            self.events[day] = frame[frame["user_id"] != self.rng.choice(users)]
        return day

    def shift_cap(self) -> dt.date:
        """A sale on the latest day: every purchase that day is a small one, and every unit exp_a and exp_b analyse
        within revenue_per_user's window buys once more (at 23:59). The units without a purchase so far enter the
        percentile cap's population below the others, the units at the top gain next to nothing: with ten units or
        more the 90th percentile falls to a lower rank, under the earlier running total of the top unit (or, when
        units were above the old cap already, any move crosses one). Only the latest day's events changed, yet the
        capped values of earlier days, whose deltas were built with the old cap, move: they must be rebuilt
        (int_refresh_caps against int_metric_caps)."""
        day = self.days[-1]
        window = next(m for m in self.metrics if m["id"] == "revenue_per_user")["window_days"]
        since = dt.datetime.combine(day, dt.time()) - dt.timedelta(days=window - 1)
        users = sorted(
            {user for e in ("exp_a", "exp_b") for user, first in self._first_exposures(e).items() if first >= since}
        )
        rows = pd.DataFrame(self._event_rows(day, len(users)))
        if users:
            rows = rows.assign(
                user_id=users,
                anonymous_id=None,
                event_name="purchase",
                occurred_at=since + dt.timedelta(days=window - 1, hours=23, minutes=59),
            )
        frame = pd.concat([self.events[day], rows])
        small = np.round(0.5 + self.rng.random(len(frame)), 2)
        self.events[day] = frame.assign(value=np.where(frame["event_name"] == "purchase", small, frame["value"]))
        return day

    def duplicate_later(self) -> dt.date:
        """Copies of earlier events (same event id) arriving days later, some with another payload."""
        day = self.days[-1]
        earlier = pd.concat([self.events[d] for d in self.days[:-1]] or [self.events[day]])
        copies = earlier.sample(n=min(5, len(earlier)), random_state=int(self.rng.integers(0, 1 << 30)))
        self.events[day] = pd.concat([self.events[day], copies.assign(value=copies["value"] + 1.0)])
        return day

    def duplicate_earlier(self) -> dt.date:
        """An earlier day re-sent with a copy of an event first seen in a later day: the first copy moves earlier."""
        if len(self.days) < 3:
            return self.duplicate_later()
        day = self.days[int(self.rng.integers(0, len(self.days) - 2))] if self.days else self.days[0]
        later = self.events[self.days[-1]].head(3)
        self.events[day] = pd.concat([self.events[day], later.assign(value=later["value"] * 2)])
        return day

    def first_exposure_earlier(self, experiment_id: str = "exp_a") -> dt.date:
        """Exposures arriving late for exposed units, dated before their first exposure."""
        day = self.days[-1]
        exposed = pd.concat(self.exposures.values())
        exposed = exposed[exposed["experiment_id"] == experiment_id].sort_values("exposed_at").tail(4)
        late = exposed.assign(exposed_at=exposed["exposed_at"] - pd.Timedelta(days=2), platform="web")
        self.exposures[day] = pd.concat([self.exposures[day], late])
        return day

    def multi_variant(self) -> dt.date:
        """Exposed units seen in the other variant too (they leave the analysis)."""
        day = self.days[-1]
        exposed = pd.concat(self.exposures.values())
        exposed = exposed.iloc[self.rng.choice(len(exposed), size=min(3, len(exposed)), replace=False)]
        other = exposed.assign(variant=np.where(exposed["variant"] == "control", "treatment", "control"))
        self.exposures[day] = pd.concat([self.exposures[day], other])
        return day

    def late_exposures(self) -> dt.date:
        """Exposures of earlier days (new units and known ones) arriving in the latest partition."""
        day = self.days[-1]
        late = pd.DataFrame(self._exposure_rows(day, 6))
        back = self.rng.integers(1, min(len(self.days), 5) + 1, size=len(late))
        late["exposed_at"] = late["exposed_at"] - pd.to_timedelta(back, unit="D")
        self.exposures[day] = pd.concat([self.exposures[day], late])
        return day

    def second_variant_later(self) -> dt.date:
        """Units analysed days ago seen in the other variant today (they become multi-variant and leave)."""
        day = self.days[-1]
        earlier = pd.concat([self.exposures[d] for d in self.days[:-3]] or [self.exposures[day]])
        seen = earlier.iloc[self.rng.choice(len(earlier), size=min(2, len(earlier)), replace=False)]
        other = seen.assign(
            variant=np.where(seen["variant"] == "control", "treatment", "control"),
            exposed_at=dt.datetime.combine(day, dt.time(12)),
        )
        self.exposures[day] = pd.concat([self.exposures[day], other])
        return day

    def resend_exposures(self) -> dt.date:
        """An earlier exposure day re-sent: some rows dropped (a unit may lose its only or first exposure), some
        added."""
        day = self.days[int(self.rng.integers(0, len(self.days) - 1))] if len(self.days) > 1 else self.days[0]
        frame = self.exposures[day].sample(frac=0.7, random_state=int(self.rng.integers(0, 1 << 30)))
        self.exposures[day] = pd.concat([frame, pd.DataFrame(self._exposure_rows(day, 4))])
        return day

    def drop_unit_exposures(self) -> dt.date:
        """An earlier exposure day re-sent without one unit's rows, nothing added. Preferably a unit of a registered
        experiment (exp_a first) exposed to it within its dates in that partition only (the latest such day): it
        leaves the analysis, and only the rows replaced say so (int_refresh_replaced_exposure_units); else a unit
        exposed only that day (to anything), else any unit of the day (another's first exposure moves later)."""
        for experiment_id in ["exp_a", *sorted(set(self.experiments) - {"exp_a"})]:
            first = self._first_exposures(experiment_id)
            for position in range(len(self.days) - 2, -1, -1):
                day = self.days[position]
                elsewhere = {
                    user
                    for other, rows in self.exposures.items()
                    if other != day
                    for user in rows.loc[rows["experiment_id"] == experiment_id, "user_id"]
                }
                frame = self.exposures[day]
                mine = frame.loc[frame["experiment_id"] == experiment_id, "user_id"]
                users = sorted(set(mine[mine.isin(first.index)]) - elsewhere)
                if users:
                    self.exposures[day] = frame[frame["user_id"] != self.rng.choice(users)]
                    return day
        day = self.days[int(self.rng.integers(0, len(self.days) - 1))] if len(self.days) > 1 else self.days[0]
        frame = self.exposures[day]
        elsewhere = {user for other, rows in self.exposures.items() if other != day for user in rows["user_id"]}
        users = sorted(set(frame["user_id"]) - elsewhere) or sorted(set(frame["user_id"]))
        self.exposures[day] = frame[frame["user_id"] != self.rng.choice(users)]
        return day

    def identity_change(self) -> str:
        """An anonymous id linked to a user (an identify call): its logged-out events now count for that user."""
        linked = {anonymous for _, anonymous in self.identities}
        free = [anonymous for anonymous in ANONYMOUS if anonymous not in linked] or ANONYMOUS
        self.identities.append((str(self.rng.choice(USERS)), str(self.rng.choice(free))))
        return "identity_map"

    # -- output -------------------------------------------------------------------------------------------------

    def registry_tables(self, folder: Path) -> dict[str, pd.DataFrame]:
        """The registry as the registry asset writes it: YAML files read by the real loader."""
        from exptrack_pipeline.config import load_registry
        from exptrack_pipeline.config.tables import registry_tables

        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        (folder / "metrics.yaml").write_text(yaml.safe_dump({"metrics": self.metrics}, sort_keys=False))
        for experiment_id, definition in self.experiments.items():
            (folder / f"{experiment_id}.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
        return registry_tables(load_registry(folder, folder / "metrics.yaml"))

    def raw_tables(self) -> dict[str, pd.DataFrame]:
        """raw.exposures, raw.exposure_attributes, raw.events and raw.identities as ingestion leaves them."""

        def stamped(frames: dict[dt.date, pd.DataFrame]) -> pd.DataFrame:
            parts = [
                frame.reset_index(drop=True).assign(
                    partition_date=day, source_file=f"date={day}/part.csv", source_row=np.arange(1, len(frame) + 1)
                )
                for day, frame in frames.items()
            ]
            table = pd.concat(parts, ignore_index=True)
            table["partition_date"] = pd.to_datetime(table["partition_date"])
            return table.assign(device_id=None, source="native")

        events = stamped(self.events).assign(session_id=None)
        events = events.drop_duplicates(["partition_date", "event_id"])  # ingestion de-duplicates within a day
        exposures = stamped(self.exposures)
        attributes = exposures[["partition_date", "user_id", "experiment_id", "exposed_at", "platform", "source"]]
        attributes = attributes.rename(columns={"platform": "value"}).assign(attribute="platform")
        identities = pd.DataFrame(
            {
                "partition_date": pd.to_datetime([FIRST_DAY] * len(self.identities)),
                "source_file": "identities.csv",
                "source_row": np.arange(1, len(self.identities) + 1),
                "user_id": [user for user, _ in self.identities],
                "anonymous_id": [anonymous for _, anonymous in self.identities],
                "identified_at": pd.to_datetime([FIRST_DAY] * len(self.identities)),
                "device_id": None,
                "source": "native",
            }
        )
        return {
            "exposures": exposures.drop(columns="platform").assign(anonymous_id=None),
            "exposure_attributes": attributes,
            "events": events,
            "identities": identities,
        }

    def write(self, warehouse, registry_folder: Path) -> None:
        """Replace the warehouse's raw and registry tables with the world's current state: on DuckDB through one
        connection (each table still its own transaction; a connection per table opened the file and checkpointed it
        on close once per table, ≈ 0.3 CPU-s a build)."""
        one_connection = getattr(warehouse, "one_connection", None)
        with one_connection() if one_connection else nullcontext(warehouse) as target:
            for name, frame in self.raw_tables().items():
                for column in frame.columns:
                    if frame[column].dtype == object and frame[column].isna().all():
                        frame[column] = frame[column].astype("string")
                target.replace_table("raw", name, frame)
            for name, frame in self.registry_tables(registry_folder).items():
                target.replace_table("registry", name, frame)

    def snapshot(self) -> dict[tuple[str, str], str]:
        """A digest of each unit of change of the inputs: every events and exposures partition (as loaded), the
        identity links, every metric and every experiment definition."""
        tables = self.raw_tables()
        digests = {
            (kind, str(day.date())): _digest(part)
            for kind in ("events", "exposures")
            for day, part in tables[kind].groupby("partition_date")
        }
        digests[("identity_map", "")] = repr(sorted(self.identities))
        digests |= {("metric", m["id"]): repr(m) for m in self.metrics}
        digests |= {("experiment", key): repr(value) for key, value in self.experiments.items()}
        return digests


def changed_scope(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]) -> set[tuple[str, object]]:
    """What a run after `before` → `after` must rebuild, in int_refresh_scope's terms: ("events", day) /
    ("exposures", day) for each new or changed partition, ("metric", id) / ("experiment", id) for each new, changed
    or removed one, ("all", None) when the identity map changed."""
    scope: set[tuple[str, object]] = set()
    for kind, key in set(before) | set(after):
        if before.get((kind, key)) == after.get((kind, key)):
            continue
        if kind in ("events", "exposures"):
            scope.add((kind, dt.date.fromisoformat(key)))
        elif kind == "identity_map":
            scope.add(("all", None))
        else:
            scope.add((kind, key))
    return scope
