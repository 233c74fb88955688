"""The demo generator writes a landing zone that honours the contract and carries the stated true effects.

Expected numbers come from the design brief (10.2% vs 12.5% signup, 5% CTR with grid +15%, one_page
error_rate +60%, 10% of one_page exposures lost, ~0.3% duplicates, ~0.5% multi-variant users), not from
the generator's code. Files are read back with DuckDB, the way the ingestion layer reads them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from exptrack_pipeline.demo.generate import DemoTruth, generate_demo, main, simulate_world

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

SCALE = 0.25
SEED = 7
REPO = Path(__file__).resolve().parents[1]
EVENTS_START, EVENTS_END = dt.date(2026, 10, 18), dt.date(2026, 11, 24)
EXPOSURE_COLUMNS = {"user_id", "experiment_id", "variant", "exposed_at", "platform", "country", "is_new_user"}
EVENT_COLUMNS = {"event_id", "user_id", "event_name", "occurred_at", "value", "session_id"}
DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


# --------------------------------------------------------------------------------------------------
# reading the landing zone back


def _read(raw: Path, source: str, columns: set[str]) -> pd.DataFrame:
    """All files of one source as text columns, plus `file`, `folder_date` and the parsed UTC `ts`."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    ts_col = "exposed_at" if source == "exposures" else "occurred_at"
    cols = ", ".join(f"{c}::varchar as {c}" for c in sorted(columns))
    json_cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in sorted(columns)) + "}"
    base = raw / source
    parts = []
    if list(base.glob("*/*.parquet")):
        parts.append(
            f"select {cols}, filename as file from read_parquet('{base}/*/*.parquet', filename = true, "
            "union_by_name = true)"
        )
    if list(base.glob("*/*.csv")):
        parts.append(
            f"select {cols}, filename as file from read_csv('{base}/*/*.csv', all_varchar = true, header = "
            "true, filename = true, union_by_name = true)"
        )
    if list(base.glob("*/*.jsonl")):
        parts.append(
            f"select {cols}, filename as file from read_json('{base}/*/*.jsonl', format = 'newline_delimited', "
            f"columns = {json_cols}, filename = true)"
        )
    frame = con.execute(
        f"select *, try_cast({ts_col} as timestamptz) as ts, "
        f"regexp_extract(file, '/date=(\\d{{4}}-\\d{{2}}-\\d{{2}})/[^/]+$', 1)::date as folder_date "
        f"from ({' union all '.join(parts)})"
    ).df()
    frame["folder_date"] = frame["folder_date"].dt.date
    return frame


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, DemoTruth]:
    raw = tmp_path_factory.mktemp("raw")
    truth = generate_demo(raw, seed=SEED, scale=SCALE)
    return raw, truth


@pytest.fixture(scope="module")
def exposures(demo) -> pd.DataFrame:
    return _read(demo[0], "exposures", EXPOSURE_COLUMNS)


@pytest.fixture(scope="module")
def events(demo) -> pd.DataFrame:
    return _read(demo[0], "events", EVENT_COLUMNS)


@pytest.fixture(scope="module")
def registry() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in (REPO / "experiments").glob("*.yaml") if p.stem != "metrics"}


@pytest.fixture(scope="module")
def catalog() -> dict[str, dict]:
    return {m["id"]: m for m in yaml.safe_load((REPO / "experiments" / "metrics.yaml").read_text())["metrics"]}


def _valid_exposures(exposures: pd.DataFrame, registry: dict) -> pd.DataFrame:
    known = {(e, v["name"]) for e, spec in registry.items() for v in spec["variants"]}
    ok = exposures["user_id"].fillna("").str.len().gt(0) & exposures["ts"].notna()
    ok &= pd.Series(
        [(e, v) in known for e, v in zip(exposures["experiment_id"], exposures["variant"], strict=True)],
        index=exposures.index,
    )
    return exposures[ok]


