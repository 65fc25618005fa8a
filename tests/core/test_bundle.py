"""Run bundles: one zip with everything about a run, whose command repeats the run to the same metrics."""

from __future__ import annotations

import io
import json
import shlex
import zipfile

import pytest

from neurodyn.cli import main
from neurodyn.core.bundle import make_bundle, metric_figures, rerun_command


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODYN_HOME", str(tmp_path))
    monkeypatch.delenv("NEURODYN_DB_URL", raising=False)
    return tmp_path


def test_bundle_of_a_stored_run_reruns_to_the_same_metrics(home, capsys, toy_registered):
    assert main(["run", "template", "--seed", "4", "--set", "lr=0.05", "--steps", "9", "--quiet"]) == 0
    target = home / "bundle.zip"
    assert main(["runs", "export", "1", "--bundle", "--out", str(target)]) == 0
    with zipfile.ZipFile(target) as zf:
        names = set(zf.namelist())
        assert {"README.txt", "rerun.sh", "run.json", "config.json", "versions.json", "claims.json",
                "records.jsonl"} <= names
        assert any(n.startswith("figures/") and n.endswith(".svg") for n in names)
        svg = zf.read(next(n for n in names if n.endswith(".svg"))).decode()
        assert svg.lstrip().startswith("<svg") and "step" in svg
        record = json.loads(zf.read("run.json"))
        lines = [json.loads(x) for x in zf.read("records.jsonl").decode().splitlines()]
        cmd = zf.read("rerun.sh").decode().splitlines()[-1]
        assert cmd in zf.read("README.txt").decode()
        assert json.loads(zf.read("config.json"))["seed"] == 4 and json.loads(zf.read("config.json"))["lr"] == 0.05
        assert [c["key"] for c in json.loads(zf.read("claims.json"))] == [c["key"] for c in record["claims"]]
    assert lines == record["records"] and len(lines) == 9
    argv = shlex.split(cmd)
    assert argv[:4] == ["python", "-m", "neurodyn", "run"]
    out = home / "rerun.jsonl"
    capsys.readouterr()
    assert main(argv[3:] + ["--out", str(out), "--quiet", "--no-store"]) == 0
    rerun = [json.loads(x) for x in out.read_text().splitlines()][:-1]
    assert [r["metrics"] for r in rerun] == [r["metrics"] for r in lines]  # the same metrics, exactly


def test_rerun_command_limits_steps_to_what_was_recorded():
    record = {"experiment": "template", "preset": "small", "config": {"seed": 1}, "status": "stopped",
              "rerun": "python -m neurodyn run template --preset small --set seed=1",
              "records": [{"step": 0, "metrics": {}}, {"step": 1, "metrics": {}}]}
    assert rerun_command(record) == "python -m neurodyn run template --preset small --set seed=1 --steps 2"
    del record["rerun"]
    assert rerun_command(record) == "python -m neurodyn run template --preset small --set seed=1 --steps 2"


def test_metric_figures_group_metrics_by_unit_and_skip_missing_values(toy_registered):
    record = {"experiment": "template", "preset": "small",
              "records": [{"step": s, "metrics": {"loss": 1.0 / (s + 1), "done": None}} for s in range(5)]}
    charts = metric_figures(record)
    assert len(charts) == 1
    data = next(iter(charts.values())).data
    assert list(data["metric"].unique()) == ["loss"] and list(data["step"]) == [0, 1, 2, 3, 4]
    assert metric_figures({"experiment": "template", "records": []}) == {}


def test_bundle_without_figures_is_small_and_complete():
    record = {"experiment": "nowhere", "preset": None, "config": {"a": 1}, "status": "done", "claims": [],
              "records": [{"step": 0, "metrics": {"x": 1.0}}]}
    with zipfile.ZipFile(io.BytesIO(make_bundle(record, figures=False))) as zf:
        assert not any(n.startswith("figures/") for n in zf.namelist())
        assert "python -m neurodyn run nowhere --set a=1 --steps 1" in zf.read("README.txt").decode()
