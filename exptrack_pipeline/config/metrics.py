"""Metric catalog: what each metric measures, from which events, and which direction is good."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MetricKind = Literal["conversion", "adoption", "mean", "ratio", "retention", "quantile"]
Aggregation = Literal["count", "sum"]

STAT_KIND = {
    "conversion": "proportion",
    "adoption": "proportion",
    "retention": "proportion",
    "mean": "mean",
    "ratio": "ratio",
    "quantile": "quantile",
}
"""Which two-sample test each metric kind uses in the statistics library."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventSum(_Strict):
    """A per-unit quantity built from events: the count of matching events, or the sum of their value."""

    events: list[str] = Field(min_length=1)
    aggregation: Aggregation = "count"


class Cap(_Strict):
    """Winsorisation of per-unit values: a fixed ceiling, or the given percentile across exposed units."""

    method: Literal["fixed", "percentile"]
    value: float = Field(gt=0)

    @model_validator(mode="after")
    def _percentile_in_range(self) -> Cap:
        if self.method == "percentile" and not 0 < self.value < 1:
            raise ValueError("a percentile cap needs a value between 0 and 1, e.g. 0.99")
        return self


def check_quantile_fields(kind: str, quantile: float | None, granularity: str | None, aggregation: str) -> None:
    """`quantile` (0 < q < 1) and `granularity` appear on quantile metrics only, and `quantile` always there."""
    if kind != "quantile":
        if quantile is not None or granularity is not None:
            raise ValueError(f"`quantile`/`granularity` belong to quantile metrics, not {kind}; remove them")
        return
    if quantile is None:
        raise ValueError("a quantile metric needs `quantile`: the level between 0 and 1, e.g. 0.9 for p90")
    if not 0 < quantile < 1:
        raise ValueError(f"`quantile` must be strictly between 0 and 1 (e.g. 0.5, 0.9, 0.99), got {quantile}")
    if granularity == "event" and aggregation != "sum":
        raise ValueError(
            "an event-level quantile metric (granularity: event) takes each event's `value`: set `aggregation: sum`"
        )


class MetricDefinition(_Strict):
    """One metric of the catalog: the events it sums, how, and its kind (proportion, mean, ratio)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    description: str = ""
    kind: MetricKind
    events: list[str] | None = None
    aggregation: Aggregation = "count"
    numerator: EventSum | None = None
    denominator: EventSum | None = None
    window_days: int = Field(default=14, ge=1, le=365)
    retention_day: int | None = Field(default=None, ge=1, le=365)
    direction: Literal["increase", "decrease"] = "increase"
    cap: Cap | None = None
    cuped_lookback_days: int = Field(default=14, ge=0, le=365)
    exact_test: Literal["fisher", "boschloo", "barnard", "none"] = "fisher"
    """0/1 metrics: the exact test run where an arm expects fewer than `exact_below` events (none: no test there)."""
    exact_below: float = Field(default=5.0, ge=0)
    quantile: float | None = None
    granularity: Literal["unit", "event"] | None = None

    @model_validator(mode="after")
    def _shape_fits_kind(self) -> MetricDefinition:
        if self.kind == "ratio":
            if self.numerator is None or self.denominator is None:
                raise ValueError(
                    "a ratio metric needs `numerator` and `denominator`, each {events: [...], aggregation: count|sum}"
                )
            if self.events:
                raise ValueError("a ratio metric takes `numerator`/`denominator`, not `events`")
        else:
            if not self.events:
                raise ValueError(f"a {self.kind} metric needs `events`: the event names it counts")
            if self.numerator or self.denominator:
                raise ValueError(f"`numerator`/`denominator` belong to ratio metrics, not {self.kind}")
        if self.kind == "retention" and self.retention_day is None:
            raise ValueError("a retention metric needs `retention_day` (e.g. 1, 7 or 30)")
        if self.kind != "retention" and self.retention_day is not None:
            raise ValueError("`retention_day` only applies to retention metrics")
        if self.cap is not None and self.kind not in ("mean", "ratio"):
            raise ValueError(
                "`cap` only applies to mean and ratio metrics (0/1 metrics need no cap; capping would bias a quantile)"
            )
        exact = sorted({"exact_test", "exact_below"} & self.model_fields_set)
        if exact and STAT_KIND.get(self.kind) != "proportion":
            raise ValueError(
                f"`{'`, `'.join(exact)}` only applies to 0/1 metrics (conversion, adoption, retention), "
                f"not {self.kind}; remove it"
            )
        check_quantile_fields(self.kind, self.quantile, self.granularity, self.aggregation)
        return self

    @property
    def quantile_granularity(self) -> str | None:
        """For quantile metrics: "unit" (default) or "event"; None for other kinds."""
        return (self.granularity or "unit") if self.kind == "quantile" else None

    @property
    def stat_kind(self) -> str:
        """The statistical kind of the metric's test (see STAT_KIND)."""
        return STAT_KIND[self.kind]

    @property
    def value_parts(self) -> list[tuple[str, EventSum]]:
        """The per-unit quantities this metric needs: ("numerator", ...) and, for ratios, ("denominator", ...)."""
        if self.kind == "ratio":
            assert self.numerator is not None and self.denominator is not None
            return [("numerator", self.numerator), ("denominator", self.denominator)]
        assert self.events is not None
        aggregation = self.aggregation if self.kind in ("mean", "quantile") else "count"
        return [("numerator", EventSum(events=self.events, aggregation=aggregation))]


class MetricCatalog(_Strict):
    """The metric catalog (experiments/metrics.yaml): every metric, ids unique."""

    metrics: list[MetricDefinition]
    default_correction: Literal["bonferroni", "holm", "bh"] = "bonferroni"
    """The multiple-comparison procedure of experiments whose success_criteria name none (docs/statistics.md)."""

    @model_validator(mode="after")
    def _unique_ids(self) -> MetricCatalog:
        seen: set[str] = set()
        for metric in self.metrics:
            if metric.id in seen:
                raise ValueError(f"metric id {metric.id!r} is defined twice")
            seen.add(metric.id)
        return self

    def get(self, metric_id: str) -> MetricDefinition:
        """The metric with id `metric_id` (KeyError when unknown)."""
        return {m.id: m for m in self.metrics}[metric_id]

    @property
    def ids(self) -> set[str]:
        """The ids of every metric in the catalog."""
        return {m.id for m in self.metrics}
