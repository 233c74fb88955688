"""The experiment registry: the demo registry loads; wrong files fail naming the file, the field and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from exptrack_pipeline.config import RegistryError, load_registry
from exptrack_pipeline.config.tables import registry_tables

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def registry_dir(tmp_path: Path) -> Path:
    target = tmp_path / "experiments"
    shutil.copytree(REPO / "experiments", target)
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_demo_registry_loads_every_experiment_and_metric():
    registry = load_registry(REPO / "experiments")
    assert {e.id for e in registry.experiments} == {"signup_social_proof", "homepage_cards", "checkout_redesign"}
    cards = registry.get("homepage_cards")
    assert [v.name for v in cards.variants] == ["control", "compact", "carousel", "grid"]
    assert cards.control.name == "control"
    tables = registry_tables(registry)
    roles = (
        tables["experiment_metrics"]
        .query("experiment_id == 'signup_social_proof'")
        .set_index("metric_id")["metric_role"]
    )
    assert roles.to_dict() == {
        "signup_conversion": "primary",
        "d1_retention": "secondary",
        "d7_retention": "secondary",
        "session_duration": "secondary",
        "error_rate": "guardrail",
    }
    ctr_events = tables["metric_events"].query("metric_id == 'card_ctr'")
    assert set(zip(ctr_events["metric_part"], ctr_events["event_name"], strict=True)) == {
        ("numerator", "card_click"),
        ("denominator", "card_impression"),
    }


def test_missing_field_names_file_and_field(registry_dir: Path):
    path = registry_dir / "signup_social_proof.yaml"
    _edit(path, lambda d: d.pop("owner"))
    with pytest.raises(RegistryError) as info:
        load_registry(registry_dir)
    message = str(info.value)
    assert "signup_social_proof.yaml" in message
    assert "`owner`" in message and "required" in message


def test_unknown_metric_lists_the_known_ones(registry_dir: Path):
    _edit(registry_dir / "homepage_cards.yaml", lambda d: d.__setitem__("primary_metric", "card_ctrr"))
    with pytest.raises(RegistryError) as info:
        load_registry(registry_dir)
    message = str(info.value)
    assert "homepage_cards.yaml" in message and "'card_ctrr'" in message and "card_ctr" in message


def test_weights_not_summing_to_one(registry_dir: Path):
    def change(d):
        d["variants"][0]["weight"] = 0.6

    _edit(registry_dir / "checkout_redesign.yaml", change)
    with pytest.raises(RegistryError) as info:
        load_registry(registry_dir)
    message = str(info.value)
    assert "checkout_redesign.yaml" in message and "sum to 1" in message and "control=0.6" in message


def test_yaml_syntax_error_names_the_file(registry_dir: Path):
    (registry_dir / "broken.yaml").write_text("id: broken\nvariants: [\n")
    with pytest.raises(RegistryError, match=r"broken\.yaml: is not valid YAML"):
        load_registry(registry_dir)


def test_duplicate_experiment_id(registry_dir: Path):
    shutil.copy(registry_dir / "signup_social_proof.yaml", registry_dir / "signup_copy.yaml")
    with pytest.raises(RegistryError) as info:
        load_registry(registry_dir)
    message = str(info.value)
    assert "'signup_social_proof' is already used by" in message
    assert "signup_copy.yaml" in message and "signup_social_proof.yaml" in message


def test_two_controls_and_unknown_field(registry_dir: Path):
    def change(d):
        d["variants"][1]["is_control"] = True
        d["colour"] = "blue"

    _edit(registry_dir / "signup_social_proof.yaml", change)
    with pytest.raises(RegistryError) as info:
        load_registry(registry_dir)
    message = str(info.value)
    assert "`colour`" in message and "not a known field" in message


def test_ratio_metric_needs_numerator_and_denominator(registry_dir: Path):
    def change(d):
        for metric in d["metrics"]:
            if metric["id"] == "card_ctr":
                metric.pop("denominator")

    _edit(registry_dir / "metrics.yaml", change)
    with pytest.raises(RegistryError, match=r"metrics\.yaml: invalid[\s\S]*numerator` and `denominator"):
        load_registry(registry_dir)


def _set_metric(registry_dir: Path, metric_id: str, **fields) -> None:
    def change(d):
        for metric in d["metrics"]:
            if metric["id"] == metric_id:
                for key, value in fields.items():
                    if value is None:
                        metric.pop(key, None)
                    else:
                        metric[key] = value

    _edit(registry_dir / "metrics.yaml", change)


def test_demo_quantile_metrics_reach_the_registry_tables():
    tables = registry_tables(load_registry(REPO / "experiments"))
    metrics = tables["metrics"].set_index("metric_id")
    assert metrics.loc["page_load_p90", ["stat_kind", "quantile", "quantile_granularity"]].tolist() == [
        "quantile",
        0.9,
        "event",
    ]
    assert metrics.loc["session_seconds_p50", "quantile_granularity"] == "unit"  # the default
    assert metrics.loc["card_ctr", ["quantile", "quantile_granularity"]].isna().all()


@pytest.mark.parametrize(
    ("metric_id", "fields", "message"),
    [
        ("page_load_p90", {"quantile": None}, r"field `metrics\.\d+`: a quantile metric needs `quantile`"),
        ("page_load_p90", {"quantile": 90}, r"`quantile` must be strictly between 0 and 1 .*got 90"),
        ("page_load_p90", {"quantile": 1.0}, r"`quantile` must be strictly between 0 and 1"),
        ("page_load_p90", {"aggregation": "count"}, r"granularity: event.*set `aggregation: sum`"),
        (
            "page_load_p90",
            {"granularity": "session"},
            r"field `metrics\.\d+\.granularity`: Input should be 'unit' or 'event'",
        ),
        ("page_load_p90", {"cap": {"method": "fixed", "value": 5000}}, r"capping would bias a quantile"),
        (
            "revenue_per_user",
            {"quantile": 0.9},
            r"`quantile`/`granularity` belong to quantile metrics, not mean; remove",
        ),
    ],
)
def test_quantile_metric_errors_name_file_field_and_fix(registry_dir: Path, metric_id, fields, message):
    _set_metric(registry_dir, metric_id, **fields)
    with pytest.raises(RegistryError, match=r"metrics\.yaml: invalid[\s\S]*" + message):
        load_registry(registry_dir)
