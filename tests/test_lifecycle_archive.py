"""Decisions through the CLI, then the pipeline: handoff, portfolio metrics, monthly impact and a write-once archive
that stays byte-identical when the pipeline re-runs on changed data (and is caught when someone edits it)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from exptrack_pipeline.cli import main
from exptrack_pipeline.config import Settings

RERUN = [
    "experiment_results",
    "retention_results",
    "segment_results",
    "experiment_lifecycle",
    "experiment_backlog",
    "experiment_reports",
    "implementation_handoffs",
    "experiment_archive",
    "portfolio_metrics",
    "weekly_status_report",
    "monthly_impact_report",
]


def make_settings(root: Path, experiments_dir: Path | None = None) -> Settings:
    """Settings under `root` (the session conftest's helper is not importable by name when tests/stats/conftest.py loads
    first)."""
    experiments_dir = experiments_dir or Path(__file__).resolve().parents[1] / "experiments"
    return Settings(
        raw_dir=root / "raw",
        experiments_dir=experiments_dir,
        metrics_file=experiments_dir / "metrics.yaml",
        warehouse=root / "warehouse.duckdb",
        output_dir=root / "output",
    )


QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _run(settings, keys):
    from exptrack_pipeline.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def("analysis_job")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(k) for k in keys], run_config=QUIET, raise_on_error=False
        )


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_decide_archive_and_rerun_leave_the_archive_byte_identical(demo_run, tmp_path, monkeypatch, capsys):
    settings = make_settings(tmp_path)
    shutil.copy(demo_run.warehouse, settings.warehouse)
    for name, value in [
        ("EXPTRACK_RAW_DIR", settings.raw_dir),
        ("EXPTRACK_EXPERIMENTS_DIR", settings.experiments_dir),
        ("EXPTRACK_METRICS_FILE", settings.metrics_file),
        ("EXPTRACK_WAREHOUSE", settings.warehouse),
        ("EXPTRACK_OUTPUT_DIR", settings.output_dir),
    ]:
        monkeypatch.setenv(name, str(value))  # restored after the test, also after build_definitions() exports them

    assert (
        main(
            [
                "decide",
                "signup_social_proof",
                "ship",
                "social_proof",
                "--rationale",
                "signup up, no guardrail harm",
                "--actor",
                "@maria",
                "--at",
                "2026-11-15T10:00",
                "--learned",
                "social proof lifts signups",
                "--evidence",
                "primary up, guardrails flat",
                "--follow-up",
                "try it on checkout",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "decide",
                "checkout_redesign",
                "rollback",
                "--rationale",
                "error rate up 60%",
                "--actor",
                "@sam",
                "--at",
                "2026-11-30T09:00",
                "--learned",
                "the redesign broke error handling",
            ]
        )
        == 0
    )
    assert (
        main(
            ["implemented", "signup_social_proof", "--actor", "@eng", "--reason", "100% rollout", "--at", "2026-11-20"]
        )
        == 0
    )
    assert (
        main(["move", "homepage_cards", "--to", "archived", "--actor", "@li", "--reason", "skip ahead"]) == 2
    )  # running -> archived is not allowed
    assert "cannot move from running to archived" in capsys.readouterr().err

    # one effective-status rule in dbt's view and in Python (what monitoring acts on): the decisions concluded both
    from exptrack_pipeline.notify.state import effective_statuses

    with duckdb.connect(str(settings.warehouse)) as con:
        view = con.execute(
            "select experiment_id, effective_status, status_source, status_actor from main.dim_experiment_status"
        ).df()
        assert dict(zip(view["experiment_id"], view["effective_status"], strict=True)) == effective_statuses(con)
    by_id = view.set_index("experiment_id")
    assert (
        by_id.loc["signup_social_proof", "effective_status"] == "concluded"
        and by_id.loc["signup_social_proof", "status_actor"] == "@maria"
    )
    assert (by_id.loc["checkout_redesign", "effective_status"], by_id.loc["checkout_redesign", "status_source"]) == (
        "concluded",
        "lifecycle",
    )
    assert (by_id.loc["homepage_cards", "effective_status"], by_id.loc["homepage_cards", "status_source"]) == (
        "running",
        "registry",
    )

    first = _run(settings, RERUN)
    assert first.success
    archive = settings.output_dir / "archive" / "signup_social_proof"
    frozen = _snapshot(archive)
    # the manifest lists every other file with its SHA-256
    manifest = dict(reversed(line.split("  ")) for line in frozen["MANIFEST.sha256"].decode().splitlines())
    assert set(manifest) == set(frozen) - {"MANIFEST.sha256"}
    assert all(hashlib.sha256(frozen[name]).hexdigest() == digest for name, digest in manifest.items())
    assert {
        "decision.json",
        "results_final.csv",
        "handoff.md",
        "signup_social_proof.html",
        "config_signup_social_proof.yaml",
    } <= set(frozen)
    learned = json.loads(frozen["learnings.json"])  # the learnings library's row, kept with the decision
    assert [(x["learned"], x["evidence"], x["follow_up"]) for x in learned] == [
        ("social proof lifts signups", "primary up, guardrails flat", "try it on checkout")
    ]
    decision = json.loads(frozen["decision.json"])
    assert (decision["decision"], decision["variant"], decision["decided_by"], decision["status"]) == (
        "ship",
        "social_proof",
        "@maria",
        "concluded",
    )
    final = pd.read_csv(archive / "results_final.csv")
    expected_rows = demo_run.query(
        "select count(*) as n from main.experiment_results where experiment_id = 'signup_social_proof' and "
        "analysis_date = "
        "(select max(analysis_date) from main.experiment_results where experiment_id = 'signup_social_proof')"
    )["n"].iloc[0]
    assert len(final) == expected_rows
    assert (settings.output_dir / "archive" / "checkout_redesign" / "MANIFEST.sha256").is_file()
    assert not (settings.output_dir / "archive" / "homepage_cards").exists()
    handoff = (settings.output_dir / "handoffs" / "signup_social_proof.md").read_text()
    assert "ship `social_proof`" in handoff and "Rollout requirements" in handoff and "error_rate" in handoff

    # operational metrics: signup launched 11-01 (YAML start), decided 11-15 = 14 days; checkout 11-08 -> 11-30 = 22
    # days
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        metrics = {
            m: json.loads(v) for m, v in con.execute("select metric, value from main.portfolio_metrics").fetchall()
        }
    assert metrics["median_days_to_decision"] == 18.0 and metrics["share_decided_within_target"] == 0.5
    assert metrics["win_rate"] == 0.5 and metrics["implementation_rate"] == 1.0
    assert metrics["experiments_per_quarter"] == {"2026Q4": 3}
    # the monthly impact report uses the lift as of the decision date
    at_decision = demo_run.query(
        "select rel_lift from main.experiment_results where experiment_id = 'signup_social_proof' and "
        "metric_role = 'primary' and "
        "analysis_date = (select max(analysis_date) from main.experiment_results where experiment_id = "
        "'signup_social_proof' "
        "and analysis_date <= date '2026-11-15')"
    )["rel_lift"].iloc[0]
    monthly = (settings.output_dir / "summaries" / "monthly_impact.md").read_text()
    assert "winner's curse" in monthly
    cumulative = monthly.split("## Cumulative")[1]
    assert f"{at_decision * 100:+.1f}%" in cumulative

    # new data changes the results; the report is rewritten, the archive is not
    report = (settings.output_dir / "reports" / "signup_social_proof.html").read_bytes()
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("delete from main.fct_variant_metric_stats where analysis_date >= date '2026-11-20'")
    second = _run(settings, RERUN)
    assert second.success
    assert (settings.output_dir / "reports" / "signup_social_proof.html").read_bytes() != report
    assert _snapshot(archive) == frozen
    assert all(e.passed for e in second.get_asset_check_evaluations() if e.check_name == "archive_intact")
    assert (
        main(["decide", "signup_social_proof", "iterate", "--rationale", "second thoughts", "--actor", "@maria"]) == 2
    )

    # someone edits an archived file: the archive_intact check fails and names it
    (archive / "decision.json").chmod(0o644)
    (archive / "decision.json").write_text("{}")
    third = _run(settings, ["experiment_archive"])
    evaluation = next(e for e in third.get_asset_check_evaluations() if e.check_name == "archive_intact")
    assert not evaluation.passed and "decision.json" in evaluation.description
