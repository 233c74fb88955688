"""Reports are re-rendered only when what they are made of changed, and kept files equal a fresh render byte for byte
(reports/publish.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exptrack_pipeline.config import load_registry
from exptrack_pipeline.reports import publish as pub
from exptrack_pipeline.reports.experiment import ReportInputs, render

REPO = Path(__file__).resolve().parents[1]
REGISTRY = load_registry(REPO / "experiments")
CHECKOUT = REGISTRY.get("checkout_redesign")
SIGNUP = REGISTRY.get("signup_social_proof")


def _results(e, lift: float) -> pd.DataFrame:
    """Primary-metric results on three analysis dates: enough for the forest and cumulative-lift figures."""
    rows = []
    for day, width in ((1, 0.2), (2, 0.12), (3, 0.08)):
        rows.append(
            {
                "experiment_id": e.id,
                "metric_id": e.primary_metric,
                "metric_role": "primary",
                "direction": "increase",
                "variant": "treatment",
                "control_variant": "control",
                "analysis_date": pd.Timestamp(f"2026-10-0{day}"),
                "n_control": 1000 * day,
                "n_variant": 1000 * day,
                "mean_control": 0.5,
                "mean_variant": 0.5 * (1 + lift),
                "rel_lift": lift,
                "rel_lift_ci_low": lift - width,
                "rel_lift_ci_high": lift + width,
                "seq_rel_lift_ci_low": lift - 1.5 * width,
                "seq_rel_lift_ci_high": lift + 1.5 * width,
                "p_value_adjusted": 0.2,
                "prob_beat_control": 0.8,
                "is_significant": False,
                "seq_is_significant": False,
                "seq_is_harmful": False,
                "harm_margin": 0.0,
                "expected_loss": 0.001,
                "expected_loss_control": 0.02,
            }
        )
    return pd.DataFrame(rows)


def _inputs(e, lift: float = 0.04) -> ReportInputs:
    return ReportInputs(experiment=e, status="running", results=_results(e, lift), health=None)


def _files(folder: Path) -> dict[str, bytes]:
    """The report files of a folder (not the sidecars)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def _fresh(tmp_path: Path, *inputs: ReportInputs) -> dict[str, bytes]:
    """What a from-scratch render of `inputs` writes."""
    folder = tmp_path / "fresh"
    folder.mkdir(exist_ok=True)
    for i in inputs:
        rendered = render(i)
        (folder / f"{i.experiment.id}.html").write_text(rendered.html)
        (folder / f"{i.experiment.id}.md").write_text(rendered.markdown)
        for name, png in rendered.images.items():
            (folder / name).write_bytes(png)
    return _files(folder)


def _must_not_render(inputs: ReportInputs):
    raise AssertionError(f"{inputs.experiment.id} was re-rendered although nothing changed")


def test_a_rerun_with_nothing_new_keeps_files_identical_to_a_fresh_render(tmp_path):
    out = tmp_path / "reports"
    first = [pub.publish(out, _inputs(e)) for e in (CHECKOUT, SIGNUP)]
    assert [p.rendered for p in first] == [True, True]
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = [pub.publish(out, _inputs(e), renderer=_must_not_render) for e in (CHECKOUT, SIGNUP)]
    assert [p.rendered for p in again] == [False, False]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before  # not even rewritten
    assert f"{CHECKOUT.id}_forest.png" in again[0].files and f"{CHECKOUT.id}_cumulative.png" in again[0].files
    assert again[0].key_table == first[0].key_table and again[0].headline == first[0].headline
    assert _files(out) == _fresh(tmp_path, _inputs(CHECKOUT), _inputs(SIGNUP))


def test_a_changed_input_re_renders_exactly_that_experiment(tmp_path):
    out = tmp_path / "reports"
    for e in (CHECKOUT, SIGNUP):
        pub.publish(out, _inputs(e))
    changed = _inputs(CHECKOUT, lift=0.05)
    assert pub.publish(out, changed).rendered
    assert not pub.publish(out, _inputs(SIGNUP), renderer=_must_not_render).rendered
    assert _files(out) == _fresh(tmp_path, changed, _inputs(SIGNUP))


