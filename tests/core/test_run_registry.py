"""The run registry as the CLI and the dashboard's job manager use it: runs stored as they go, listed, shown,
exported and deleted; a registry that cannot be opened never stops a run."""

from __future__ import annotations

import json
import time

import pytest

from neurodyn.cli import main
from neurodyn.core.jobs import JobManager, JobState
from neurodyn.core.loop import record_to_json
from neurodyn.core.store import RunStore


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODYN_HOME", str(tmp_path))
    monkeypatch.delenv("NEURODYN_DB_URL", raising=False)
    return tmp_path


def _ended(store, run_id, timeout=10.0):
    """The stored run once its writer has ended it (the writer's thread does that shortly after the job ends)."""
    t0 = time.monotonic()
    while True:
        info = store.run(run_id)
        if info.status != "running" or time.monotonic() - t0 > timeout:
            return info
        time.sleep(0.05)


def _run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_run_is_stored_with_every_record_and_its_summary(home, capsys, toy_registered):
    out = home / "run.jsonl"
    code, stdout, err = _run_cli(["run", "template", "--seed", "3", "--steps", "7", "--out", str(out), "--quiet",
                                  "--label", "first try"], capsys)
    assert code == 0 and "stored as run 1" in err
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    store = RunStore()
    try:
        info = store.run(1)
        assert (info.experiment, info.status, info.seed, info.source, info.label) == (
            "template", "done", 3, "cli", "first try")
        assert info.n_records == 7 and info.preset == "small"
        assert store.records(1) == lines[:-1]  # exactly the JSON lines the CLI wrote
        record = store.run_record(1)
        assert record["records"] == lines[:-1]
        assert {k: v for k, v in record.items() if k not in ("records", "id", "label")} == lines[-1]["summary"]
    finally:
        store.close()


def test_cli_no_store_leaves_the_registry_empty(home, capsys, toy_registered):
    code, _, err = _run_cli(["run", "template", "--steps", "3", "--quiet", "--no-store"], capsys)
    assert code == 0 and "stored as run" not in err
    store = RunStore()
    try:
        assert store.runs() == []
    finally:
        store.close()


def test_cli_diverged_run_is_stored_as_diverged(home, capsys, toy_registered):
    code, _, _ = _run_cli(["run", "template", "--set", "lr=100000", "--set", "n_steps=2000", "--quiet"], capsys)
    assert code == 1
    store = RunStore()
    try:
        (info,) = store.runs()
        assert info.status == "diverged" and "diverged" in info.message
    finally:
        store.close()


def test_cli_unreachable_registry_warns_and_still_runs(home, capsys, toy_registered):
    bad = f"sqlite:///{home}/no/such/folder/runs.sqlite"
    code, stdout, err = _run_cli(["run", "template", "--steps", "3", "--quiet", "--db", bad], capsys)
    assert code == 0 and "not stored" in err and '"status": "done"' in stdout
    assert "Traceback" not in err


def test_cli_runs_list_show_export_rm(home, capsys, toy_registered):
    for seed in (1, 2):
        assert main(["run", "template", "--seed", str(seed), "--steps", "4", "--quiet"]) == 0
    capsys.readouterr()
    code, out, _ = _run_cli(["runs", "list"], capsys)
    rows = out.splitlines()[1:]
    assert code == 0 and [r.split()[0] for r in rows] == ["2", "1"]  # newest first
    assert all("template" in r and "done" in r for r in rows)
    code, out, _ = _run_cli(["runs", "show", "1"], capsys)
    shown = json.loads(out)
    assert code == 0 and shown["seed"] == 1 and shown["records"] == 4 and shown["status"] == "done"
    assert {c["key"] for c in shown["claims"]}  # the template paper's claim verdicts
    target = home / "exported" / "run1.json"
    code, _, _ = _run_cli(["runs", "export", "1", "--out", str(target)], capsys)
    exported = json.loads(target.read_text())
    assert code == 0 and exported["config"]["seed"] == 1 and len(exported["records"]) == 4
    code, _, err = _run_cli(["runs", "rm", "1"], capsys)
    assert code == 0 and "deleted run 1" in err
    code, out, _ = _run_cli(["runs", "list"], capsys)
    assert [r.split()[0] for r in out.splitlines()[1:]] == ["2"]
    code, _, err = _run_cli(["runs", "show", "1"], capsys)
    assert code == 2 and "no stored run with id 1" in err


def test_job_manager_stores_a_page_run_as_it_goes(home, toy_registered, toy_config):
    store = RunStore()
    manager = JobManager(max_running=1, heartbeat_timeout=0, mode="thread", store=store)
    try:
        job = manager.submit("template", toy_config(n_steps=30, seed=5), "session-a")
        assert job.wait(60) and job.state is JobState.DONE
        expected = [record_to_json(r) for r in job.records]
        info = _ended(store, job.run_id)
        assert info.status == "done" and info.source == "page" and info.seed == 5 and info.paper == "template"
        assert store.records(job.run_id) == expected
        assert [c["key"] for c in info.claims]  # the verdicts at the end of the run
    finally:
        manager.shutdown()
        store.close()


def test_job_manager_stopped_run_keeps_its_records(home, toy_registered, toy_config):
    store = RunStore()
    manager = JobManager(max_running=1, heartbeat_timeout=0, mode="thread", store=store)
    try:
        job = manager.submit("template", toy_config(n_steps=100_000, seed=0), "session-b")
        while len(job.records) < 5:
            time.sleep(0.01)
        job.cancel()
        assert job.wait(30) and job.state is JobState.STOPPED
        info = _ended(store, job.run_id)
        assert info.status == "stopped"
        assert store.records(job.run_id) == [record_to_json(r) for r in job.records]
    finally:
        manager.shutdown()
        store.close()


def test_job_manager_with_an_unreachable_registry_still_trains(home, toy_registered, toy_config, monkeypatch):
    monkeypatch.setenv("NEURODYN_DB_URL", f"sqlite:///{home}/missing/dir/runs.sqlite")
    manager = JobManager(max_running=1, heartbeat_timeout=0, mode="thread", store=True)
    try:
        assert manager.store is None and "NEURODYN_DB_URL" in manager.store_error
        job = manager.submit("template", toy_config(n_steps=10), "session-c")
        assert job.wait(60) and job.state is JobState.DONE and job.run_id is None and len(job.records) == 10
    finally:
        manager.shutdown()


def test_pages_say_when_runs_are_not_saved(home, monkeypatch):
    import importlib

    live = importlib.import_module("neurodyn.ui.live")
    monkeypatch.setenv("NEURODYN_DB_URL", f"sqlite:///{home}/missing/dir/runs.sqlite")
    broken = JobManager(max_running=1, heartbeat_timeout=0, mode="thread", store=True)
    fine = JobManager(max_running=1, heartbeat_timeout=0, mode="thread", store=RunStore(f"sqlite:///{home}/ok.sqlite"))
    off = JobManager(max_running=1, heartbeat_timeout=0, mode="thread")
    try:
        text = live.registry_notice(broken)
        assert text.startswith("⚠️ Runs are not being saved") and "NEURODYN_DB_URL" in text and "missing" in text
        assert live.registry_notice(fine) is None and live.registry_notice(off) is None
    finally:
        for m in (broken, fine, off):
            m.shutdown()
        fine.store.close()
