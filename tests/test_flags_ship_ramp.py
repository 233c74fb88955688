"""Guardrails are watched while a shipped variant ramps up: `decide ship express` with a `ship_ramp` serves express
to 20% of the units (the real OpenFeature SDK with the flagd provider evaluates exptrack's file); the monitoring flow
(health_data.load_inputs → the guardrail rule → raise_alerts → the flagd controller) judges the guardrail from
experiment_results, and a breach stops the ramp: every unit back to control, recorded like an automatic pause with one
level-3 alert in the outbox — once, however often monitoring runs again."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from flags_support import TODAY, evaluate, experiment, replace_registry, shares, warehouse
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.evaluation_context import EvaluationContext

from exptrack_pipeline.flags.controller import FlagdFileController
from exptrack_pipeline.flags.hook import ExposureHook
from exptrack_pipeline.flags.sync import sync
from exptrack_pipeline.lifecycle import store as lifecycle_store
from exptrack_pipeline.lifecycle.states import LifecycleEvent, transitions_for_decision
from exptrack_pipeline.monitoring import Contacts, HealthConfig
from exptrack_pipeline.monitoring.inputs import FRAME_COLUMNS
from exptrack_pipeline.notify.service import evaluate_health, raise_alerts, status_note
from exptrack_pipeline.notify.state import latest_events, sync_flags

N = 50_000
AS_OF = TODAY - dt.timedelta(days=1)
CONTACTS = {"checkout_x": Contacts(owner="@sam", pm=None, slack_channel="#exp")}


def _table(con, name: str, rows: list[dict], columns: list[str]) -> None:
    con.register("_rows", pd.DataFrame(rows, columns=columns))
    con.execute(f"create or replace table {name} as select * from _rows")
    con.unregister("_rows")


def _monitoring_tables(con, harmful: bool) -> None:
    """The dbt outputs the health rules read, for one day of the ship ramp: error_rate worse in express (or not)."""
    e = experiment()
    _table(
        con,
        "registry.experiments",
        [
            {
                "experiment_id": e.id,
                "status": "running",
                "start_date": e.start_date,
                "end_date": e.end_date,
                "control_variant": "control",
                "primary_metric_id": "purchase_conversion",
                "alpha": 0.05,
                "target_power": 0.8,
                "minimum_detectable_effect": 0.05,
                "mde_type": "relative",
            }
        ],
        [
            "experiment_id",
            "status",
            "start_date",
            "end_date",
            "control_variant",
            "primary_metric_id",
            "alpha",
            "target_power",
            "minimum_detectable_effect",
            "mde_type",
        ],
    )
    _table(
        con,
        "registry.experiment_variants",
        [
            {"experiment_id": e.id, "variant": v, "weight": 0.5, "is_control": v == "control"}
            for v in ("control", "express")
        ],
        FRAME_COLUMNS["variants"],
    )
    _table(
        con,
        "registry.experiment_metrics",
        [{"experiment_id": e.id, "metric_id": "error_rate", "metric_role": "guardrail", "max_relative_harm": 0.02}],
        ["experiment_id", "metric_id", "metric_role", "max_relative_harm"],
    )
    _table(
        con,
        "registry.metrics",
        [
            {
                "metric_id": "error_rate",
                "stat_kind": "proportion",
                "metric_kind": "proportion",
                "direction": "decrease",
                "window_days": 7,
                "retention_day": None,
            }
        ],
        ["metric_id", "stat_kind", "metric_kind", "direction", "window_days", "retention_day"],
    )
    _table(
        con,
        "main.fct_daily_exposures",
        [
            {
                "experiment_id": e.id,
                "variant": v,
                "exposure_date": AS_OF,
                "design_weight": 0.5,
                "new_units": n,
                "cumulative_units": n,
            }
            for v, n in (("control", 4000), ("express", 4100))
        ],
        FRAME_COLUMNS["daily_exposures"],
    )
    _table(
        con,
        "main.dim_experiment_exposure_quality",
        [{"experiment_id": e.id, "exposed_units": 8100, "multi_exposed_units": 0, "multi_exposure_rate": 0.0}],
        FRAME_COLUMNS["exposure_quality"],
    )
    lift = 0.30 if harmful else 0.0
    _table(
        con,
        "main.experiment_results",
        [
            {
                "experiment_id": e.id,
                "metric_id": "error_rate",
                "metric_role": "guardrail",
                "direction": "decrease",
                "variant": "express",
                "control_variant": "control",
                "analysis_date": AS_OF,
                "n_control": 4000,
                "n_variant": 4100,
                "mean_control": 0.05,
                "mean_variant": 0.05 * (1 + lift),
                "rel_lift": lift,
                "seq_rel_lift_ci_low": lift - 0.1,
                "seq_rel_lift_ci_high": lift + 0.1,
                "seq_p_value": 1e-4 if harmful else 0.9,
                "seq_p_value_adjusted": 1e-4 if harmful else 0.9,
                "seq_is_significant": harmful,
                "seq_is_harmful": harmful,
                "harm_margin": 0.02,
                "alpha": 0.05,
                "comparisons": 1,
            }
        ],
        FRAME_COLUMNS["results"],
    )
    _table(con, "main.fct_variant_metric_stats", [], FRAME_COLUMNS["stats"])
    _table(con, "main.stg_events", [{"partition_date": AS_OF}], ["partition_date"])


def _ship_with_ramp(tmp_path):
    e = experiment(ship_ramp=[{"after_days": 0, "winner_share": 0.2}, {"after_days": 3, "winner_share": 1.0}])
    connect = warehouse(tmp_path, [e])
    path = tmp_path / "flags.flagd.json"
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=5)
    with connect() as con:  # `exptrack decide checkout_x ship express`
        replace_registry(con, [e])
        current = lifecycle_store.current_status(con, e.id, "running")
        events = transitions_for_decision(e.id, current, "@sam", "express wins", at)
        lifecycle_store.append_events(
            con,
            [*events, LifecycleEvent(e.id, "decision", "@sam", "express wins", at, decision="ship", variant="express")],
        )
    sync(connect, path, today=TODAY, actor="@sam", reason="express wins", source="lifecycle", only=[e.id])
    return connect, path


def _monitor(connect, path):
    """One monitoring round as notify.service.run_alerting runs it (without delivery)."""
    _, findings = evaluate_health(connect, HealthConfig(), TODAY)
    raised = raise_alerts(connect, findings, CONTACTS, HealthConfig(), "#leadership", "flagd")
    return findings, raised, sync_flags(connect, FlagdFileController(connect, path))


def test_a_guardrail_breach_during_the_ship_ramp_stops_it_once(tmp_path):
    connect, path = _ship_with_ramp(tmp_path)
    ramp = shares(evaluate(path, "checkout_x", N))
    assert abs(ramp["express"] - 0.2) <= 4.5 * math.sqrt(0.2 * 0.8 / N), ramp

    with connect() as con:
        _monitoring_tables(con, harmful=False)
    findings, raised, _ = _monitor(connect, path)
    assert [(f.check, f.status) for f in findings if f.experiment_id == "checkout_x"] == [("guardrail_harm", "pass")]
    assert raised.pauses == [] and shares(evaluate(path, "checkout_x", N)) == ramp

    with connect() as con:
        _monitoring_tables(con, harmful=True)
    findings, raised, flagged = _monitor(connect, path)
    assert [p.experiment_id for p in raised.pauses] == ["checkout_x"] and raised.pauses[0].level == 3
    assert [(e, s, r.status) for e, s, r in flagged] == [("checkout_x", "paused", "ok")]
    assert set(evaluate(path, "checkout_x", N).values()) == {"control"}
    with connect() as con:
        change = con.execute(
            "select serving, source, actor, reason, written_at from state.flag_changes order by change_seq desc limit 1"
        ).fetchone()
        alerts = con.execute("select distinct alert_key, level from alerts.outbox").fetchall()
        note = status_note("checkout_x", latest_events(con).set_index("experiment_id"), None)
        status = lifecycle_store.current_status(con, "checkout_x", "running")
    assert (
        change[:3] == ("control", "monitoring", "exptrack")
        and change[3].startswith("ship ramp stopped: level 3")
        and change[4] is not None
    )
    assert alerts == [(f"checkout_x:guardrail_harm:{AS_OF}", 3)]
    assert "Ship ramp stopped automatically by exptrack* (level 3" in note and "every unit gets control" in note, note
    assert status == "concluded"  # the decision stands; only the flag went back

    _, raised, flagged = _monitor(connect, path)  # the next round: no longer ramping (concluded), nothing more
    assert raised.alerts == [] and raised.pauses == [] and flagged == []
    later = sync(
        connect, path, today=TODAY + dt.timedelta(days=4), actor="exptrack", reason="daily run", source="schedule"
    )
    assert later.plan.changes == [] and set(evaluate(path, "checkout_x", 2_000).values()) == {"control"}
    with connect() as con:
        assert con.execute("select count(distinct alert_key) from alerts.outbox").fetchone()[0] == 1


def test_the_exposure_hook_logs_the_ship_ramp_so_its_guardrails_have_data(tmp_path):
    _, path = _ship_with_ramp(tmp_path)
    rows: list[dict] = []
    api.set_provider_and_wait(FlagdProvider(resolver_type=ResolverType.FILE, offline_flag_source_path=str(path)))
    try:
        client = api.get_client()
        client.add_hooks([ExposureHook(rows.append)])
        served = {
            f"u{i}": client.get_string_value("checkout_x", "control", EvaluationContext(targeting_key=f"u{i}"))
            for i in range(2_000)
        }
    finally:
        api.shutdown()
    assert {r["user_id"]: r["variant"] for r in rows} == served and len(rows) == 2_000
    assert {r["experiment_id"] for r in rows} == {"checkout_x"} and set(served.values()) == {"control", "express"}
