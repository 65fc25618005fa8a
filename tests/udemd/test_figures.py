"""Chart builders and the pyvis graph view for the UDEMD page."""
from __future__ import annotations

import re

import numpy as np

from neurodyn.core.loop import Record
from neurodyn.udemd.datasets import ontology_patients
from neurodyn.viz import udemd as figs


def test_charts_build_from_arrays_and_records():
    rng = np.random.default_rng(0)
    rec = Record(step=4, metrics={"acc_udemd": 0.9, "acc_balanced": 0.6, "acc_l1": 0.2, "acc_cosine": 0.5,
                                  "coarse_acc_udemd": 1.0, "coarse_acc_balanced": 1.0, "coarse_acc_l1": 0.5,
                                  "coarse_acc_cosine": 0.9}, artifacts={"umap": rng.random((5, 2))})
    assert figs.last_artifact([rec], "umap").shape == (5, 2) and figs.last_artifact([rec], "nope", 1) == 1
    for chart in (
        figs.embedding_chart(rng.random((20, 2)), ["a", "b"] * 10, ringed=np.arange(20) < 3),
        figs.accuracy_chart([rec]),
        figs.accuracy_chart([rec], coarse=True),
        figs.exact_scatter(rng.random(10), rng.random(10)),
        figs.timing_chart([{"method": "x", "n_signals": 10, "seconds": 0.1, "extrapolated": False}]),
        figs.block_norm_chart([32, 64, 128], [0.1, 0.2, 1.0]),
    ):
        assert "mark" in str(chart.to_dict()) or "layer" in chart.to_dict()


def test_graph_view_is_subsampled_and_has_no_cdn_reference():
    d = ontology_patients(20, seed=0)  # 1093 nodes
    html, n = figs.graph_html(d.adjacency, d.node_names, node_values=d.signals.mean(0), max_nodes=200)
    assert n == 200
    assert "cdn.jsdelivr.net" not in html
    assert not re.search(r"<(script|link)[^>]*(src|href)=[\"']https?://", html)  # nothing fetched from outside
    assert "vis-network" in html or "vis.Network" in html
