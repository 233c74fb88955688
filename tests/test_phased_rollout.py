"""A traffic ramp (10% → 50%) on a true-null experiment gives no spurious lift and no false SRM."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dagster import DagsterInstance

from exptrack_pipeline.cli import run_pipeline
from exptrack_pipeline.stats import srm_test

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

REPO = Path(__file__).resolve().parents[1]
START, RAMP, END = dt.date(2026, 11, 1), dt.date(2026, 11, 8), dt.date(2026, 11, 14)
EXPERIMENT = {
    "id": "ramp_null",
    "name": "Ramped null test",
    "hypothesis": "Nothing changes; only the traffic share does.",
    "owner": "@qa",
    "slack_channel": "#exp-qa",
    "status": "running",
    "surface": "settings_page",
    "start_date": START.isoformat(),
    "end_date": END.isoformat(),
    "variants": [{"name": "control", "weight": 0.5, "is_control": True}, {"name": "treatment", "weight": 0.5}],
    "allocation_phases": [
        {"start_date": START.isoformat(), "weights": {"control": 0.9, "treatment": 0.1}},
        {"start_date": RAMP.isoformat(), "weights": {"control": 0.5, "treatment": 0.5}},
    ],
    "primary_metric": "signup_conversion",
    "success_criteria": {"minimum_detectable_effect": 0.1},
}


def _write_landing_zone(raw: Path, rng: np.random.Generator) -> pd.DataFrame:
    """2,000 new users a day; conversion is 30% in week one and 10% in week two for both arms (a time trend)."""
    users = []
    for offset in range((END - START).days + 1):
        day = START + dt.timedelta(days=offset)
        share = 0.1 if day < RAMP else 0.5
        n = 2000
        variant = np.where(rng.random(n) < share, "treatment", "control")
        seconds = rng.integers(0, 86_400, n)
        rate = 0.30 if day < RAMP else 0.10
        converted = rng.random(n) < rate
        ids = [f"u{offset:02d}_{i:04d}" for i in range(n)]
        exposed_at = [dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=int(s)) for s in seconds]
        users.append(
            pd.DataFrame(
                {"user_id": ids, "variant": variant, "exposed_at": exposed_at, "converted": converted, "day": day}
            )
        )
    frame = pd.concat(users, ignore_index=True)
    for day, part in frame.groupby("day"):
        folder = raw / "exposures" / f"date={day.isoformat()}"
        folder.mkdir(parents=True)
        out = part.assign(experiment_id="ramp_null", exposed_at=part["exposed_at"].map(lambda t: t.isoformat() + "Z"))
        out[["user_id", "experiment_id", "variant", "exposed_at"]].to_csv(folder / "part-0.csv", index=False)
    conversions = frame[frame["converted"]].copy()
    conversions["occurred_at"] = conversions["exposed_at"] + pd.Timedelta(minutes=5)
    conversions["event_date"] = conversions["occurred_at"].dt.date
    for day, part in conversions.groupby("event_date"):
        folder = raw / "events" / f"date={day.isoformat()}"
        folder.mkdir(parents=True)
        pd.DataFrame(
            {
                "event_id": "e_" + part["user_id"],
                "user_id": part["user_id"],
                "event_name": "signup_completed",
                "occurred_at": part["occurred_at"].map(lambda t: t.isoformat() + "Z"),
                "value": "",
            }
        ).to_csv(folder / "part-0.csv", index=False)
    return frame


@pytest.fixture(scope="module")
def ramp_run(tmp_path_factory, dbt_manifest):
    from pipeline_support import make_settings

    root = tmp_path_factory.mktemp("ramp")
    registry = root / "experiments"
    registry.mkdir()
    shutil.copy(REPO / "experiments" / "metrics.yaml", registry / "metrics.yaml")
    (registry / "ramp_null.yaml").write_text(yaml.safe_dump(EXPERIMENT, sort_keys=False))
    settings = make_settings(root, experiments_dir=registry)
    users = _write_landing_zone(settings.raw_dir, np.random.default_rng(11))
    with DagsterInstance.ephemeral() as instance:
        run_pipeline(START, END + dt.timedelta(days=1), settings, instance=instance)
    return settings, users


def _query(settings, sql):
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).df()


def test_pooling_across_the_ramp_would_be_biased(ramp_run):
    """The trap is real: pooling every phase gives a large spurious negative lift (so the next test can fail)."""
    _, users = ramp_run
    rates = users.groupby("variant")["converted"].mean()
    assert rates["treatment"] / rates["control"] - 1 < -0.2


def test_analysis_restricted_to_the_stable_phase_finds_no_lift(ramp_run):
    settings, users = ramp_run
    latest = _query(
        settings,
        "select * from main.experiment_results where metric_id = 'signup_conversion' "
        "and analysis_date = (select max(analysis_date) from main.experiment_results)",
    ).iloc[0]
    phase_two = users[users["day"] >= RAMP].groupby("variant").size()
    assert latest["n_control"] == phase_two["control"] and latest["n_variant"] == phase_two["treatment"]
    assert not latest["is_significant"]
    assert latest["rel_lift_ci_low"] < 0 < latest["rel_lift_ci_high"]


def test_srm_uses_the_weights_in_force_each_day(ramp_run):
    settings, _ = ramp_run
    daily = _query(settings, "select * from main.fct_daily_exposures order by exposure_date, variant")
    weights = daily[daily["exposure_date"] == pd.Timestamp(START)].set_index("variant")["design_weight"]
    assert weights.to_dict() == {"control": 0.9, "treatment": 0.1}
    last = daily[daily["exposure_date"] == daily["exposure_date"].max()].set_index("variant")
    observed = last[["cumulative_units"]].T.to_numpy()
    ramp_aware = srm_test(observed, last[["cumulative_expected_units"]].T.to_numpy())
    naive = srm_test(observed, last[["design_weight"]].T.to_numpy())
    assert not ramp_aware.is_mismatch[0] and ramp_aware.p_value[0] > 0.001
    assert naive.is_mismatch[0]
