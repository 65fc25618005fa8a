"""The multi-seed GAN study (``docs/papers/lead.md`` §11.1): per-seed statistics, the summary, the saved file."""

from __future__ import annotations

import dataclasses
import json

import pytest

from neurodyn.core.loop import Record
from neurodyn.lead.experiment import GAN_PRESETS, gan_metric
from neurodyn.lead.study import RESULTS, load_results, main, seed_stats, summarise


def records(config, modes):
    """Records whose modes follow ``modes[o][i]`` (a list per step) and hq 0.5 everywhere."""
    out = []
    for k in range(len(modes["adam"][0])):
        m = {}
        for o in ("adam", "lead"):
            for i in range(config.n_seeds):
                m[gan_metric(o, "modes", i)] = float(modes[o][i][k])
                m[gan_metric(o, "hq", i)] = 0.5
        out.append(Record(k + 1, m, {}))
    return out


def test_seed_stats_read_the_second_half():
    cfg = dataclasses.replace(GAN_PRESETS["small"], n_seeds=2, seed=7)
    recs = records(cfg, {"adam": [[0, 0, 8, 6], [8, 8, 8, 8]], "lead": [[8, 8, 8, 8], [0, 0, 7, 8]]})
    rows = seed_stats(recs, cfg)
    assert [(r["seed"], r["stack"]) for r in rows] == [(7, 0), (7, 1)]
    assert rows[0]["adam_modes"] == 7.0 and rows[0]["adam_all8"] == 0.5 and rows[0]["adam_min"] == 6.0
    assert rows[1]["lead_modes"] == 7.5 and rows[1]["lead_min"] == 7.0 and rows[1]["lead_hq"] == 0.5
    s = summarise(rows)
    assert s["n_seeds"] == 2 and s["lead_more"] == 1 and s["lead_fewer"] == 1 and s["tie"] == 0
    assert s["adam_modes"] == pytest.approx((7.0 + 8.0) / 2) and s["lead_all8"] == pytest.approx((1.0 + 0.5) / 2)


def test_study_runs_and_merges_into_the_results_file(tmp_path, monkeypatch):
    tiny = dataclasses.replace(GAN_PRESETS["small"], n_steps=4, hidden=8, n_eval=100, n_samples=100)
    monkeypatch.setitem(GAN_PRESETS, "small", tiny)
    out = tmp_path / "seeds.json"
    main(["--preset", "small", "--seeds", "3", "4", "--out", str(out)])
    saved = load_results(out)
    study = saved["studies"]["small"]
    assert study["summary"]["n_seeds"] == 2 * tiny.n_seeds and [r["seed"] for r in study["rows"]] == [3, 3, 4, 4]
    assert study["command"] == "python -m neurodyn.lead.study --preset small --seeds 3 4"
    assert load_results(tmp_path / "missing.json") is None


def test_saved_results_file_is_consistent_with_its_rows():
    saved = load_results(RESULTS)
    if saved is None:
        pytest.fail(f"{RESULTS} is missing: run python -m neurodyn.lead.study (docs/papers/lead.md §11.1)")
    for preset, study in saved["studies"].items():
        assert preset in GAN_PRESETS and study["command"].startswith("python -m neurodyn.lead.study")
        assert summarise(study["rows"]) == study["summary"]
        json.dumps(study)
