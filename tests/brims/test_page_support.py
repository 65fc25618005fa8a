"""The BRIMs page's pure helpers: model sizes, the raster preview, texts computed from the run, results files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurodyn.brims import page_support as support
from neurodyn.brims import sweep
from neurodyn.brims.experiment import Config, distracted_test_set, model_metric
from neurodyn.brims.tasks import digit_rows
from neurodyn.core.loop import Record


def test_parameter_table_counts_the_configured_models():
    rows = {r["model"]: r["parameters"] for r in support.parameter_table(Config())}
    # BRIMs and the RIMs stack: docs/papers/brims.md §5 check 9; the LSTM by hand: encoder 8*32+32, two layers of
    # 4*64*(in+64) weights and 2*4*64 biases, readout 64*10+10
    lstm = 8 * 32 + 32 + (4 * 64 * (32 + 64) + 512) + (4 * 64 * (64 + 64) + 512) + 650
    assert lstm == 59_306
    assert rows == {"brims": 47_946, "rims": 43_338, "lstm": lstm}
    assert [r["model"] for r in support.parameter_table(Config(rims_baseline=False))] == ["brims", "lstm"]


def test_raster_input_is_the_first_test_digit_then_the_runs_distractor_rows():
    cfg = Config(probe_rows=5)
    image, label = support.raster_input(cfg)
    assert image.shape == (8 + 5, 8)
    data = digit_rows(0)
    assert np.array_equal(image[:8], data.x_test[0].numpy()) and label == int(data.y_test[0])
    assert set(np.unique(image[8:])) <= {0.0, 1.0}
    assert np.array_equal(image, distracted_test_set(cfg)[0][0].numpy())  # what the run's raster unit reads


def _eval_record(step, epoch, acc):
    m = {"eval_epoch": float(epoch), "switch_rate_1": 0.41, "switch_rate_2": 0.18}
    for n, (c, d) in acc.items():
        m[model_metric(n, "test_acc")], m[model_metric(n, "distracted_acc")] = c, d
    return Record(step, m)


def test_run_status_quotes_this_runs_latest_evaluation():
    cfg = Config(epochs=20, seed=3)
    recs = [_eval_record(1, 0, {"brims": (0.1, 0.1), "rims": (0.1, 0.1), "lstm": (0.1, 0.1)}),
            _eval_record(2, 7, {"brims": (0.861, 0.523), "rims": (0.84, 0.47), "lstm": (0.98, 0.31)})]
    text = support.run_status(recs, cfg)
    assert text.startswith("This run (seed 3) after epoch 7 of 20: BRIMs 0.86 clean, 0.52 with 4 distractor rows")
    assert "LSTM 0.98 clean, 0.31 with 4" in text
    assert "before training (epoch 0)" in support.run_status(recs[:1], cfg)
    assert support.switch_rate_text(recs) == "Switch rate in this run at epoch 7: layer 1 0.41, layer 2 0.18."


def _fake_results(tmp_path):
    cfg = Config(epochs=2)
    runs = []
    for seed, (b, r, lstm) in enumerate([(0.52, 0.55, 0.30), (0.45, 0.47, 0.35), (0.50, 0.46, 0.20)]):
        recs = [_eval_record(1, 0, {"brims": (0.1, 0.1), "rims": (0.1, 0.1), "lstm": (0.1, 0.1)}),
                _eval_record(2, 2, {"brims": (0.9, b), "rims": (0.88, r), "lstm": (0.98, lstm)})]
        runs.append(sweep.run_summary(recs, Config(epochs=2, seed=seed), seconds=50.0 + seed, cpu_seconds=40.0,
                                      load=1.5 + seed))
    results = {"command": ".venv/bin/python -m neurodyn.brims.sweep --preset small --seeds 0 1 2 --out x.json",
               "date": "2026-12-01", "machine": "x86_64, 2 cores, torch 2.x, 1 thread(s)", "preset": "small",
               "overrides": {"epochs": cfg.epochs, "device": "cpu"}, "runs": runs, "summary": sweep.aggregate(runs)}
    (tmp_path / "r.json").write_text(json.dumps(results))
    return support.load_results("r.json", tmp_path)


def test_results_file_gives_the_table_the_findings_and_where_they_come_from(tmp_path):
    results = _fake_results(tmp_path)
    rows = support.results_rows(results)
    assert rows[0] == {"model": "BRIMs", "clean": "0.90", "with 4 distractor rows": "0.45 to 0.52"}
    assert rows[2]["with 4 distractor rows"] == "0.20 to 0.35"
    findings = support.findings_text(results)
    margin = next(f for f in findings if f.startswith("BRIMs' lead over the LSTM"))
    assert "+0.10 to +0.30 (mean +0.21), reproduced on 2 of 3 seeds" in margin  # 0.22, 0.10, 0.30
    top_down = next(f for f in findings if f.startswith("The top-down benefit"))
    assert "-0.03 to +0.04 (mean -0.00), reproduced on 1 of 3 seeds" in top_down  # -0.03, -0.02, +0.04
    assert top_down.endswith("the mean misses the threshold: no consistent effect.")
    noise = next(f for f in findings if f.startswith("BRIMs − LSTM under pixel noise"))
    assert "no measurement" in noise  # no probe sweep in these records
    caption = support.results_caption(results)
    assert caption.startswith("seeds 0-2, 2 epochs; measured on x86_64, 2 cores") and "50-52 s" in caption
    assert "CPU time 40-40 s, with the machine's load average at 1.5-3.5 (shared with other jobs)" in caption
    assert "`.venv/bin/python -m neurodyn.brims.sweep --preset small --seeds 0 1 2 --out x.json`" in caption
    assert support.load_results("missing.json", tmp_path) is None


@pytest.mark.parametrize("name", list(support.RESULTS))
def test_the_pages_results_files_exist_and_name_the_command_that_made_them(name):
    results = support.load_results(name)
    assert results is not None, f"make it with neurodyn.brims.sweep ... --out neurodyn/brims/results/{name}"
    assert results["command"].startswith(".venv/bin/python -m neurodyn.brims.sweep ")
    assert f"--out neurodyn/brims/results/{name}" in results["command"]
    assert len(results["runs"]) >= 3 and {c["key"] for c in results["runs"][0]["claims"]} == {
        "lstm_margin", "gap_grows", "top_down", "noise"}


def test_adding_seeds_to_a_results_file_keeps_both_commands_and_recomputes_the_summary(tmp_path):
    old = _fake_results(tmp_path)
    new = {**old, "command": "second", "date": "2026-12-02",
           "runs": [{**old["runs"][2], "seed": 5}, {**old["runs"][0], "seed": 1}]}
    merged = sweep.add_runs(old, new)
    assert [r["seed"] for r in merged["runs"]] == [0, 2, 5, 1]  # seed 1 of the new sweep replaces the old one
    assert merged["command"] == old["command"] + " && second" and merged["date"] == "2026-12-01 and 2026-12-02"
    assert merged["summary"] == sweep.aggregate(merged["runs"])
    with pytest.raises(ValueError, match="cannot add runs with preset"):
        sweep.add_runs(old, {**new, "preset": "paper"})
