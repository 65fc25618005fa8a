"""The UDEMD page's support functions: tab settings, the upload run's config and the texts (from the config)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from neurodyn.core.loop import Record
from neurodyn.udemd import page_support as ps
from neurodyn.udemd.datasets import GraphSignals, tree_adjacency
from neurodyn.udemd.experiment import EXACT_STAGE, PRESETS, Config


def test_patients_text_states_the_configs_numbers():
    cfg = PRESETS["small"]  # 300 patients on a 3-ary tree of depth 5 (the page once said "400 patients")
    text = ps.patients_text(cfg)
    assert text.startswith("300 synthetic patients") and "400" not in text
    assert f"{tree_adjacency(3, 5)[0].shape[0]:,} concepts" in text  # 364
    other = ps.patients_text(replace(cfg, n_signals=123, branching=4, depth=4, eps=0.5, severity=2.5))
    assert "123 synthetic patients" in other and "341 concepts" in other and "ε = 0.5" in other and "2.5×" in other


def test_layout_title_names_the_method_in_words_not_its_code_name():
    recs = [Record(5, {}, {"umap": np.zeros((3, 2)), "shown": "udemd", "layout": "umap"})]
    assert ps.layout_title(recs) == "UMAP of the UDEMD embeddings"
    recs = [Record(5, {}, {"umap": np.zeros((3, 2)), "shown": "balanced", "layout": "spectral"})]
    assert ps.layout_title(recs) == "Spectral layout of the balanced DEMD embeddings"
    assert ps.layout_title([Record(0, {}, {})]) == ""
    assert "udemd" not in ps.layout_title([Record(5, {}, {"umap": np.zeros((3, 2)), "shown": "udemd"})])


def test_tab_configs_apply_the_overrides_then_the_tabs_own_settings():
    cfg = Config()
    b = ps.tab_config(cfg, "pbmc")
    assert (b.dataset, b.knn_k, b.max_scale) == ("pbmc", 5, ps.PBMC_MAX_SCALE) == ("pbmc", 5, 6)
    assert ps.tab_config(cfg, "pbmc", max_scale=10).max_scale == 10
    c = ps.tab_config(cfg, "geometric")
    assert (c.dataset, c.graph_nodes, c.n_signals) == ("geometric", 500, 200)
    assert (c.n_steps - EXACT_STAGE) * c.pairs_per_step == 300  # exact EMD on 300 pairs
    with pytest.raises(KeyError, match="valid"):
        ps.tab_config(cfg, "nope")


def test_upload_config_sizes_the_run_for_the_data():
    def data(n: int) -> GraphSignals:
        adj = sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1]).tocsr()
        return GraphSignals("upload", adj, np.ones((5, n)), np.array(["a"] * 5), list(map(str, range(n))),
                            list(map(str, range(5))))

    cfg = replace(Config(), pairs_per_step=10)
    assert ps.upload_config(cfg, data(50)).n_steps == EXACT_STAGE + 3  # 30 exact pairs in batches of 10
    assert ps.upload_config(cfg, data(1001)).n_steps == EXACT_STAGE  # no exact EMD over 1000 nodes
    assert ps.upload_config(cfg, data(50), exact_pairs=5).n_steps == EXACT_STAGE + 1
    assert ps.upload_config(cfg, data(50)).max_scale == cfg.max_scale  # everything else is the sidebar's


def test_has_areas_and_pbmc_text():
    assert ps.has_areas([Record(0, {}, {"area": np.zeros(3)})]) and not ps.has_areas([Record(0, {}, {})])
    assert not ps.has_areas([])
    text = ps.pbmc_text(ps.tab_config(Config(), "pbmc"))
    assert "K = 6" in text and "5-NN" in text and "worst of the four" in text
