"""Optuna sweeps (``neurodyn.core.sweep``): parsing, stored trials, several workers, a killed worker, directions."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from neurodyn.core.sweep import (
    add_sweep_parser,
    cmd_sweep,
    create_storage,
    parse_objective,
    parse_param,
    parse_space,
    run_sweep,
    storage_url,
)
from neurodyn.template.experiment import Config as TemplateConfig

ROOT = Path(__file__).resolve().parents[2]

# A worker process: registers the template experiment, says it is ready, waits for "go", runs the sweep and prints
# how many trials it completed itself.
WORKER = textwrap.dedent("""
    import sys, time, pathlib
    import optuna
    from neurodyn.core import registry
    registry.add_package("neurodyn.template")
    from neurodyn.core.sweep import run_sweep
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    folder, tag, trials, steps, sleep, grace = sys.argv[1:7]
    folder = pathlib.Path(folder)
    (folder / f"ready-{tag}").touch()
    while not (folder / "go").exists():
        time.sleep(0.05)
    mine = []
    def count(study, trial):
        if trial.state.name == "COMPLETE":
            mine.append(trial.number)
    run_sweep("template", "small", ["lr=log:1e-3:0.2"], "loss", trials=int(trials), study="shared",
              overrides={"n_steps": steps, "sleep": sleep}, heartbeat_interval=1, grace_period=int(grace),
              callback=count)
    print("completed", len(mine), flush=True)
""")


@pytest.fixture
def home(tmp_path, monkeypatch, toy_registered, db_url):
    """A fresh run registry (and study storage): a SQLite file in tmp_path, then a fresh PostgreSQL database."""
    monkeypatch.setenv("NEURODYN_HOME", str(tmp_path))
    if db_url.startswith("postgresql"):
        monkeypatch.setenv("NEURODYN_DB_URL", db_url)  # the worker processes inherit it
    else:
        monkeypatch.delenv("NEURODYN_DB_URL", raising=False)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return tmp_path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurodyn")
    add_sweep_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def _load(name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=create_storage(storage_url(None), heartbeat_interval=1))


def _worker(folder: Path, tag: str, *, trials: int, steps: int, sleep: float, grace: int) -> subprocess.Popen:
    args = [sys.executable, "-c", WORKER, str(folder), tag, str(trials), str(steps), str(sleep), str(grace)]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _registry_tables() -> None:
    """Create the run registry's tables before worker processes open it at the same moment."""
    from neurodyn.core.store import RunStore

    RunStore(None).close()


def _wait_for(cond, timeout: float, what: str) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_parse_every_form_and_reject_bad_ones(home):
    name, d = parse_param("lr=log:1e-4:1e-1")
    assert (name, d.low, d.high, d.log) == ("lr", 1e-4, 1e-1, True)
    name, d = parse_param(" lr = float:0.01:0.5")
    assert (name, d.low, d.high, d.log) == ("lr", 0.01, 0.5, False)
    name, d = parse_param("seed=int:0:9")
    assert (name, d.low, d.high, type(d).__name__) == ("seed", 0, 9, "IntDistribution")
    name, d = parse_param("dim=choice:2, 4,8")
    assert (name, d.choices) == ("dim", ("2", "4", "8"))
    bad = {
        "lr": "no field name",
        "=log:1:2": "no field name",
        "lr=0.1": "no kind",
        "lr=cube:1:2": "unknown kind 'cube'",
        "lr=log:1e-3": "exactly LOW:HIGH",
        "lr=log:1:2:3": "exactly LOW:HIGH",
        "lr=float:a:1": "'a' is not a number",
        "seed=int:0.5:3": "'0.5' is not an integer",
        "lr=log:0:1": "LOW > 0",
        "lr=float:0.5:0.1": "must be below HIGH",
        "lr=float:nan:1": "not finite",
        "dim=choice:": "non-empty values",
        "dim=choice:2,,4": "non-empty values",
        "dim=choice:2,2": "repeat",
    }
    for text, problem in bad.items():
        with pytest.raises(ValueError) as info:
            parse_param(text)
        assert problem in str(info.value) and "name=log:LOW:HIGH" in str(info.value) and "choice:a,b,c" in str(
            info.value), (text, str(info.value))
    space = parse_space(["lr=log:1e-3:0.2", "seed=int:0:9", "dim=choice:2,4"], TemplateConfig())
    assert list(space) == ["lr", "seed", "dim"]
    with pytest.raises(ValueError, match=r"no field 'learning_rate'; valid fields: lr, dim, n_steps, sleep"):
        parse_space(["learning_rate=log:1e-3:0.1"], TemplateConfig())
    with pytest.raises(ValueError, match="dim is a int field; use int:LOW:HIGH"):
        parse_space(["dim=float:1:4"], TemplateConfig())
    with pytest.raises(ValueError, match="lr must be >= 0.0001"):
        parse_space(["lr=log:1e-6:1e-1"], TemplateConfig())
    with pytest.raises(ValueError, match="swept twice"):
        parse_space(["lr=log:1e-3:0.1", "lr=float:0.1:0.2"], TemplateConfig())
    with pytest.raises(ValueError, match="at least one --param"):
        parse_space([], TemplateConfig())
    assert parse_objective("loss") == ("loss", "minimize")
    assert parse_objective("loss:max") == ("loss", "maximize")
    assert parse_objective("loss:MIN") == ("loss", "minimize")
    for text in ("loss:up", ":max", ""):
        with pytest.raises(ValueError, match="expected METRIC, METRIC:min or METRIC:max"):
            parse_objective(text)
    from neurodyn.core.store import default_url

    assert storage_url(None) == default_url()
    expected = os.environ.get("NEURODYN_DB_URL") or f"sqlite:///{home}/runs.sqlite"
    assert storage_url(None) == expected
    assert storage_url("sqlite:////tmp/elsewhere.sqlite") == "sqlite:////tmp/elsewhere.sqlite"


