"""The command line drives the flag: `exptrack move --to running` starts the split, `exptrack decide ship` serves the
winner, `rollback` control; `exptrack lifecycle EXP` and `exptrack flags EXP` show every change with who and why."""

from __future__ import annotations

import pytest
from flags_support import evaluate, experiment, replace_registry, shares, warehouse, write_registry

from exptrack_pipeline.cli import main


@pytest.fixture()
def cli_env(tmp_path, monkeypatch):
    scheduled = [
        experiment("checkout_x", status="scheduled"),
        experiment("search_x", status="running", flag_key="search-ranking-v2"),
    ]
    registry = write_registry(tmp_path / "experiments", *scheduled)
    connect = warehouse(tmp_path, scheduled)
    with connect() as con:
        replace_registry(con, scheduled)
    for name, value in {
        "EXPTRACK_EXPERIMENTS_DIR": registry,
        "EXPTRACK_WAREHOUSE": tmp_path / "w.duckdb",
        "EXPTRACK_OUTPUT_DIR": tmp_path / "out",
        "EXPTRACK_FLAG_FILE": tmp_path / "flags.flagd.json",
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("EXPTRACK_METRICS_FILE", raising=False)
    return tmp_path / "flags.flagd.json"


def test_move_decide_and_rollback_switch_the_flag_and_are_in_the_history(cli_env, capsys):
    path = cli_env
    assert main(["move", "checkout_x", "--to", "running", "--actor", "@ann", "--reason", "slot agreed"]) == 0
    assert "flag checkout_x (checkout_x) → allocation phase 2" in capsys.readouterr().out
    split = shares(evaluate(path, "checkout_x", 4_000))
    assert set(split) == {"control", "express"} and abs(split["express"] - 0.5) < 0.05

    assert (
        main(
            [
                "decide",
                "checkout_x",
                "ship",
                "express",
                "--rationale",
                "express wins",
                "--actor",
                "@ann",
                "--learned",
                "express checkout lifts purchases",
            ]
        )
        == 0
    )
    assert set(evaluate(path, "checkout_x", 2_000).values()) == {"express"}
    assert (
        main(
            [
                "decide",
                "search_x",
                "rollback",
                "--rationale",
                "no lift",
                "--actor",
                "@bo",
                "--learned",
                "ranking change did not move search",
            ]
        )
        == 0
    )
    assert set(evaluate(path, "search-ranking-v2", 2_000).values()) == {"control"}  # the YAML's flag_key

    capsys.readouterr()
    assert main(["lifecycle", "checkout_x"]) == 0
    history = capsys.readouterr().out
    assert "flag checkout_x → shipped express: every unit gets it  by @ann [lifecycle]: express wins" in history
    assert main(["flags"]) == 0
    state = capsys.readouterr().out
    assert (
        "search-ranking-v2" in state
        and "decision rollback: every unit gets control" in state
        and "NOT in the file" not in state
    )
