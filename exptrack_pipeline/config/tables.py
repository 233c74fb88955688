"""Flatten the registry into the relational tables dbt reads (schema `registry`)."""

from __future__ import annotations

import pandas as pd

from exptrack_pipeline.config.registry import Registry
from exptrack_pipeline.flags.desired import FlagDesign, design_to_json


def registry_tables(registry: Registry) -> dict[str, pd.DataFrame]:
    """The registry as warehouse tables: experiments, variants, experiment_metrics, phases and flags."""
    experiments, variants, experiment_metrics, phases, flags = [], [], [], [], []
    for e in registry.experiments:
        c = e.success_criteria
        experiments.append(
            {
                "experiment_id": e.id,
                "experiment_name": e.name,
                "status": e.status,
                "owner": e.owner,
                "pm": e.pm,
                "slack_channel": e.slack_channel,
                "surface": e.surface,
                "audience": e.audience,
                "unit": e.unit,
                "layer": e.layer,
                "start_date": e.start_date,
                "end_date": e.end_date,
                "control_variant": e.control.name,
                "primary_metric_id": e.primary_metric,
                "alpha": c.alpha,
                "target_power": c.power,
                "minimum_detectable_effect": c.minimum_detectable_effect,
                "mde_type": c.mde_type,
                "correction": c.correction or registry.catalog.default_correction,
            }
        )
        variants += [
            {"experiment_id": e.id, "variant": v.name, "weight": v.weight, "is_control": v.is_control}
            for v in e.variants
        ]
        phases += [
            {
                "experiment_id": e.id,
                "allocation_phase": number,
                "phase_start": first,
                "phase_end": last,
                "variant": name,
                "weight": weight,
            }
            for number, first, last, weights in e.phases
            for name, weight in weights.items()
        ]
        design = FlagDesign.from_experiment(e)
        flags.append({"experiment_id": e.id, "flag_key": design.flag_key, "design_json": design_to_json(design)})
        harm = {g.metric: g.max_relative_harm for g in e.guardrail_metrics}
        experiment_metrics += [
            {
                "experiment_id": e.id,
                "metric_id": m,
                "metric_role": role,
                "max_relative_harm": harm.get(m) if role == "guardrail" else None,
                "alternative": e.alternative(m),
            }
            for m, role in e.metric_roles
        ]
    metrics, metric_events = [], []
    for m in registry.catalog.metrics:
        metrics.append(
            {
                "metric_id": m.id,
                "metric_name": m.name,
                "metric_kind": m.kind,
                "stat_kind": m.stat_kind,
                "window_days": m.window_days,
                "retention_day": m.retention_day,
                "direction": m.direction,
                "cap_method": m.cap.method if m.cap else None,
                "cap_value": m.cap.value if m.cap else None,
                "cuped_lookback_days": m.cuped_lookback_days,
                "exact_test": m.exact_test if m.stat_kind == "proportion" else "none",
                "exact_below": m.exact_below,
                "quantile": m.quantile,
                "quantile_granularity": m.quantile_granularity,
            }
        )
        for part, quantity in m.value_parts:
            metric_events += [
                {"metric_id": m.id, "metric_part": part, "event_name": name, "aggregation": quantity.aggregation}
                for name in quantity.events
            ]
    frames = {
        "experiments": pd.DataFrame(experiments),
        "experiment_variants": pd.DataFrame(variants),
        "experiment_allocation_phases": pd.DataFrame(phases),
        "experiment_metrics": pd.DataFrame(experiment_metrics),
        "experiment_flags": pd.DataFrame(flags),
        "metrics": pd.DataFrame(metrics),
        "metric_events": pd.DataFrame(metric_events),
    }
    frames["experiment_metrics"]["max_relative_harm"] = frames["experiment_metrics"]["max_relative_harm"].astype(
        "float64"
    )
    for name in ("retention_day", "cap_value", "quantile"):
        frames["metrics"][name] = frames["metrics"][name].astype("float64")
    for column in ("cap_method", "quantile_granularity"):
        frames["metrics"][column] = frames["metrics"][column].astype("object")
    for column in ("pm", "layer"):
        frames["experiments"][column] = frames["experiments"][column].astype("object")
    return frames