def test_bad_command_lines_exit_2_with_the_reason(home, capsys):
    base = ["sweep", "template", "--trials", "2", "--study", "bad"]
    cases = {
        ("--param", "learning_rate=log:1e-3:0.1", "--objective", "loss"): "valid fields: lr",
        ("--param", "lr=log:1e-3", "--objective", "loss"): "expected name=log:LOW:HIGH",
        ("--param", "lr=log:1e-3:0.1", "--objective", "accuracy"): "metrics: loss",
        ("--param", "lr=log:1e-3:0.1", "--objective", "loss:sideways"): "METRIC:max",
        ("--param", "lr=log:1e-3:0.1", "--objective", "loss", "--preset", "huge"): "valid presets: small, paper",
        ("--param", "lr=log:1e-3:0.1", "--objective", "loss", "--set", "sleep=fast"): "sleep must be a number",
    }
    for extra, needle in cases.items():
        args = _parser().parse_args([*base, *extra])
        assert cmd_sweep(args) == 2, extra
        err = capsys.readouterr().err
        assert needle in err, (extra, err)
    args = _parser().parse_args(["sweep", "no-such", "--param", "lr=log:1e-3:0.1", "--objective", "loss",
                                 "--trials", "2", "--study", "bad"])
    assert cmd_sweep(args) == 2 and "valid names" in capsys.readouterr().err


def test_six_trial_sweep_stores_every_trial_as_a_run(home):
    from neurodyn.core.store import RunStore

    study = run_sweep("template", "small", ["lr=log:1e-3:0.2", "seed=int:0:3"], "loss", trials=6, study="six",
                      overrides={"n_steps": "5"}, seed=1)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 6 and all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(t.number for t in trials) == list(range(6))
    store = RunStore(None)
    try:
        runs = store.runs()
        assert len(runs) == 6 and {r.source for r in runs} == {"sweep"} and {r.status for r in runs} == {"done"}
        for t in trials:
            info = store.run(t.user_attrs["run_id"])
            assert info.label == f"six trial {t.number}" and info.experiment == "template"
            assert info.config["lr"] == t.params["lr"] and info.config["seed"] == t.params["seed"]
            assert info.config["n_steps"] == 5 and info.n_records == 5
            last = store.records(info.id, artifacts=False)[-1]
            assert last["metrics"]["loss"] == t.value
        best = study.best_trial
        assert best.value == min(t.value for t in trials)
        assert store.run(best.user_attrs["run_id"]).label == f"six trial {best.number}"
    finally:
        store.close()
    # joining the finished study runs nothing more
    again = run_sweep("template", "small", ["lr=log:1e-3:0.2", "seed=int:0:3"], "loss", trials=6, study="six",
                      overrides={"n_steps": "5"})
    assert len(again.get_trials(deepcopy=False)) == 6
    with pytest.raises(ValueError, match="already sweeps"):
        run_sweep("template", "small", ["lr=log:1e-3:0.2"], "loss", trials=6, study="six")


