"""The attention figures build from real records, serialise to Vega-Lite and stay legible (issue 13)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from neurodyn.attention import figures as figs
from neurodyn.attention.experiment import PRESETS, build
from neurodyn.attention.page_support import task_preview
from neurodyn.core.loop import record_to_json, run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def records():
    cfg = replace(PRESETS["small"], device="cpu", n_steps=10, eval_size=64, n_retrievals=4)
    return list(run(build(cfg)))


def _charts(records):
    step, art = figs.latest_artifacts(records)
    return {
        "values": figs.value_score_chart(art["value_scores"], 2, 4, 2, 2),
        "confusion": figs.confusion_chart(art["confusion"]),
        "search": figs.search_maps_chart(art["search_maps"], art["neighbours"]),
        "mha": figs.mha_maps_chart(art["mha_search_maps"], art["neighbours"]),
        "loss": figs.loss_chart(records),
        "specialisation": figs.specialisation_chart(records),
        "seeds": figs.seed_chart([{"seed": 0, "comp": 0.27, "mha": 0.29}, {"seed": 1, "comp": 0.29, "mha": 0.59}],
                                 seed=1),
    }


def test_every_figure_builds_from_records_and_their_json(records):
    for recs in (records, [record_to_json(r) for r in records]):
        assert figs.latest_artifacts(recs)[0] == 10
        for chart in _charts(recs).values():
            assert chart.to_dict()
    spec = figs.loss_chart(records).to_dict()
    assert any(layer.get("mark", {}).get("type") == "rule" or layer.get("mark") == "rule" for layer in spec["layer"])


def test_value_score_rows_are_labelled_top_down():
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


def _walk(node, key):
    """Every dict under ``node`` that has ``key``."""
    if isinstance(node, dict):
        if key in node:
            yield node
        for v in node.values():
            yield from _walk(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v, key)


def _encodings(spec):
    for enc in _walk(spec, "encoding"):
        yield from enc["encoding"].items()


def test_every_axis_and_legend_label_is_at_least_12_px_and_dark(records):
    for name, chart in _charts(records).items():
        spec = chart.to_dict()
        for channel, enc in _encodings(spec):
            if not isinstance(enc, dict) or "field" not in enc:
                continue
            guide = enc.get("axis" if channel in ("x", "y") else "legend")
            if channel in ("x", "y", "color", "strokeDash") and guide is not None:  # None: the guide is hidden
                assert guide.get("labelFontSize", 0) >= 12, (name, channel)
                if guide.get("title") is not None:
                    assert guide.get("titleFontSize", 0) >= 12, (name, channel)
                assert guide.get("labelColor") == figs.INK, (name, channel)
        for mark in _walk(spec, "mark"):
            m = mark["mark"]
            if isinstance(m, dict) and m.get("type") == "text":
                assert m.get("fontSize", 0) >= 12, name


def test_wide_figures_take_the_container_width(records):
    # issue 13: the value-score map was 270 px wide (a 26-px step per token) in a page column three times as wide
    charts = _charts(records)
    for name in ("values", "confusion", "loss", "specialisation", "seeds"):
        assert charts[name].to_dict()["width"] == "container", name


@pytest.mark.parametrize("S,s,R,r", [(1, 1, 1, 2), (2, 2, 2, 2), (2, 2, 4, 4), (4, 3, 8, 4)])
def test_confusion_chart_is_one_matrix_tall_enough_for_its_axis_title(S, s, R, r):
    # issue 13: the faceted chart (one 2 x 2 cell of 24-px rows per block) cut its axis titles off
    conf = np.arange(1, S * s * R * r + 1).reshape(S, s, R, r)
    spec = figs.confusion_chart(conf).to_dict()
    assert "facet" not in spec and spec["width"] == "container"
    y_title = spec["layer"][0]["encoding"]["y"]["axis"]["title"]
    # the title runs along the y axis: it fits when the plot is at least as tall as the text (0.6 em per character)
    assert spec["height"] >= 0.6 * figs.FONT * len(y_title)
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == S * s * R * r
    # every column of a block (one true task of one GT search) sums to one over the values a search picked
    for i in range(S):
        for g in range(s):
            for t in range(r):
                share = [x["share"] for x in rows if x["picked"].startswith(f"Search {i + 1} /")
                         and x["truth"] == f"GT search {g + 1} / task {t + 1}"]
                assert sum(share) == pytest.approx(1.0) and len(share) == R


def test_attention_svg_export_renders_container_width_charts(records):
    from neurodyn.core.export import chart_bytes

    svg = chart_bytes(figs.loss_chart(records), "svg").decode()
    assert svg.startswith("<svg") and 'width="0"' not in svg


def test_seed_chart_draws_one_line_per_seed_and_marks_this_runs_seed():
    runs = [{"seed": s, "comp": 0.27 + 0.01 * s, "mha": 0.3 + 0.1 * s} for s in range(4)]
    spec = figs.seed_chart(runs, seed=2).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 8 and sum(r["this run"] for r in rows) == 2
    assert {(r["seed"], r["model"]): r["L1"] for r in rows}[(3, "MHA")] == pytest.approx(0.6)
