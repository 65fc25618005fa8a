"""Chart builders and the pyvis graph view for the UDEMD page."""
from __future__ import annotations

import re

import numpy as np
import pytest

from neurodyn.core.loop import Record
from neurodyn.udemd import figures as figs
from neurodyn.udemd.datasets import ontology_patients
from neurodyn.udemd.experiment import PRESETS, declared_metrics


def _metrics(stage: int, **acc: float) -> dict[str, float]:
    m = {d.name: 0.0 for d in declared_metrics(PRESETS["small"])}
    m.update(stage=float(stage), **acc)
    return m


def _walk(spec, key):
    """Every value of ``key`` anywhere in a Vega-Lite spec."""
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == key:
                yield v
            yield from _walk(v, key)
    elif isinstance(spec, list):
        for v in spec:
            yield from _walk(v, key)


def test_charts_build_from_arrays_and_records():
    rng = np.random.default_rng(0)
    rec = Record(step=4, metrics=_metrics(4, acc_udemd=0.9, acc_balanced=0.6, acc_l1=0.2, acc_cosine=0.5,
                                          coarse_acc_udemd=1.0, coarse_acc_balanced=1.0, coarse_acc_l1=0.5,
                                          coarse_acc_cosine=0.9), artifacts={"umap": rng.random((5, 2))})
    assert figs.last_artifact([rec], "umap").shape == (5, 2) and figs.last_artifact([rec], "nope", 1) == 1
    for chart in (
        figs.embedding_chart(rng.random((20, 2)), ["a", "b"] * 10, ringed=np.arange(20) < 3),
        figs.accuracy_chart([rec]),
        figs.accuracy_chart([rec], coarse=True),
        figs.exact_scatter(rng.random(10), rng.random(10)),
        figs.timing_chart([{"method": "x", "n_signals": 10, "seconds": 0.1, "extrapolated": False}]),
        figs.block_norm_chart([32, 64, 128], [0.1, 0.2, 1.0]),
    ):
        spec = chart.to_dict()
        assert "mark" in str(spec) or "layer" in spec
        assert spec["width"] == "container"  # charts take their column's width
        axis = spec["config"]["axis"]
        assert axis["labelFontSize"] >= 12 and axis["titleFontSize"] >= 12 and axis["labelColor"] == figs.INK
        assert all(size >= 12 for size in _walk(spec, "fontSize"))


def test_accuracy_bars_show_pending_methods_as_pending_not_as_zero():
    rec = Record(3, _metrics(3, acc_udemd=0.89, acc_balanced=0.63))  # L1 and cosine are placeholders (0.0)
    spec = figs.accuracy_chart([rec]).to_dict()
    layers = {layer["mark"]["type"] + ("" if layer["mark"]["type"] == "bar" else f":{layer['mark']['align']}"):
              {r["method"]: r for r in layer["data"]["values"]} for layer in spec["layer"]}  # each layer its rows
    assert set(layers["bar"]) == {"UDEMD", "balanced DEMD"}  # no bar for a pending method
    assert layers["text:right"]["UDEMD"]["text"] == "0.89"  # the value inside its bar
    outside = layers["text:left"]
    assert outside["L1 on signals"]["pending"] and outside["cosine"]["text"] == "pending"
    done = figs.accuracy_chart([Record(4, _metrics(4, acc_udemd=0.9, acc_balanced=0.6, acc_l1=0.0,
                                                   acc_cosine=0.5))]).to_dict()
    bars = {r["method"]: r["text"] for r in done["layer"][0]["data"]["values"]}
    assert done["layer"][0]["mark"]["type"] == "bar" and bars["L1 on signals"] == "0.00"  # a real zero is a bar

def test_embedding_colours_stay_distinct_for_ten_cell_types_and_pair_by_area():
    labels = [f"type {i}" for i in range(10)] * 3
    spec = figs.embedding_chart(np.random.default_rng(0).random((30, 2)), labels).to_dict()
    colours = next(_walk(spec, "scale"))["range"]
    assert len(colours) == 10 and len(set(colours)) == 10
    for n in (3, 8, 9, 10, 11, 20):
        assert len(set(figs.categorical_colors(n))) == n
    paired = figs.categorical_colors(8, paired=True)
    assert len(set(paired)) == 8 and paired[:2] == figs.TABLEAU20[:2]  # one hue, dark and light, per area
    with pytest.raises(ValueError):
        figs.categorical_colors(21)


def test_timing_legend_draws_distinct_line_samples():
    rows = [{"method": "UDEMD", "n_signals": n, "seconds": 0.1, "extrapolated": False} for n in (10, 20)]
    rows += [{"method": "exact EMD (POT), scaled", "n_signals": n, "seconds": n, "extrapolated": True}
             for n in (10, 20)]
    spec = figs.timing_chart(rows).to_dict()
    enc = spec["layer"][0]["encoding"]
    assert enc["strokeDash"]["field"] == enc["color"]["field"] == "method"  # one legend, not a separate one
    dashes = enc["strokeDash"]["scale"]["range"]
    assert dashes[0] != dashes[1] and dashes[1] == [6, 4]  # measured solid, extrapolated dashed
    legend = enc["color"]["legend"]
    assert legend["symbolType"] == "stroke"  # line samples, not two identical dots
    colours = enc["color"]["scale"]["range"]
    assert len(set(colours)) == 2


def test_graph_view_is_subsampled_and_has_no_cdn_reference():
    d = ontology_patients(20, seed=0)  # 1093 nodes
    html, n = figs.graph_html(d.adjacency, d.node_names, node_values=d.signals.mean(0), max_nodes=200)
    assert n == 200
    assert "cdn.jsdelivr.net" not in html
    assert not re.search(r"<(script|link)[^>]*(src|href)=[\"']https?://", html)  # nothing fetched from outside
    assert "vis-network" in html or "vis.Network" in html
