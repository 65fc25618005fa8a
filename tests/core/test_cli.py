from __future__ import annotations

import json
import subprocess
import sys

import pytest

from neurodyn.cli import main
from neurodyn.core import registry


def test_list_prints_every_registered_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in registry.names():
        assert out.count(f"{name} ") >= 1


def test_unknown_experiment_exits_2_and_lists_valid_names(capsys):
    assert main(["run", "no-such-thing"]) == 2
    err = capsys.readouterr().err
    assert "no-such-thing" in err and "valid names" in err


def test_unknown_key_exits_2_and_lists_valid_keys(capsys, toy_registered):
    assert main(["run", "template", "--set", "learning_rate=0.1"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate" in err and "lr (float" in err and "n_steps" in err


def test_bad_value_and_bad_preset_exit_2(capsys, toy_registered):
    assert main(["run", "template", "--set", "lr=fast"]) == 2
    assert main(["run", "template", "--preset", "huge"]) == 2
    err = capsys.readouterr().err
    assert "lr must be a number" in err and "valid presets: small, paper" in err


def test_run_writes_one_json_line_per_record_and_a_summary(tmp_path, capsys, toy_registered):
    out = tmp_path / "run.jsonl"
    args = ["run", "template", "--seed", "3", "--set", "lr=0.05", "--steps", "7", "--out", str(out), "--quiet"]
    assert main(args) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [rec["step"] for rec in lines[:-1]] == list(range(7))
    summary = lines[-1]["summary"]
    assert summary["steps"] == 7 and summary["status"] == "done" and summary["config"]["seed"] == 3
    assert summary["config"]["lr"] == 0.05 and len(lines[0]["artifacts"]["w"]) == 4


def test_diverging_run_exits_1_with_a_message(tmp_path, toy_registered, capsys):
    assert main(["run", "template", "--set", "lr=100000", "--set", "n_steps=2000", "--quiet"]) == 1
    assert "diverged" in capsys.readouterr().out


def test_python_dash_m_neurodyn_list_answers():
    proc = subprocess.run([sys.executable, "-m", "neurodyn", "list"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == sum(len(registry.paper(k).experiments) for k in registry.PACKAGES)


def test_importing_neurodyn_stays_light():
    code = ("import sys, neurodyn, neurodyn.core.registry, neurodyn.core.config, neurodyn.core.loop;"
            "heavy = [m for m in ('streamlit', 'umap', 'scanpy', 'torch', 'altair') if m in sys.modules];"
            "print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


@pytest.mark.parametrize("name", registry.names())
def test_cli_runs_a_few_steps_of_every_experiment(name, tmp_path):
    out = tmp_path / f"{name}.jsonl"
    extra = ["--set", "device=cpu"] if hasattr(registry.get(name).config_cls, "device") else []
    assert main(["run", name, "--steps", "2", "--out", str(out), "--quiet", *extra]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and "summary" in json.loads(lines[-1])
