"""The registry of the incremental tests' world (incremental_world.py) and its edits: new metrics, changed windows,
caps and retention events, new, changed and removed experiments, changed dates and phases (a ramp's phase moved to
start with the next day), a catalog metric added to or removed from an experiment. Each edit returns the id it
touched."""

from __future__ import annotations

import datetime as dt

import numpy as np

FIRST_DAY = dt.date(2026, 10, 1)
BASE_EXPERIMENTS = ("exp_a", "exp_b")

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
    {
        "id": "order_value_p50",
        "name": "Median order value",
        "kind": "quantile",
        "events": ["purchase"],
        "aggregation": "sum",
        "quantile": 0.5,
        "window_days": 6,
    },
]


def _day(offset: int) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=offset)


def experiment(
    experiment_id: str, start: int, end: int, secondary: list[str], phases: list[tuple[int, float]] | None = None
) -> dict:
    """An experiment's YAML: control/treatment 50/50 from day `start` to `end` (offsets from FIRST_DAY); `phases`
    (first day, treatment weight) ramp up to the final 50/50."""
    definition = {
        "id": experiment_id,
        "name": experiment_id,
        "hypothesis": "A test world experiment.",
        "owner": "@test",
        "slack_channel": "#test",
        "status": "running",
        "surface": "checkout",
        "start_date": _day(start),
        "end_date": _day(end),
        "variants": [{"name": "control", "weight": 0.5, "is_control": True}, {"name": "treatment", "weight": 0.5}],
        "primary_metric": "purchase_conversion",
        "secondary_metrics": secondary,
        "guardrail_metrics": [{"metric": "sessions", "max_relative_harm": 0.1}],
        "success_criteria": {"alpha": 0.05, "power": 0.8, "minimum_detectable_effect": 0.1, "mde_type": "relative"},
    }
    if phases:
        definition["allocation_phases"] = [
            {"start_date": _day(first), "weights": {"control": 1 - treatment, "treatment": treatment}}
            for first, treatment in phases
        ]
    return definition


class RegistryEdits:
    """The registry edits of the world (a mixin: `metrics`, `experiments` and `rng` live on the World)."""

    metrics: list[dict]
    experiments: dict[str, dict]
    rng: np.random.Generator
    days: list[dt.date]

    def new_metric(self) -> str:
        """A metric added to the catalog and to an experiment (a metric reload: its history is built). The first is
        `checkouts`, added to exp_c (registered now if it is not); later ones go to a random experiment."""
        count = sum(m["id"].startswith("checkouts") for m in self.metrics)
        metric_id = "checkouts" if count == 0 else f"checkouts_{count + 1}"
        window = 5 if count == 0 else int(self.rng.integers(2, 8))
        self.metrics.append(
            {
                "id": metric_id,
                "name": metric_id,
                "kind": "mean",
                "events": ["checkout_started"],
                "window_days": window,
                "cuped_lookback_days": 2,
            }
        )
        target = "exp_c" if count == 0 else str(self.rng.choice(sorted(self.experiments)))
        if target not in self.experiments:
            self.experiments[target] = experiment(target, 2, 20, ["d1_retention"])
        self.experiments[target]["secondary_metrics"].append(metric_id)
        return metric_id

    def changed_window(self, metric_id: str = "revenue_per_user") -> str:
        """A metric's window changed in the catalog."""
        metric = next(m for m in self.metrics if m["id"] == metric_id)
        metric["window_days"] = 3 if metric["window_days"] != 3 else 6
        return metric_id

    def changed_cap(self, metric_id: str = "revenue_per_user") -> str:
        """A metric's cap changed (a percentile moved, or a fixed cap where there was none)."""
        metric = next(m for m in self.metrics if m["id"] == metric_id)
        cap = metric.get("cap")
        if cap is None:
            metric["cap"] = {"method": "fixed", "value": 60.0}
        else:
            metric["cap"] = {"method": "percentile", "value": 0.8 if cap["value"] != 0.8 else 0.95}
        return metric_id

    def changed_metric_list(self, experiment_id: str = "exp_b", metric_id: str = "purchases_per_checkout") -> str:
        """A catalog metric added to an experiment's secondary metrics, or removed when it has it: the catalog is
        unchanged (no metric reload), so only the experiment's change can rebuild the metric's rows — its history
        for every unit when added, none of its rows left when removed."""
        secondary = self.experiments[experiment_id]["secondary_metrics"]
        if metric_id in secondary:
            secondary.remove(metric_id)
        else:
            secondary.append(metric_id)
        return experiment_id

    def changed_retention_events(self) -> str:
        """d1_retention's events changed (session_start, or session_start and purchase): which events count as
        retention activity, so every day of the experiments using it is recounted."""
        metric = next(m for m in self.metrics if m["id"] == "d1_retention")
        metric["events"] = ["session_start", "purchase"] if metric["events"] == ["session_start"] else ["session_start"]
        return "d1_retention"

    def new_experiment(self) -> str:
        """The next of exp_c, exp_d registered: its exposures, loaded all along as unknown, become analysable."""
        for experiment_id, start in (("exp_c", 2), ("exp_d", 3)):
            if experiment_id not in self.experiments:
                self.experiments[experiment_id] = experiment(experiment_id, start, 20, ["d1_retention"])
                return experiment_id
        return "exp_c"

    def removed_experiment(self) -> str:
        """A registered experiment other than exp_a / exp_b deleted from the registry (its rows go)."""
        removable = sorted(set(self.experiments) - set(BASE_EXPERIMENTS))
        if not removable:
            return self.new_experiment()
        experiment_id = str(self.rng.choice(removable))
        del self.experiments[experiment_id]
        return experiment_id

    def changed_dates(self, experiment_id: str = "exp_a") -> str:
        """An experiment's start moved a day later (its early exposures leave the analysis), or back."""
        definition = self.experiments[experiment_id]
        step = 1 if definition["start_date"] <= _day(2) else -1
        definition["start_date"] = definition["start_date"] + dt.timedelta(days=step)
        return experiment_id

    def changed_phases(self) -> str:
        """exp_b's ramp ends a day earlier or later (the analysed phase's first day moves)."""
        first, second = self.experiments["exp_b"]["allocation_phases"]
        step = -1 if second["start_date"] - first["start_date"] > dt.timedelta(days=1) else 2
        second["start_date"] += dt.timedelta(days=step)
        return "exp_b"

    def phase_tomorrow(self) -> str:
        """exp_b's ramp's last phase moved to start the day after the data's last day (if it already does, the first
        phase's weights edited instead): the next new day moves exp_b's analysed phase with no registry edit in that
        run (int_refresh_analysed_phases). When that day is past exp_b's end, the ramp moves as in `changed_phases`."""
        first, second = self.experiments["exp_b"]["allocation_phases"]
        tomorrow = self.days[-1] + dt.timedelta(days=1)
        if not first["start_date"] < tomorrow <= self.experiments["exp_b"]["end_date"]:
            return self.changed_phases()
        if second["start_date"] == tomorrow:
            treatment = 0.3 if first["weights"]["treatment"] != 0.3 else 0.2
            first["weights"] = {"control": 1 - treatment, "treatment": treatment}
        second["start_date"] = tomorrow
        return "exp_b"
