"""The OpenFeature exposure hook: evaluations of exptrack's flag through the real SDK and flagd provider write exposure
rows that exptrack's own landing-zone loader accepts (none quarantined), only while the flag splits traffic."""

from __future__ import annotations

import datetime as dt

import duckdb
from flags_support import RAMP, experiment, warehouse
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.evaluation_context import EvaluationContext

from exptrack_pipeline.flags.hook import ExposureHook, LandingZoneExposures
from exptrack_pipeline.flags.sync import sync
from exptrack_pipeline.ingest.loader import load_day
from exptrack_pipeline.notify.state import record_event

DAY = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def _evaluate_with_hook(path, raw, units: range) -> dict[str, str]:
    api.set_provider_and_wait(FlagdProvider(resolver_type=ResolverType.FILE, offline_flag_source_path=str(path)))
    try:
        client = api.get_client()
        client.add_hooks([ExposureHook(LandingZoneExposures(raw), clock=lambda: DAY)])
        return {
            f"u{i}": client.get_string_value(
                "checkout_x", "control", EvaluationContext(targeting_key=f"u{i}", attributes={"platform": "ios"})
            )
            for i in units
        }
    finally:
        api.shutdown()


def test_the_hook_logs_exposures_in_exptracks_contract_while_the_flag_splits(tmp_path):
    connect = warehouse(tmp_path, [experiment()])
    path, raw = tmp_path / "flags.flagd.json", tmp_path / "raw"
    sync(connect, path, today=RAMP, actor="exptrack", reason="daily run", source="schedule")
    served = _evaluate_with_hook(path, raw, range(500))
    with connect() as con:
        con.execute("begin transaction")
        record_event(
            con, experiment_id="checkout_x", status="paused", reason="harm", actor="exptrack", source="automatic"
        )
        con.execute("commit")
    sync(connect, path, today=RAMP, actor="exptrack", reason="daily run", source="schedule")
    assert set(_evaluate_with_hook(path, raw, range(500, 700)).values()) == {"control"}  # paused: served, not logged

    con = duckdb.connect(str(tmp_path / "landing.duckdb"))
    report = load_day(con, raw, "exposures", DAY.date())
    assert report.rows_loaded == 500 and report.rows_quarantined == 0 and report.balanced, report
    loaded = dict(
        con.execute("select user_id, variant from raw.exposures where experiment_id = 'checkout_x'").fetchall()
    )
    assert loaded == served
    assert con.execute("select count(distinct user_id) from raw.exposure_attributes").fetchone()[0] == 500
