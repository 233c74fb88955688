"""A small seeded world for the incremental-model tests: landing-zone days, late and re-sent data, registry edits.

The world keeps every partition's raw rows and the registry as plain data; `write` puts the whole state into a
warehouse (raw tables replaced, registry tables rebuilt through the real registry loader), as ingestion and the
registry asset would. Every operation is one of the hard cases of issue 16.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

FIRST_DAY = dt.date(2026, 10, 1)
USERS = [f"u{i:03d}" for i in range(160)]
EVENT_NAMES = ["purchase", "session_start", "checkout_started"]

METRICS = [
    {"id": "purchase_conversion", "name": "Purchase", "kind": "conversion", "events": ["purchase"], "window_days": 5},
    {
        "id": "revenue_per_user",
        "name": "Revenue",
        "kind": "mean",
        "events": ["purchase"],
        "aggregation": "sum",
        "window_days": 7,
        "cap": {"method": "percentile", "value": 0.9},
        "cuped_lookback_days": 3,
    },
    {
        "id": "purchases_per_checkout",
        "name": "Purchases per checkout",
        "kind": "ratio",
        "numerator": {"events": ["purchase"], "aggregation": "count"},
        "denominator": {"events": ["checkout_started"], "aggregation": "count"},
        "window_days": 6,
    },
    {"id": "d1_retention", "name": "D1", "kind": "retention", "events": ["session_start"], "retention_day": 1},
    {"id": "sessions", "name": "Sessions", "kind": "mean", "events": ["session_start"], "window_days": 4},
]


def _experiment(experiment_id: str, start: int, end: int, secondary: list[str], phases: list | None = None) -> dict:
    experiment = {
        "id": experiment_id,
        "name": experiment_id,
        "hypothesis": "A test world experiment.",
        "owner": "@test",
        "slack_channel": "#test",
        "status": "running",
        "surface": "checkout",
        "start_date": FIRST_DAY + dt.timedelta(days=start),
        "end_date": FIRST_DAY + dt.timedelta(days=end),
        "variants": [{"name": "control", "weight": 0.5, "is_control": True}, {"name": "treatment", "weight": 0.5}],
        "primary_metric": "purchase_conversion",
        "secondary_metrics": secondary,
        "guardrail_metrics": [{"metric": "sessions", "max_relative_harm": 0.1}],
        "success_criteria": {"alpha": 0.05, "power": 0.8, "minimum_detectable_effect": 0.1, "mde_type": "relative"},
    }
    if phases:
        experiment["allocation_phases"] = phases
    return experiment


def _phase(start: int, treatment: float) -> dict:
    return {
        "start_date": FIRST_DAY + dt.timedelta(days=start),
        "weights": {"control": 1 - treatment, "treatment": treatment},
    }


class World:
    """Raw partitions and a registry, changed by the hard-case operations below (all seeded)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.days: list[dt.date] = []
        self.exposures: dict[dt.date, pd.DataFrame] = {}
        self.events: dict[dt.date, pd.DataFrame] = {}
        self.metrics = copy.deepcopy(METRICS)
        self.experiments = {
            "exp_a": _experiment("exp_a", 0, 20, ["revenue_per_user", "purchases_per_checkout", "d1_retention"]),
            "exp_b": _experiment("exp_b", 1, 20, ["revenue_per_user"], phases=[_phase(1, 0.2), _phase(4, 0.5)]),
        }
        self.serial = 0

    # -- data ---------------------------------------------------------------------------------------------------

    def _event_rows(self, day: dt.date, count: int, back_days: int = 0) -> list[dict]:
        rows = []
        for _ in range(count):
            self.serial += 1
            occurred = dt.datetime.combine(day, dt.time()) - dt.timedelta(days=int(self.rng.integers(0, back_days + 1)))
            rows.append(
                {
                    "event_id": f"e{self.serial:06d}",
                    "user_id": str(self.rng.choice(USERS)),
                    "event_name": str(self.rng.choice(EVENT_NAMES, p=[0.3, 0.5, 0.2])),
                    "occurred_at": occurred + dt.timedelta(seconds=int(self.rng.integers(0, 86_400))),
                    "value": round(float(self.rng.gamma(2.0, 20.0)), 2),
                }
            )
        return rows

    def _exposure_rows(self, day: dt.date, count: int, experiment_id: str | None = None) -> list[dict]:
        rows = []
        for _ in range(count):
            user = str(self.rng.choice(USERS))
            experiment = experiment_id or str(self.rng.choice(["exp_a", "exp_b", "exp_c"]))
            variant = "treatment" if int(user[1:]) % 2 else "control"
            rows.append(
                {
                    "user_id": user,
                    "experiment_id": experiment,
                    "variant": variant,
                    "exposed_at": dt.datetime.combine(day, dt.time())
                    + dt.timedelta(seconds=int(self.rng.integers(0, 86_400))),
                }
            )
        return rows

    def new_day(self) -> dt.date:
        """The next landing-zone day: exposures to every experiment (exp_c's are unknown until it is registered)."""
        day = FIRST_DAY + dt.timedelta(days=len(self.days))
        self.days.append(day)
        self.exposures[day] = pd.DataFrame(self._exposure_rows(day, 40))
        self.events[day] = pd.DataFrame(self._event_rows(day, 120))
        return day

    def late_events(self) -> dt.date:
        """Events of earlier days arriving in the latest partition."""
        day = self.days[-1]
        self.events[day] = pd.concat([self.events[day], pd.DataFrame(self._event_rows(day, 15, back_days=4))])
        return day

    def resend_day(self) -> dt.date:
        """An earlier day re-sent: some rows dropped, some values changed, some rows added."""
        day = self.days[int(self.rng.integers(0, len(self.days) - 1))] if len(self.days) > 1 else self.days[0]
        frame = self.events[day].sample(frac=0.8, random_state=int(self.rng.integers(0, 1 << 30)))
        frame = frame.assign(value=frame["value"] * np.where(self.rng.random(len(frame)) < 0.2, 1.5, 1.0))
        self.events[day] = pd.concat([frame, pd.DataFrame(self._event_rows(day, 10))])
        return day

    def duplicate_later(self) -> dt.date:
        """Copies of earlier events (same event id) arriving days later, some with another payload."""
        day = self.days[-1]
        earlier = pd.concat([self.events[d] for d in self.days[:-1]] or [self.events[day]])
        copies = earlier.sample(n=min(6, len(earlier)), random_state=int(self.rng.integers(0, 1 << 30)))
        copies = copies.assign(value=copies["value"] + 1.0)
        self.events[day] = pd.concat([self.events[day], copies])
        return day

    def duplicate_earlier(self) -> dt.date:
        """An earlier day re-sent with a copy of an event first seen in a later day: the first copy moves earlier."""
        if len(self.days) < 3:
            return self.duplicate_later()
        day = self.days[0]
        later = self.events[self.days[-1]].head(3)
        self.events[day] = pd.concat([self.events[day], later.assign(value=later["value"] * 2)])
        return day

    def first_exposure_earlier(self) -> dt.date:
        """Exposures arriving late for exposed units, dated before their first exposure."""
        day = self.days[-1]
        exposed = pd.concat(self.exposures.values())
        exposed = exposed[exposed["experiment_id"] == "exp_a"].sort_values("exposed_at").tail(4)
        late = exposed.assign(exposed_at=exposed["exposed_at"] - pd.Timedelta(days=2))
        self.exposures[day] = pd.concat([self.exposures[day], late])
        return day

    def multi_variant(self) -> dt.date:
        """Exposed units seen in the other variant too (they leave the analysis)."""
        day = self.days[-1]
        exposed = pd.concat(self.exposures.values()).head(3)
        other = exposed.assign(variant=np.where(exposed["variant"] == "control", "treatment", "control"))
        self.exposures[day] = pd.concat([self.exposures[day], other])
        return day

    # -- registry -----------------------------------------------------------------------------------------------

    def new_metric(self) -> str:
        """A metric added to the catalog and to exp_c (a metric reload: its history is built)."""
        metric = {"id": "checkouts", "name": "Checkouts", "kind": "mean", "events": ["checkout_started"]}
        if all(m["id"] != metric["id"] for m in self.metrics):
            self.metrics.append({**metric, "window_days": 5, "cuped_lookback_days": 2})
            self.experiments[self.new_experiment()]["secondary_metrics"].append(metric["id"])
        return metric["id"]

    def changed_window(self) -> str:
        """A metric's window changed in the catalog."""
        metric = next(m for m in self.metrics if m["id"] == "revenue_per_user")
        metric["window_days"] = 3 if metric["window_days"] != 3 else 6
        return metric["id"]

    def new_experiment(self) -> str:
        """exp_c registered: its exposures, loaded all along as unknown, become analysable."""
        self.experiments.setdefault("exp_c", _experiment("exp_c", 2, 20, ["d1_retention"]))
        return "exp_c"

    def changed_dates(self) -> str:
        """exp_a's start moved a day later (its early exposures leave the analysis)."""
        experiment = self.experiments["exp_a"]
        experiment["start_date"] = experiment["start_date"] + dt.timedelta(days=1)
        return "exp_a"

    def changed_phases(self) -> str:
        """exp_b's ramp ends a day earlier or later (the analysed phase's first day moves)."""
        first, second = self.experiments["exp_b"]["allocation_phases"]
        step = -1 if second["start_date"] - first["start_date"] > dt.timedelta(days=1) else 2
        second["start_date"] += dt.timedelta(days=step)
        return "exp_b"

    # -- output -------------------------------------------------------------------------------------------------

    def registry_tables(self, folder: Path) -> dict[str, pd.DataFrame]:
        """The registry as the registry asset writes it: YAML files read by the real loader."""
        from exptrack_pipeline.config import load_registry
        from exptrack_pipeline.config.tables import registry_tables

        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        (folder / "metrics.yaml").write_text(yaml.safe_dump({"metrics": self.metrics}, sort_keys=False))
        for experiment_id, experiment in self.experiments.items():
            (folder / f"{experiment_id}.yaml").write_text(yaml.safe_dump(experiment, sort_keys=False))
        return registry_tables(load_registry(folder, folder / "metrics.yaml"))

    def raw_tables(self) -> dict[str, pd.DataFrame]:
        """raw.exposures, raw.events and raw.identities as ingestion leaves them (one slice per partition)."""

        def stamped(frames: dict[dt.date, pd.DataFrame]) -> pd.DataFrame:
            parts = [
                frame.reset_index(drop=True).assign(
                    partition_date=day, source_file=f"date={day}/part.csv", source_row=np.arange(1, len(frame) + 1)
                )
                for day, frame in frames.items()
            ]
            table = pd.concat(parts, ignore_index=True)
            table["partition_date"] = pd.to_datetime(table["partition_date"])
            return table.assign(anonymous_id=None, device_id=None, source="native")

        events = stamped(self.events).assign(session_id=None)
        events = events.drop_duplicates(["partition_date", "event_id"])  # ingestion de-duplicates within a day
        identities = pd.DataFrame(
            {
                "partition_date": pd.to_datetime([FIRST_DAY]),
                "source_file": ["identities.csv"],
                "source_row": [1],
                "user_id": ["u000"],
                "anonymous_id": ["anon-0"],
                "identified_at": pd.to_datetime([FIRST_DAY]),
                "device_id": [None],
                "source": ["native"],
            }
        )
        return {"exposures": stamped(self.exposures), "events": events, "identities": identities}

    def write(self, warehouse, registry_folder: Path) -> None:
        """Replace the warehouse's raw and registry tables with the world's current state."""
        for name, frame in self.raw_tables().items():
            for column in frame.columns:
                if frame[column].dtype == object and frame[column].isna().all():
                    frame[column] = frame[column].astype("string")
            warehouse.replace_table("raw", name, frame)
        for name, frame in self.registry_tables(registry_folder).items():
            warehouse.replace_table("registry", name, frame)
