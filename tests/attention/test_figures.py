"""The attention figures build from real records and serialise to Vega-Lite."""

from __future__ import annotations

from dataclasses import replace

import torch

from neurodyn.attention.experiment import PRESETS, build, task_preview
from neurodyn.core.loop import record_to_json, run
from neurodyn.viz import attention as figs

torch.set_num_threads(1)


def test_every_figure_builds_from_records_and_their_json():
    cfg = replace(PRESETS["small"], device="cpu", n_steps=10, eval_size=64, n_retrievals=4)
    recs = list(run(build(cfg)))
    for records in (recs, [record_to_json(r) for r in recs]):
        step, art = figs.latest_artifacts(records)
        assert step == 10
        charts = [
            figs.value_score_chart(art["value_scores"], 2, 4, 2, 2),
            figs.confusion_chart(art["confusion"]),
            figs.search_maps_chart(art["search_maps"], art["neighbours"]),
            figs.mha_maps_chart(art["mha_search_maps"], art["neighbours"]),
            figs.loss_chart(records),
            figs.specialisation_chart(records),
        ]
        for chart in charts:
            assert chart.to_dict()
    spec = figs.loss_chart(recs).to_dict()
    assert any(layer.get("mark", {}).get("type") == "rule" or layer.get("mark") == "rule" for layer in spec["layer"])


def test_value_score_rows_are_labelled_top_down():
    import numpy as np

    chart = figs.value_score_chart(np.zeros((2 * 2 + 2 * 2, 3)), 2, 2, 2, 2)
    order = chart.to_dict()["encoding"]["y"]["sort"]
    assert order[0] == "Search 1 / Value 1" and order[-1] == "GT search 2 / task 2"


def test_empty_records_give_empty_charts():
    assert figs.loss_chart([]).to_dict() and figs.specialisation_chart([]).to_dict()
    assert figs.latest_artifacts([]) is None


def test_task_chart_shows_only_the_ground_truth_rows_top_down():
    cfg = replace(PRESETS["small"], device="cpu")
    p = task_preview(cfg)
    spec = figs.task_chart(p["ground_truth"], cfg.n_search_gt, cfg.n_retrieval_gt).to_dict()
    assert spec["encoding"]["y"]["sort"] == [f"GT search {g + 1} / task {t + 1}" for g in range(cfg.n_search_gt)
                                              for t in range(cfg.n_retrieval_gt)]
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == cfg.n_search_gt * cfg.n_retrieval_gt * cfg.n_tokens
    assert {r["kind"] for r in rows} == {"ground truth"}