@pytest.mark.parametrize(
    "change",
    [
        lambda i: setattr(i, "status", "concluded"),
        lambda i: setattr(i, "daily_units", 1234.0),
        lambda i: setattr(i, "health", pd.DataFrame([{"check_name": "srm", "status": "fail", "summary": "p=1e-9"}])),
        lambda i: setattr(i, "decision", {"decision": "ship", "variant": "treatment"}),
        lambda i: i.results.__setitem__("p_value_adjusted", 0.2000001),
    ],
    ids=["status", "traffic", "health", "decision", "a-value-in-the-last-digits"],
)
def test_every_kind_of_input_is_part_of_the_fingerprint(change):
    base = _inputs(CHECKOUT)
    other = _inputs(CHECKOUT)
    change(other)
    assert pub.fingerprint(base) == pub.fingerprint(_inputs(CHECKOUT))
    assert pub.fingerprint(other) != pub.fingerprint(base)


def test_a_new_code_version_re_renders_every_report(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    for e in (CHECKOUT, SIGNUP):
        pub.publish(out, _inputs(e))
    monkeypatch.setattr(pub, "code_version", lambda: "another template")
    assert [pub.publish(out, _inputs(e)).rendered for e in (CHECKOUT, SIGNUP)] == [True, True]


def test_the_code_version_covers_the_templates_and_figures(monkeypatch):
    names = {name for _, name in pub.CODE_FILES}
    assert {"templates/document.html", "plots.py", "experiment.py", "recommendation.py"} <= names
    version = pub.code_version()
    monkeypatch.setattr(pub, "CODE_FILES", pub.CODE_FILES[:-1])
    assert pub.code_version.__wrapped__() != version


@pytest.mark.parametrize("damage", ["delete", "edit", "sidecar"])
def test_a_deleted_or_edited_output_file_is_re_rendered(tmp_path, damage):
    out = tmp_path / "reports"
    pub.publish(out, _inputs(CHECKOUT))
    forest = out / f"{CHECKOUT.id}_forest.png"
    if damage == "delete":
        forest.unlink()
    elif damage == "edit":
        forest.write_bytes(forest.read_bytes()[:-10])
    else:
        pub.sidecar_path(out, CHECKOUT.id).unlink()
    assert pub.publish(out, _inputs(CHECKOUT)).rendered
    assert _files(out) == _fresh(tmp_path, _inputs(CHECKOUT))


def test_only_the_experiments_own_interaction_rows_are_part_of_its_fingerprint():
    from test_heterogeneity import portfolio  # lifecycle_interaction_stats of experiments a, b, c sharing users

    ids = {"a": CHECKOUT.id, "b": SIGNUP.id, "c": "other_experiment"}
    stats = portfolio(np.random.default_rng(3), n=6000, planted=0.35).replace(
        {"experiment_id": ids, "other_experiment_id": ids}
    )

    def checkout_print(frame: pd.DataFrame) -> str:
        inputs = _inputs(CHECKOUT)
        inputs.interaction = frame
        return pub.fingerprint(inputs)

    base = checkout_print(stats)
    others = stats.copy()
    others.loc[others["experiment_id"] == "other_experiment", "sum"] += 7  # another experiment's pairs moved
    assert checkout_print(others) == base
    mine = stats.copy()
    mine.loc[(mine["experiment_id"] == CHECKOUT.id) & ~mine["is_control"], "sum"] += 7
    assert checkout_print(mine) != base
    assert checkout_print(stats.iloc[:-4]) != base  # one pair fewer: a different correction over the portfolio


def test_duckdb_noise_does_not_re_render_but_a_reordered_results_table_does():
    base = _inputs(CHECKOUT)
    base.cohorts = pd.DataFrame(
        {"variant": ["control", "treatment"], "day_since_exposure": [1, 1], "eligible_units": [10, 12]}
    )
    noisy = _inputs(CHECKOUT)
    noisy.cohorts = base.cohorts.iloc[::-1].reset_index(drop=True)  # rows in another order: the report sums them
    noisy.results["mean_control"] = 0.5 * (1 + 1e-15)  # a parallel sum's last bits
    assert pub.fingerprint(noisy) == pub.fingerprint(base)
    reordered = _inputs(CHECKOUT)
    reordered.cohorts = base.cohorts
    reordered.results = reordered.results.iloc[::-1].reset_index(drop=True)  # the tables keep the rows' order
    assert pub.fingerprint(reordered) != pub.fingerprint(base)