def test_two_workers_share_one_study_and_finish_exactly_n_trials(home):
    create_storage(storage_url(None), heartbeat_interval=1)  # tables made once, before the workers race
    _registry_tables()
    procs = [_worker(home, tag, trials=8, steps=4, sleep=0.1, grace=10) for tag in ("a", "b")]
    try:
        _wait_for(lambda: all((home / f"ready-{t}").exists() for t in ("a", "b")), 60, "the workers to start")
        (home / "go").touch()
        outs = [p.communicate(timeout=90) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    mine = [int(out.split()[-1]) for out, _ in outs]
    assert sum(mine) == 8 and min(mine) >= 1, mine  # both took part, none done twice
    trials = _load("shared").get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(done) == 8 and sorted(t.number for t in done) == list(range(8))
    assert all(t.state == TrialState.PRUNED and t.user_attrs.get("surplus") for t in trials if t not in done)
    assert len({t.number for t in trials}) == len(trials)
    from neurodyn.core.store import RunStore

    store = RunStore(None)
    try:
        runs = store.runs()
        assert sorted(r.label for r in runs) == sorted(f"shared trial {n}" for n in range(8))
        assert {t.user_attrs["run_id"] for t in done} == {r.id for r in runs}
    finally:
        store.close()


def test_a_killed_worker_leaves_a_failed_trial_and_the_study_still_finishes(home):
    rdb = create_storage(storage_url(None), heartbeat_interval=1)
    _registry_tables()
    (home / "go").touch()
    proc = _worker(home, "victim", trials=4, steps=8, sleep=0.4, grace=2)
    try:
        def running() -> list:
            try:
                study = optuna.load_study(study_name="shared", storage=rdb)
            except KeyError:  # not created yet
                return []
            return [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                    if "run_id" in t.user_attrs]

        _wait_for(lambda: bool(running()), 60, "the worker's first trial to run")
        victim = running()[0]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert _load("shared").trials[victim.number].state == TrialState.RUNNING  # nobody has checked yet
    study = run_sweep("template", "small", ["lr=log:1e-3:0.2"], "loss", trials=4, study="shared",
                      overrides={"n_steps": "4", "sleep": "0.05"}, heartbeat_interval=1, grace_period=2)
    trials = study.get_trials(deepcopy=False)
    assert trials[victim.number].state == TrialState.FAIL
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 3
    assert len([t for t in trials if t.state in (TrialState.COMPLETE, TrialState.FAIL)]) == 4
    assert not [t for t in trials if t.state == TrialState.RUNNING]


@pytest.mark.parametrize("direction", ["min", "max"])
def test_objective_direction_picks_the_right_best_trial(home, capsys, direction):
    args = _parser().parse_args(["sweep", "template", "--param", "lr=log:1e-3:0.3", "--objective",
                                 f"loss:{direction}", "--trials", "4", "--study", f"dir-{direction}", "--set",
                                 "n_steps=5", "--seed", "3"])
    assert cmd_sweep(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("trial ") for line in out) == 4
    study = _load(f"dir-{direction}")
    values = [t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    assert len(values) == 4 and max(values) > min(values)
    best = study.best_trial
    assert best.value == (max(values) if direction == "max" else min(values))
    assert study.direction.name == ("MAXIMIZE" if direction == "max" else "MINIMIZE")
    assert out[-1].startswith(f"study dir-{direction}: 4 complete; best trial {best.number}:")
    assert out[-1].endswith(f"stored run {best.user_attrs['run_id']}")


def test_a_diverging_run_is_a_failed_trial_and_a_diverged_run(home, capsys):
    from neurodyn.core.store import RunStore

    args = _parser().parse_args(["sweep", "template", "--param", "lr=log:1e3:1e5", "--objective", "loss",
                                 "--trials", "2", "--study", "boom", "--set", "n_steps=300"])
    assert cmd_sweep(args) == 1  # no completed trial
    out = capsys.readouterr()
    assert out.out.count(" fail: trial ") == 2 and "not finite" in out.out and "no completed trial" in out.err
    trials = _load("boom").get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]
    store = RunStore(None)
    try:
        assert {store.run(t.user_attrs["run_id"]).status for t in trials} == {"diverged"}
    finally:
        store.close()
