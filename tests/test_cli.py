"""The terminal: `exptrack run` shows steps and keeps dbt's output in a log file named on failure; clear errors for an
unknown experiment and for a range before the first daily partition."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import dagster as dg
import pytest
from pipeline_support import REPO, make_settings

from exptrack_pipeline.cli import main
from exptrack_pipeline.commands.progress import RunProgress, progress_logger


def _env(monkeypatch, settings) -> None:
    for name, value in [
        ("EXPTRACK_RAW_DIR", settings.raw_dir),
        ("EXPTRACK_EXPERIMENTS_DIR", settings.experiments_dir),
        ("EXPTRACK_METRICS_FILE", settings.metrics_file),
        ("EXPTRACK_WAREHOUSE", settings.warehouse),
        ("EXPTRACK_OUTPUT_DIR", settings.output_dir),
        ("EXPTRACK_DBT_TARGET", "duckdb"),
    ]:
        monkeypatch.setenv(name, str(value))


def test_results_of_an_unknown_experiment_name_the_known_ones(demo_run, monkeypatch, capsys):
    _env(monkeypatch, demo_run.settings)
    assert main(["results", "checkout_redesgn"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'checkout_redesgn'" in err
    assert all(name in err for name in ("checkout_redesign", "homepage_cards", "signup_social_proof"))
    assert main(["results", "homepage_cards"]) == 0
    assert "card_ctr" in capsys.readouterr().out


def test_reading_commands_start_without_dagster_or_dbt(demo_run):
    """`exptrack summary` and `results` (and `--help`) read the warehouse without importing Dagster, dagster-dbt or
    dbt-core: ≈ 4 CPU-s of imports that only `exptrack run` needs."""
    settings = demo_run.settings
    env = {
        **os.environ,
        "EXPTRACK_EXPERIMENTS_DIR": str(settings.experiments_dir),
        "EXPTRACK_METRICS_FILE": str(settings.metrics_file),
        "EXPTRACK_RAW_DIR": str(settings.raw_dir),
        "EXPTRACK_WAREHOUSE": str(settings.warehouse),
        "EXPTRACK_DBT_TARGET": "duckdb",
    }
    script = (
        "import sys\n"
        "from exptrack_pipeline.cli import main\n"
        "codes = [main(['summary']), main(['results', 'homepage_cards'])]\n"
        "print(codes, sorted(name for name in ('dagster', 'dagster_dbt', 'dbt') if name in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert "card_ctr" in proc.stdout and "homepage_cards" in proc.stdout  # both commands read the demo's tables
    assert proc.stdout.strip().splitlines()[-1] == "[0, 0] []", proc.stdout[-2000:]


def test_a_range_before_the_first_partition_says_what_to_set(tmp_path, monkeypatch, capsys):
    settings = make_settings(tmp_path)
    _env(monkeypatch, settings)
    assert main(["run", "--start", "2025-01-01", "--end", "2025-01-03"]) == 1
    err = capsys.readouterr().err
    assert "before the first daily partition 2026-10-01" in err and "EXPTRACK_START_DATE=2025-01-01" in err
    assert "CheckError" not in err and not settings.warehouse.exists()


def test_progress_is_plain_without_a_terminal_and_names_the_failed_step():
    @dg.asset
    def fine() -> int:
        return 1

    @dg.asset(deps=[fine])
    def broken() -> None:
        raise ValueError("the input file is missing")

    out = io.StringIO()
    with RunProgress(out=out) as progress:
        defs = dg.Definitions(assets=[fine, broken], loggers={"progress": progress_logger(progress)})
        result = defs.get_implicit_global_asset_job_def().execute_in_process(
            run_config={"loggers": {"progress": {}}}, raise_on_error=False
        )
    assert not result.success
    lines = out.getvalue().splitlines()
    assert [line.split()[:2] for line in lines] == [["ok", "fine"], ["FAILED", "broken"]]
    assert "\x1b[" not in out.getvalue()  # no terminal control codes in a pipe
    assert progress.failures[0][0] == "broken" and "the input file is missing" in progress.failures[0][1]


def test_a_finished_dbt_step_shows_no_fraction_of_the_manifest_and_a_failed_one_how_far_it_got():
    """The dbt step's total is the manifest's node count; a full build reports fewer of them to Dagster (tests of
    sources are no asset checks), so `ok ... 184/192` read as eight nodes missing. Ingested days keep theirs."""
    from exptrack_pipeline.commands.progress import DBT_STEP

    for ok in (True, False):
        out = io.StringIO()
        with RunProgress(out=out, totals={DBT_STEP: 192, "raw_events": 38}, plain=True) as progress:
            for step, count in ((DBT_STEP, 184), ("raw_events", 38)):
                progress.step_started(step)
                for _ in range(count):
                    progress.advance(step)
                progress.step_finished(step, ok or step != DBT_STEP, "a test failed")
        dbt_line, days_line = (line.strip() for line in out.getvalue().splitlines())
        assert dbt_line.startswith("ok" if ok else "FAILED") and ("184/192" in dbt_line) is (not ok), dbt_line
        assert days_line.startswith("ok") and " 38/38 " in days_line, days_line


@pytest.mark.background  # a second pytest process started at collection (background_tests.py)
def test_a_failed_dbt_step_prints_its_log_file(tmp_path, monkeypatch, capsys):
    settings = make_settings(tmp_path)  # an empty warehouse: no raw tables, so dbt's staging models fail
    _env(monkeypatch, settings)
    assert main(["run", "--start", "2026-11-01", "--end", "2026-11-02", "--no-ingest"]) == 1
    captured = capsys.readouterr()
    assert "failed at step exptrack_dbt_models" in captured.err
    log_file = next((settings.output_dir / "logs").glob("run-*.log"))
    assert str(log_file) in captured.err
    assert (
        "START sql" in log_file.read_text() and "START sql" not in captured.out
    )  # dbt's per-node lines: the file only
    assert "ok     experiment_registry" in captured.out


def test_cli_module_only_dispatches():
    source = (REPO / "exptrack_pipeline" / "cli.py").read_text()
    assert len(source.splitlines()) < 60 and "execute_in_process" not in source and "read_df" not in source


def test_progress_on_a_terminal_draws_with_rich():
    @dg.asset
    def only() -> int:
        return 1

    out = io.StringIO()
    with RunProgress(out=out, plain=False) as progress:
        defs = dg.Definitions(assets=[only], loggers={"progress": progress_logger(progress)})
        assert (
            defs.get_implicit_global_asset_job_def()
            .execute_in_process(run_config={"loggers": {"progress": {}}})
            .success
        )
    assert "only" in out.getvalue() and "✓" in out.getvalue() and not progress.failures