def _first_exposures(exposures: pd.DataFrame, registry: dict, experiment: str) -> pd.DataFrame:
    """One row per user of a single variant: their variant and first exposure time."""
    x = _valid_exposures(exposures, registry)
    x = x[x["experiment_id"] == experiment]
    g = x.groupby("user_id").agg(variant=("variant", "first"), n_variants=("variant", "nunique"), t0=("ts", "min"))
    return g[g["n_variants"] == 1]


def _clean_events(events: pd.DataFrame) -> pd.DataFrame:
    ok = events[events["event_id"].notna() & events["ts"].notna()]
    return ok.drop_duplicates("event_id")


def _within(events: pd.DataFrame, first: pd.DataFrame, names: set[str], days: int) -> pd.DataFrame:
    e = events[events["event_name"].isin(names)].merge(first[["t0"]], left_on="user_id", right_index=True)
    return e[(e["ts"] >= e["t0"]) & (e["ts"] < e["t0"] + pd.Timedelta(days=days))]


def _digest(raw: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in raw.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(raw)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# layout and contract


def test_folder_layout_and_format_mix(demo):
    raw, _ = demo
    assert (raw / "demo_truth.json").is_file()
    for source, first, last in (("exposures", dt.date(2026, 11, 1), EVENTS_END), ("events", EVENTS_START, EVENTS_END)):
        folders = sorted((raw / source).iterdir())
        dates = [dt.date.fromisoformat(DATE_DIR.match(f.name).group(1)) for f in folders]
        assert dates[0] == first and dates[-1] == last
        assert len(dates) == (last - first).days + 1, f"{source}: a day folder is missing"
        suffixes = {p.suffix for p in (raw / source).rglob("*") if p.is_file()}
        assert suffixes == {".parquet", ".csv", ".jsonl"}, f"{source}: {suffixes}"
    for folder in (raw / "events").iterdir():  # every day split across parquet and jsonl
        assert {p.suffix for p in folder.iterdir()} >= {".parquet", ".jsonl"}, folder.name
    csv_days = [f for f in (raw / "events").iterdir() if any(p.suffix == ".csv" for p in f.iterdir())]
    assert 3 <= len(csv_days) < 38
    kinds = {f.name: {p.suffix for p in f.iterdir()} for f in (raw / "exposures").iterdir()}
    assert any(".parquet" in k and ".csv" not in k for k in kinds.values())
    assert any(".csv" in k and ".parquet" not in k for k in kinds.values())


def test_columns_and_types_follow_the_contract(demo):
    raw, _ = demo
    con = duckdb.connect()
    for source, columns, ts in (
        ("exposures", EXPOSURE_COLUMNS, "exposed_at"),
        ("events", EVENT_COLUMNS, "occurred_at"),
    ):
        for path in (raw / source).rglob("*.*"):
            if path.suffix == ".parquet":
                desc = {
                    r[0]: r[1]
                    for r in con.execute(
                        f"describe select * from read_parquet('{path}', hive_partitioning = false)"
                    ).fetchall()
                }
                assert set(desc) == columns, path
                assert desc[ts] == "TIMESTAMP WITH TIME ZONE", (path, desc[ts])
                if source == "exposures":
                    assert desc["is_new_user"] == "BOOLEAN"
                else:
                    assert desc["value"] == "DOUBLE"
            elif path.suffix == ".csv":
                header = path.read_text().splitlines()[0].split(",")
                assert set(header) == columns, path
            else:
                first = json.loads(path.read_text().splitlines()[0])
                assert set(first) == columns, path


def test_text_timestamps_mix_styles_and_folders_are_utc_dates(exposures, events, demo):
    _, truth = demo
    for frame, col in ((exposures, "exposed_at"), (events, "occurred_at")):
        text = frame[~frame["file"].str.endswith(".parquet")][col].dropna()
        assert text.str.endswith("Z").any()
        assert text.str.contains(r"T\d\d:\d\d:\d\d\+01:00$").any()
        assert text.str.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$").any()
    assert (exposures["ts"].dt.date == exposures["folder_date"]).all()
    parsed = events[events["ts"].notna()]
    off_by = (parsed["folder_date"] - parsed["ts"].dt.date).map(lambda d: d.days)
    assert set(off_by.unique()) <= {0, 1}
    late = parsed[off_by == 1]
    assert len(late) == truth.counts["duplicate_event_rows_next_day"] > 0
    on_time_ids = set(parsed.loc[off_by == 0, "event_id"])
    assert late["event_id"].isin(on_time_ids).all(), "a next-day row must re-deliver an event already delivered"
    ts = _clean_events(events)["ts"]
    assert ts.min().date() == EVENTS_START and ts.max().date() == EVENTS_END


def test_duplicates_and_bad_rows_equal_the_truth(exposures, events, demo):
    _, truth = demo
    c = truth.counts
    assert len(events) == c["event_rows"] and len(exposures) == c["exposure_rows"]
    bad = c["bad_rows"]
    assert 1 <= bad["event_null_event_id"] <= 10 and 1 <= bad["exposure_unknown_experiment"] <= 10
    assert events["event_id"].isna().sum() == bad["event_null_event_id"]
    assert (events["occurred_at"] == "not-a-time").sum() == bad["event_unparseable_timestamp"]
    assert events["ts"].isna().sum() == bad["event_unparseable_timestamp"]
    assert exposures["user_id"].fillna("").eq("").sum() == bad["exposure_empty_user_id"]
    assert (exposures["variant"] == "treatment_b").sum() == bad["exposure_unknown_variant"]
    assert (exposures["experiment_id"] == "ghost_test").sum() == bad["exposure_unknown_experiment"]
    for bad_file in events.loc[events["event_id"].isna() | events["ts"].isna(), "file"]:
        assert not bad_file.endswith(".parquet")

    with_id = events[events["event_id"].notna()]
    n_dup = len(with_id) - with_id["event_id"].nunique()
    assert n_dup == c["duplicate_event_rows"]
    assert 0.002 <= n_dup / len(events) <= 0.004, "about 0.3% duplicates"
    assert c["duplicate_event_rows_same_day"] > 0 and c["duplicate_event_rows_next_day"] > 0
    dups = with_id[with_id["event_id"].duplicated(keep=False)]
    same = dups.groupby("event_id").agg(
        users=("user_id", "nunique"),
        names=("event_name", "nunique"),
        ts=("ts", "nunique"),
        sessions=("session_id", "nunique"),
    )
    assert (same == 1).all().all(), "a duplicate repeats the whole row"
    assert c["unique_events"] == len(_clean_events(events))


def test_events_are_plausible(events, catalog):
    clean = _clean_events(events)
    names = set(clean["event_name"])
    used = {
        e
        for m in catalog.values()
        for part in (m, m.get("numerator") or {}, m.get("denominator") or {})
        for e in part.get("events", [])
    }
    assert {
        "session_start",
        "session_end",
        "card_impression",
        "card_click",
        "purchase",
        "app_error",
        "signup_completed",
        "saved_search_created",
    } <= names
    assert names - used, "there are noise events no metric uses"
    values = pd.to_numeric(clean["value"], errors="coerce")
    seconds = values[clean["event_name"] == "session_end"]
    assert seconds.notna().all() and (seconds > 0).all() and seconds.median() < seconds.mean()  # right-skewed
    revenue = values[clean["event_name"] == "purchase"]
    assert revenue.notna().all() and (revenue > 0).all() and revenue.median() < revenue.mean()
    load_ms = values[clean["event_name"] == "page_view"]  # page load time: the p90 guardrail's value
    assert (
        load_ms.notna().all()
        and (load_ms > 0).all()
        and load_ms.median() < load_ms.quantile(0.9) < 5 * load_ms.median()
    )
    per_user_day = clean[clean["event_name"] == "session_start"].groupby(["user_id", clean["ts"].dt.date]).size()
    assert per_user_day.max() >= 3 and per_user_day.mean() > 1.1, "several sessions per active day"
    assert len(clean) <= 1.5e6 * SCALE * 1.1


# --------------------------------------------------------------------------------------------------
# exposures and the experiment design


def test_exposures_fit_the_registry(exposures, registry, demo):
    _, truth = demo
    valid = _valid_exposures(exposures, registry)
    assert len(exposures) - len(valid) == sum(
        v for k, v in truth.counts["bad_rows"].items() if k.startswith("exposure")
    )
    assert set(valid["platform"]) == {"ios", "android", "web"}
    assert set(valid["country"]) == {"US", "DE", "IN", "BR", "GB"}
    assert set(valid["is_new_user"].str.lower()) == {"true", "false"}
    assert (valid.groupby("user_id")[["platform", "country", "is_new_user"]].nunique() == 1).all().all()
    for exp_id, spec in registry.items():
        x = valid[valid["experiment_id"] == exp_id]
        dates = x["ts"].dt.date
        assert dates.min() == spec["start_date"] and dates.max() == min(spec["end_date"], EVENTS_END)
        assert set(x["variant"]) == {v["name"] for v in spec["variants"]}
        info = truth.experiments[exp_id]
        assert info["weights"] == {v["name"]: v["weight"] for v in spec["variants"]}
        assert info["control"] == next(v["name"] for v in spec["variants"] if v.get("is_control"))
        rows_per_user = x.groupby("user_id").size()
        assert 0.2 <= (rows_per_user > 1).mean() <= 0.45, f"{exp_id}: ~30% of users have repeat exposures"
        n_variants = x.groupby("user_id")["variant"].nunique()
        assert (n_variants > 1).sum() == info["multi_variant_users"]
        assert 0.002 <= (n_variants > 1).mean() <= 0.01, f"{exp_id}: ~0.5% multi-variant users"
        first = _first_exposures(exposures, registry, exp_id)
        assert first["variant"].value_counts().to_dict() == info["users_per_variant"]
    signup = valid[valid["experiment_id"] == "signup_social_proof"]
    assert (signup["is_new_user"].str.lower() == "true").all()
    users = {e: set(valid.loc[valid["experiment_id"] == e, "user_id"]) for e in registry}
    assert len(users["homepage_cards"] & users["checkout_redesign"]) > 0.1 * len(users["checkout_redesign"])


def test_truth_matches_the_registry_and_stated_effects(demo, registry, catalog):
    _, truth = demo
    assert set(truth.true_lift) == set(registry)
    for exp_id, spec in registry.items():
        metrics = [
            spec["primary_metric"],
            *spec.get("secondary_metrics", []),
            *[g["metric"] for g in spec.get("guardrail_metrics", [])],
        ]
        assert set(truth.true_lift[exp_id]) == set(metrics)
        assert set(metrics) <= set(catalog)
        treatments = {v["name"] for v in spec["variants"] if not v.get("is_control")}
        for _metric, per_variant in truth.true_lift[exp_id].items():
            assert set(per_variant) == treatments
    lift = truth.true_lift
    assert lift["signup_social_proof"]["signup_conversion"]["social_proof"] == pytest.approx(0.125 / 0.102 - 1)
    assert lift["homepage_cards"]["card_ctr"] == pytest.approx({"compact": 0.0, "carousel": 0.0, "grid": 0.15})
    assert lift["checkout_redesign"]["error_rate"]["one_page"] == pytest.approx(0.6)
    nonzero = {(e, m, v) for e, ms in lift.items() for m, vs in ms.items() for v, x in vs.items() if x != 0}
    assert nonzero == {
        ("signup_social_proof", "signup_conversion", "social_proof"),
        ("homepage_cards", "card_ctr", "grid"),
        ("checkout_redesign", "error_rate", "one_page"),
    }
    assert truth.control_levels["signup_social_proof"]["signup_conversion"] == pytest.approx(0.102)
    assert truth.control_levels["homepage_cards"]["card_ctr"] == pytest.approx(0.05)
    assert json.loads((demo[0] / "demo_truth.json").read_text()) == truth.to_dict()
    assert DemoTruth.load(demo[0]) == truth


# --------------------------------------------------------------------------------------------------
# the true effects are visible in the data


def test_signup_conversion_near_truth(exposures, events, registry):
    first = _first_exposures(exposures, registry, "signup_social_proof")
    signed = set(_within(_clean_events(events), first, {"signup_completed"}, 14)["user_id"])
    rate = first.assign(y=first.index.isin(signed)).groupby("variant")["y"].mean()
    assert rate["control"] == pytest.approx(0.102, abs=0.025)
    assert rate["social_proof"] == pytest.approx(0.125, abs=0.025)
    assert rate["social_proof"] > rate["control"]


def test_card_ctr_near_truth(exposures, events, registry):
    first = _first_exposures(exposures, registry, "homepage_cards")
    cards = _within(_clean_events(events), first, {"card_impression", "card_click"}, 21)
    counts = (
        cards.assign(variant=cards["user_id"].map(first["variant"])).groupby(["variant", "event_name"]).size().unstack()
    )
    ctr = counts["card_click"] / counts["card_impression"]
    for variant in ("control", "compact", "carousel"):
        assert ctr[variant] == pytest.approx(0.05, abs=0.008), variant
    assert ctr["grid"] == pytest.approx(0.0575, abs=0.008)
    assert ctr["grid"] > max(ctr[["control", "compact", "carousel"]])


def test_checkout_sample_ratio_mismatch_and_error_harm(exposures, events, registry, demo):
    _, truth = demo
    first = _first_exposures(exposures, registry, "checkout_redesign")
    n = first["variant"].value_counts()
    assert 0.84 <= n["one_page"] / n["control"] <= 0.96, "10% of one_page exposures are never logged"
    expected = n.sum() / 2
    chi2 = ((n - expected) ** 2 / expected).sum()
    assert math.erfc(math.sqrt(chi2 / 2)) < 0.05  # df = 1; p < 1e-6 at scale 1, see test_default_size
    assert truth.experiments["checkout_redesign"]["unlogged_users"]["control"] == 0
    errors = set(_within(_clean_events(events), first, {"app_error"}, 14)["user_id"])
    rate = first.assign(y=first.index.isin(errors)).groupby("variant")["y"].mean()
    assert 1.3 <= rate["one_page"] / rate["control"] <= 1.9


def test_no_effect_metrics_are_flat(exposures, events, registry):
    clean = _clean_events(events)
    first = _first_exposures(exposures, registry, "checkout_redesign")
    buyers = set(_within(clean, first, {"purchase"}, 14)["user_id"])
    rate = first.assign(y=first.index.isin(buyers)).groupby("variant")["y"].mean()
    assert rate["one_page"] / rate["control"] == pytest.approx(1.0, abs=0.1)
    first = _first_exposures(exposures, registry, "signup_social_proof")
    day1 = _within(clean, first, {"session_start"}, 3)
    day1 = day1[day1["ts"].dt.date == day1["t0"].dt.date + dt.timedelta(days=1)]
    rate = first.assign(y=first.index.isin(set(day1["user_id"]))).groupby("variant")["y"].mean()
    assert 0.1 < rate["control"] < 0.6
    assert rate["social_proof"] / rate["control"] == pytest.approx(1.0, abs=0.12)


def test_returning_users_have_a_correlated_pre_period(exposures, events, registry):
    clean = _clean_events(events)
    first = _first_exposures(exposures, registry, "homepage_cards")
    attrs = _valid_exposures(exposures, registry).groupby("user_id")["is_new_user"].first().str.lower()
    sessions = clean[clean["event_name"] == "session_start"].merge(first[["t0"]], left_on="user_id", right_index=True)
    pre = sessions[sessions["ts"] < sessions["t0"]].groupby("user_id").size()
    post = (
        sessions[(sessions["ts"] >= sessions["t0"]) & (sessions["ts"] < sessions["t0"] + pd.Timedelta(days=14))]
        .groupby("user_id")
        .size()
    )
    returning = first.index[attrs.reindex(first.index).eq("false")]
    both = pd.DataFrame({"pre": pre, "post": post}).reindex(returning).fillna(0)
    assert (both["pre"] > 0).mean() > 0.9
    assert both["pre"].corr(both["post"]) > 0.3
    new = first.index[attrs.reindex(first.index).eq("true")]
    before = sessions[
        sessions["ts"] < sessions["t0"] - pd.Timedelta(minutes=1)
    ]  # the exposure session starts just before
    assert not before["user_id"].isin(new).any(), "new users have no activity before their first exposure"


# --------------------------------------------------------------------------------------------------
# determinism, options, CLI


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = generate_demo(tmp_path / "a", seed=3, scale=0.05)
    b = generate_demo(tmp_path / "b", seed=3, scale=0.05)
    c = generate_demo(tmp_path / "c", seed=4, scale=0.05)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert a == b
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    assert a.counts["event_rows"] != c.counts["event_rows"]


def test_regenerating_replaces_only_the_landing_zone(tmp_path):
    stale = tmp_path / "events" / "date=2020-01-01" / "old.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("x\n")
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    truth = generate_demo(tmp_path, seed=1, scale=0.05, bad_rows=False)
    assert not stale.exists() and keep.read_text() == "mine"
    assert truth.counts["duplicate_event_rows"] == 0 and sum(truth.counts["bad_rows"].values()) == 0
    events = _read(tmp_path, "events", EVENT_COLUMNS)
    assert events["event_id"].is_unique and events["ts"].notna().all()
    assert (events["ts"].dt.date == events["folder_date"]).all()
    assert len(events) == truth.counts["event_rows"] == truth.counts["unique_events"]


def test_scale_multiplies_users(demo, tmp_path):
    _, truth = demo
    small = generate_demo(tmp_path, seed=SEED, scale=SCALE / 5)
    assert truth.users["total"] / small.users["total"] == pytest.approx(5, rel=0.01)
    assert truth.counts["event_rows"] / small.counts["event_rows"] == pytest.approx(5, rel=0.15)
    assert truth.users["new"] == pytest.approx(sum(truth.experiments["signup_social_proof"]["assigned_users"].values()))
    with pytest.raises(ValueError):
        generate_demo(tmp_path, scale=0)


def test_default_size_is_modest_and_powered():
    """Scale 1.0 without writing files: ~8,000+ signup users per arm, SRM p < 1e-6, at most ~1.5M events."""
    world = simulate_world(SEED, 1.0)
    assert world.ev_t.size <= 1_500_000
    arms = {arm.design.id: arm for arm in world.arms}
    signup = arms["signup_social_proof"]
    assert min(np.bincount(signup.variant)) >= 8_000
    checkout = arms["checkout_redesign"]
    n = np.bincount(checkout.variant[checkout.logged])
    chi2 = ((n - n.sum() / 2) ** 2 / (n.sum() / 2)).sum()
    assert math.erfc(math.sqrt(chi2 / 2)) < 1e-6
    assert min(np.bincount(arms["homepage_cards"].variant)) >= 5_000


def test_cli_prints_a_summary(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "raw"), "--seed", "2", "--scale", "0.05", "--no-bad-rows"]) == 0
    out = capsys.readouterr().out
    assert "exposure rows" in out and "event rows" in out and "checkout_redesign" in out
    truth = DemoTruth.load(tmp_path / "raw" / "demo_truth.json")
    assert truth.seed == 2 and truth.bad_rows is False
