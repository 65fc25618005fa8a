"""Page support of the attention page: parameter table, pre-run preview, zero line, status and seed texts."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import fields, replace

import numpy as np
import pytest
import torch

from neurodyn.attention import figures as figs
from neurodyn.attention.experiment import PRESETS, Config, build
from neurodyn.attention.page_support import (
    HIGH_SHADE,
    PREVIEW_CAPTION,
    SEED_RUNS,
    VALUE_MAP_CAPTION,
    parameter_table,
    seed_runs,
    seed_summary,
    specialisation_status,
    task_preview,
    zero_line,
)
from neurodyn.core.loop import Record

torch.set_num_threads(1)
SMALL = replace(PRESETS["small"], device="cpu")


def test_parameter_table_counts_the_built_models_and_prints_the_formulas():
    rows = parameter_table(SMALL)
    assert [r["toy model parameters"] for r in rows] == [9025, 7697]  # attention.md §4
    # weights: 2·2·32·16 + 2·32·16 + 2·32·16 + 16·16 + 2·16·32 = 5376 and 2·2·32·16 + 2·32·16 + 2·16·32 = 4096
    assert rows[0]["attention weights (no biases)"].endswith("= 5376")
    assert rows[1]["attention weights (no biases)"].endswith("= 4096")
    # biases: Comp q, k, v (3·32), q̄ (32), k̄ (16), out (32); MHA q, k, v, out (4·32)
    assert [r["attention parameters"] for r in rows] == [5376 + 176, 4096 + 128]


@pytest.mark.parametrize("ood", [False, True])
def test_task_preview_is_the_ground_truth_the_first_snapshot_shows(ood):
    """The page's pre-run preview equals the run's own held-out sample 0 (tasks, neighbours, GT value rows)."""
    cfg = replace(SMALL, n_steps=5, eval_size=64, n_searches=2, n_retrievals=3, ood=ood)
    preview = task_preview(cfg)
    art = build(cfg).step().artifacts
    np.testing.assert_array_equal(preview["tasks"], art["tasks"])
    np.testing.assert_array_equal(preview["neighbours"], art["neighbours"])
    np.testing.assert_array_equal(preview["ground_truth"], art["value_scores"][2 * 3:])
    assert preview["ground_truth"].shape == (2 * 2, 10) and (preview["ground_truth"].sum(0) == 2).all()


def test_zero_line_is_the_closed_form_for_the_default_task_and_the_batch_mean_otherwise():
    assert zero_line(SMALL) == pytest.approx(0.764, abs=5e-4)
    assert zero_line(replace(SMALL, coefficients=False)) == pytest.approx(1.154, abs=5e-4)
    rec = Record(step=5, metrics={"zero_l1": 0.9123})
    assert zero_line(replace(SMALL, n_search_gt=3), [rec]) == 0.9123  # no closed form for s_gt = 3
    assert zero_line(replace(SMALL, ood=True), [rec]) == 0.9123


def test_specialisation_status_offers_a_reseed_when_the_gate_stays_soft():
    soft = Record(step=1000, metrics={"selection_accuracy": 0.7, "value_sharpness": 0.6, "done": 1.0})
    state, message = specialisation_status([soft])
    assert state == "not_specialised" and "seed" in message and "D = 64" in message
    crisp = Record(step=1000, metrics={"selection_accuracy": 1.0, "value_sharpness": 0.99, "done": 1.0})
    assert specialisation_status([crisp])[0] == "specialised"
    going = Record(step=100, metrics={"selection_accuracy": 0.6, "value_sharpness": 0.6, "done": 0.0})
    assert specialisation_status([going])[0] == "not_yet"
    assert specialisation_status([])[0] == "waiting"


def test_captions_describe_high_values_in_the_shade_the_grey_scale_draws_them():
    # issue 13: the caption said "bright cell" while the grey scale draws 1 black
    scale = figs.GREYS.to_dict()
    assert scale == {"domain": [0, 1], "scheme": "greys"}  # vega's "greys": 0 -> white, 1 -> black (not reversed)
    assert HIGH_SHADE == "dark"
    for text in (VALUE_MAP_CAPTION, PREVIEW_CAPTION.format(s_gt=2, n=10, shade=HIGH_SHADE)):
        assert "bright" not in text.lower() and "white" not in text.lower()
        assert "dark" in text


def test_every_knob_has_a_label_in_words():
    # issue 13: knobs labelled in words, not field names
    for f in fields(Config):
        label = f.metadata.get("label")
        words = re.sub(r"\(.*?\)", "", label or "")  # a symbol in parentheses may follow the words: "(s_gt)"
        assert words.strip() and "_" not in words, f.name
        if "_" in f.name:  # a code name like "n_retrieval_gt" is not spelled out in words by dropping underscores
            assert label != f.name.replace("_", " "), f.name


def _write(tmp_path, settings):
    path = tmp_path / "seed_runs.json"
    path.write_text(json.dumps({"settings": settings}))
    return path


def test_seed_summary_counts_and_medians_come_from_the_results_file(tmp_path):
    runs = [{"seed": 0, "comp": 0.27, "mha": 0.29, "selection": 1.0}, {"seed": 1, "comp": 0.29, "mha": 0.59,
                                                                        "selection": 0.53},
            {"seed": 2, "comp": 0.40, "mha": 0.35, "selection": 0.96}]
    path = _write(tmp_path, [
        {"label": "no concat", "preset": "small", "overrides": {"concat": "false"}, "command": "cmd-b",
         "measured": "day", "runs": runs[:1]},
        {"label": "small", "preset": "small", "overrides": {}, "command": "cmd-a", "measured": "day", "runs": runs}])
    text = seed_summary(replace(SMALL, seed=7), path)  # the seed and the device do not change the setting
    assert "seeds 0, 1, 2" in text and "`cmd-a`" in text
    assert "below MHA in 2 of 3 seeds" in text
    assert f"Comp {statistics.median([0.27, 0.29, 0.40]):.3f} against MHA {statistics.median([0.29, 0.59, 0.35]):.3f}" \
        in text
    assert "specialised (selection accuracy ≥ 0.95) in 2 of 3" in text
    assert seed_runs(replace(SMALL, concat=False), path)["command"] == "cmd-b"
    assert "have not been run over several seeds" in seed_summary(replace(SMALL, d_model=16), path)
    assert "have not been run" in seed_summary(SMALL, tmp_path / "missing.json")


def test_the_shipped_results_file_covers_the_small_preset_with_its_command():
    entry = seed_runs(SMALL, SEED_RUNS)
    assert entry is not None and entry["command"].startswith("python benchmarks/attention.py --seeds")
    assert len(entry["runs"]) >= 3 and len({r["seed"] for r in entry["runs"]}) == len(entry["runs"])


@pytest.mark.slow
def test_the_results_file_row_is_what_its_command_computes():
    """attention.md §6 check 12: rerun the first seed of the small preset's entry with the benchmark's own code."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "bench_attention", Path(__file__).resolve().parents[2] / "benchmarks" / "attention.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    entry = seed_runs(SMALL, SEED_RUNS)
    row = entry["runs"][0]
    again = bench.seed_run(entry["preset"], entry["overrides"], row["seed"])
    # identical on the machine that wrote the file; another CPU's rounding, grown over 1,000 Adam steps, may move the
    # losses by a few thousandths, never by a hundredth unless the results themselves have changed
    for key in ("comp", "mha", "comp_last", "mha_last"):
        assert again[key] == pytest.approx(row[key], abs=0.01), key
    for key in ("selection", "sharpness"):
        assert again[key] == pytest.approx(row[key], abs=0.02), key
