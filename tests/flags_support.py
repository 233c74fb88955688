"""Shared set-up of the flag tests: a DuckDB warehouse with registry tables for one ramped experiment, and evaluation
of exptrack's flag file through the real OpenFeature SDK with the flagd provider (FILE resolver, offline)."""

from __future__ import annotations

import collections
import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import yaml
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.evaluation_context import EvaluationContext

from exptrack_pipeline.config.experiments import Experiment
from exptrack_pipeline.flags.desired import FlagDesign, design_to_json
from exptrack_pipeline.notify.health_data import connector
from exptrack_pipeline.warehouse.schema import ensure_tables

TODAY = dt.datetime.now(dt.UTC).date()  # pauses and resumes use the wall clock: the ramp has started by today
START = TODAY - dt.timedelta(days=20)
RAMP = TODAY - dt.timedelta(days=10)


def experiment(experiment_id: str = "checkout_x", **overrides) -> Experiment:
    fields = {
        "id": experiment_id,
        "name": "Express checkout",
        "hypothesis": "h",
        "owner": "@sam",
        "slack_channel": "#exp",
        "status": "running",
        "surface": "checkout",
        "start_date": START,
        "end_date": TODAY + dt.timedelta(days=10),
        "primary_metric": "purchase_conversion",
        "success_criteria": {"minimum_detectable_effect": 0.05},
        "variants": [{"name": "control", "weight": 0.5, "is_control": True}, {"name": "express", "weight": 0.5}],
        "allocation_phases": [
            {"start_date": START, "weights": {"control": 0.9, "express": 0.1}},
            {"start_date": RAMP, "weights": {"control": 0.5, "express": 0.5}},
        ],
    }
    return Experiment.model_validate({**fields, **overrides})


def warehouse(tmp_path: Path, experiments: list[Experiment]):
    """A warehouse with the registry tables the flags read and the state tables of monitoring (a connect callable)."""
    connect = connector(tmp_path / "w.duckdb")
    with connect() as con:
        ensure_tables(con)
        con.execute("create schema registry")
        replace_registry(con, experiments)
        con.execute(
            "create table main.fct_daily_exposures as select 'checkout_x' as experiment_id, date '2026-11-20' "
            "as exposure_date"
        )
    return connect


def replace_registry(con, experiments: list[Experiment]) -> None:
    """(Re)write registry.experiments and registry.experiment_flags as the experiment_registry asset does."""
    con.register(
        "_e", pd.DataFrame({"experiment_id": [e.id for e in experiments], "status": [e.status for e in experiments]})
    )
    con.execute("create or replace table registry.experiments as select * from _e")
    designs = [FlagDesign.from_experiment(e) for e in experiments]
    con.register(
        "_f",
        pd.DataFrame(
            {
                "experiment_id": [d.experiment_id for d in designs],
                "flag_key": [d.flag_key for d in designs],
                "design_json": [design_to_json(d) for d in designs],
            }
        ),
    )
    con.execute("create or replace table registry.experiment_flags as select * from _f")


def write_registry(folder: Path, *experiments) -> Path:
    """A registry folder with the repo's metric catalog and one YAML per experiment."""
    folder.mkdir()
    shutil.copy(Path(__file__).parents[1] / "experiments" / "metrics.yaml", folder / "metrics.yaml")
    for e in experiments:
        data = json.loads(e.model_dump_json(exclude_none=True))
        (folder / f"{e.id}.yaml").write_text(yaml.safe_dump(data))
    return folder


def evaluate(path: Path, flag_key: str, units: int, prefix: str = "user_") -> dict[str, str]:
    """Unit → variant for `units` targeting keys, through OpenFeature + flagd (in-process FILE resolver)."""
    api.set_provider_and_wait(FlagdProvider(resolver_type=ResolverType.FILE, offline_flag_source_path=str(path)))
    try:
        client = api.get_client()
        out = {}
        for i in range(units):
            details = client.get_string_details(
                flag_key, "NOT_EVALUATED", EvaluationContext(targeting_key=f"{prefix}{i}")
            )
            assert details.error_code is None, (f"{prefix}{i}", details)
            out[f"{prefix}{i}"] = details.value
        return out
    finally:
        api.shutdown()


def shares(assignment: dict[str, str]) -> dict[str, float]:
    counts = collections.Counter(assignment.values())
    return {v: n / len(assignment) for v, n in counts.items()}
