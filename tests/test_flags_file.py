"""The flag file's safety: a crash between recording a pause and writing the file is repaired by the next run, a
concurrent reader never sees half a file, a hand-edited file is never overwritten silently, and bad registry input
(weights the flag cannot express, flag key collisions) is refused with a clear message."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from flags_support import RAMP, evaluate, experiment, replace_registry, warehouse, write_registry

from exptrack_pipeline.config import RegistryError, load_registry
from exptrack_pipeline.flags import files, store
from exptrack_pipeline.flags import sync as flag_sync
from exptrack_pipeline.flags.controller import FlagdFileController
from exptrack_pipeline.flags.definition import FlagError, integer_weights, render_file
from exptrack_pipeline.flags.sync import FlagDriftError, sync, write_file
from exptrack_pipeline.notify.state import latest_events, record_event, sync_flags

N = 2_000


def _pause(connect) -> None:
    with connect() as con:
        con.execute("begin transaction")
        record_event(
            con,
            experiment_id="checkout_x",
            status="paused",
            reason="srm",
            actor="exptrack",
            source="automatic",
            flag_controller="flagd",
        )
        con.execute("commit")


def _served(path: Path) -> set[str]:
    return set(evaluate(path, "checkout_x", N).values())


@pytest.fixture()
def running(tmp_path):
    connect = warehouse(tmp_path, [experiment()])
    path = tmp_path / "flags.flagd.json"
    sync(connect, path, today=RAMP, actor="exptrack", reason="daily run", source="schedule")
    assert _served(path) == {"control", "express"}
    return connect, path


def _inject(monkeypatch, module, name: str, error: Exception) -> None:
    def crash(*args, **kwargs):
        raise error

    monkeypatch.setattr(module, name, crash)


def test_a_crash_before_the_file_write_is_repaired_by_the_next_run(running, monkeypatch):
    connect, path = running
    _pause(connect)
    _inject(monkeypatch, flag_sync, "atomic_write", OSError("disk full (injected)"))
    [(_, _, first)] = sync_flags(connect, FlagdFileController(connect, path))
    assert first.status == "failed" and "disk full" in first.detail
    assert _served(path) == {"control", "express"}  # the pause is recorded, the file not yet switched
    monkeypatch.undo()
    [(_, _, retry)] = sync_flags(
        connect, FlagdFileController(connect, path)
    )  # the next run retries the pending flag call
    assert retry.status == "ok" and _served(path) == {"control"}
    with connect() as con:
        assert latest_events(con)["flag_status"].iloc[0] == "ok"
        assert con.execute("select count(*) from state.flag_changes where written_at is null").fetchone()[0] == 0


def test_a_crash_after_the_rename_is_recognised_as_exptracks_own_file(running, monkeypatch):
    connect, path = running
    _pause(connect)
    _inject(monkeypatch, store, "mark_written", RuntimeError("killed after the rename (injected)"))
    with pytest.raises(RuntimeError):
        write_file(connect, path)
    monkeypatch.undo()
    assert _served(path) == {"control"}
    outcome = sync(
        connect, path, today=RAMP, actor="exptrack", reason="daily run", source="schedule"
    )  # no false drift alarm
    assert outcome.error is None and outcome.write.changes_applied == 1


def test_a_concurrent_reader_never_sees_a_partial_file(tmp_path):
    path = tmp_path / "flags.flagd.json"
    big = {
        f"flag_{i}": {"state": "ENABLED", "variants": {"a": "a" * 200, "b": "b"}, "defaultVariant": "a"}
        for i in range(400)
    }
    versions = [render_file(big), render_file({**big, "flag_0": {**big["flag_0"], "defaultVariant": "b"}})]
    files.atomic_write(path, versions[0])
    seen, bad, stop = [], [], threading.Event()

    def reader():
        while not stop.is_set():
            text = path.read_text()
            try:
                json.loads(text)
                seen.append(versions.index(text))
            except ValueError:
                bad.append(len(text))

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(300):
        files.atomic_write(path, versions[i % 2])
    stop.set()
    thread.join()
    assert not bad and len(seen) > 10 and set(seen) == {0, 1}
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_a_hand_edited_file_is_not_overwritten_and_is_reported(running):
    connect, path = running
    edited = json.loads(path.read_text())
    edited["flags"]["checkout_x"]["targeting"]["fractional"] = [["control", 1], ["express", 9]]
    path.write_text(json.dumps(edited))
    before = path.read_bytes()
    _pause(connect)
    with pytest.raises(FlagDriftError, match="checkout_x") as err:
        write_file(connect, path)
    assert "changed outside exptrack" in str(err.value) and "--overwrite" in str(err.value)
    [(_, _, result)] = sync_flags(connect, FlagdFileController(connect, path))
    assert (
        result.status == "failed" and "changed outside exptrack" in result.detail
    )  # the alert says the flag was NOT switched
    assert path.read_bytes() == before
    forced = write_file(connect, path, actor="@sam", overwrite=True)
    assert forced.written and _served(path) == {"control"}
    with connect() as con:
        assert con.execute(
            "select actor from state.flag_file_writes where forced order by write_seq desc limit 1"
        ).fetchone() == ("@sam",)


def test_weights_the_flag_cannot_express_are_refused():
    assert integer_weights("e", {"control": 0.9, "t": 0.1}) == {"control": 9, "t": 1}
    assert integer_weights("e", {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}) == {"a": 1, "b": 1, "c": 1}
    assert integer_weights("e", {"a": 0.0001, "b": 0.9999}) == {"a": 1, "b": 9999}
    with pytest.raises(FlagError, match=r"0\.12345678.*cannot be expressed"):
        integer_weights("e", {"a": 0.12345678, "b": 0.87654322})


def test_the_registry_refuses_inexpressible_weights_and_flag_key_collisions(tmp_path):
    odd = experiment(
        "odd_weights",
        variants=[
            {"name": "control", "weight": 0.12345678, "is_control": True},
            {"name": "express", "weight": 0.87654322},
        ],
        allocation_phases=[],
    )
    with pytest.raises(RegistryError, match=r"odd_weights.yaml.*cannot be expressed by the feature flag"):
        load_registry(write_registry(tmp_path / "a", odd))
    first, second = experiment("checkout_x"), experiment("checkout_y", flag_key="checkout_x")
    with pytest.raises(
        RegistryError,
        match=r"checkout_y.yaml: field `flag_key`: flag key 'checkout_x' is already the flag of experiment "
        r"'checkout_x'",
    ):
        load_registry(write_registry(tmp_path / "b", first, second))


def test_a_flag_key_recorded_for_another_experiment_is_not_taken_over(tmp_path):
    connect = warehouse(tmp_path, [experiment("checkout_x")])
    path = tmp_path / "f.json"
    sync(connect, path, today=RAMP, actor="exptrack", reason="daily run", source="schedule")
    with connect() as con:  # the old experiment left the registry and a new one took its flag key
        replace_registry(con, [experiment("checkout_v2", flag_key="checkout_x")])
    outcome = sync(connect, path, today=RAMP, actor="exptrack", reason="daily run", source="schedule")
    assert outcome.plan.changes == [] and "already belongs to experiment 'checkout_x'" in outcome.plan.problems[0]
    assert _served(path) == {"control", "express"}  # the file still serves checkout_x's split
