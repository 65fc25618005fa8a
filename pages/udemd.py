"""UDEMD (arXiv:2107.12334): patients on an ontology, PBMC genes on cells, accuracy and speed, your own data."""

import sys
from dataclasses import replace
from functools import partial

import numpy as np
import streamlit as st

from neurodyn import ui
from neurodyn.udemd import experiment as xp
from neurodyn.udemd import io as uio
from neurodyn.udemd.datasets import GraphSignals
from neurodyn.viz import udemd as figs

ui.header("udemd", note="Signals are diffused with the mass-preserving Pᵀ (the reference code averages with P); the "
          "low-pass weight γ is our extension (γ = 1 is the reference). SNOMED-CT is licensed, so tab A uses a "
          "synthetic ontology. Accuracies and timings are measured here, not quoted from the paper.")
cfg = ui.controls("udemd")
if "umap" not in sys.modules:
    st.info("The first UMAP in this server process compiles numba kernels (20-45 s, paid in the background at app "
            "start); until then the UMAP stage shows as running.")
tab_a, tab_b, tab_c, tab_d = st.tabs(["A · Patients", "B · PBMC genes", "C · Accuracy and speed vs exact EMD",
                                      "D · Your data"])


@st.cache_data(show_spinner="Drawing the graph…", max_entries=8)
def graph_view(c):
    d = xp.make_dataset(c)
    return figs.graph_html(d.adjacency, d.node_names, node_values=d.signals.mean(0)) + (d.adjacency.shape[0],)


def show_graph(c, key):
    with st.expander("Look at the graph (pyvis)"):
        if st.toggle("Draw it", key=key):
            html, shown, n = graph_view(c)
            st.caption(f"Showing {shown} of {n} nodes" + (" (a connected BFS subsample)." if shown < n else ".")
                       + " Colour: mean signal per node.")
            st.iframe(html, height=440)  # built-in datasets only: never user-uploaded names


def draw_embedding(records, ringed=False):
    xy, labels = figs.last_artifact(records, "umap"), figs.last_artifact(records, "labels")
    left, right = st.columns([3, 2])
    if xy is not None:
        marker = figs.last_artifact(records, "marker") if ringed else None
        left.altair_chart(figs.embedding_chart(xy, labels, names=figs.last_artifact(records, "signal_names"),
                                               ringed=marker, title=f"UMAP of {figs.last_artifact(records, 'shown')}"),
                          width="stretch")
    right.altair_chart(figs.accuracy_chart(records, title="kNN accuracy (fine labels)"), width="stretch")
    if "area" in (records[0].artifacts if records else {}):
        right.altair_chart(figs.accuracy_chart(records, coarse=True, title="kNN accuracy (4 areas)"), width="stretch")
    norms, scales = figs.last_artifact(records, "block_norms"), figs.last_artifact(records, "scales")
    if norms is not None:
        right.altair_chart(figs.block_norm_chart(scales, norms), width="stretch")


with tab_a:
    st.markdown("400 synthetic patients are bags of concept mentions on a 3-ary is-a tree: 4 disease areas × 2 "
                "severities. Severe patients mention more concepts, so *how much* matters as well as *where*.")
    ui.live("udemd", cfg, draw_embedding)
    st.caption("How to read this: only UDEMD keeps both the area (colour families) and the severity (split within "
               "an area); balanced DEMD normalises mass away and merges severities; L1 on counts ignores the tree. "
               "Toggle *balanced* to see the UMAP of balanced DEMD. Card check 14 (ε = 0.3, paper preset): UDEMD ≥ "
               "0.8 and ≥ 0.15 above balanced DEMD.")
    show_graph(cfg, "graph_a")

with tab_b:
    cfg_b = replace(cfg, **xp.TAB_OVERRIDES["pbmc"])
    st.markdown("765 genes are signals on the 700-cell kNN graph of scanpy's bundled `pbmc68k_reduced` "
                "(log-normalised `.raw.X`). Colour: each gene's preferred cell type; ringed: top-5 marker genes.")
    ui.live("udemd", cfg_b, lambda r: draw_embedding(r, ringed=True), key="pbmc", start_label="Start PBMC")
    st.caption("How to read this: marker genes of one type (e.g. GNLY/NKG7/CCL5 for NK and cytotoxic cells) should "
               "fall together. Gene masses span ~700×, so at large K the mass block dominates UDEMD: compare K = 6 "
               "and K = 10, γ = 0, or balanced in the sidebar. Accuracy: 5-NN on the clearly typed half of the genes.")
    show_graph(cfg_b, "graph_b")

with tab_c:
    cfg_c = replace(cfg, **xp.TAB_OVERRIDES["geometric"])

    def draw_exact(records):
        ex, ap = figs.last_artifact(records, "exact"), figs.last_artifact(records, "approx")
        if ex is not None:
            st.altair_chart(figs.exact_scatter(ex, ap, label="balanced DEMD" if cfg_c.balanced else "UDEMD"),
                            width="stretch")
        st.caption("Exact: POT network simplex on hop-distance costs; in unbalanced mode the dummy-node LP with "
                   "λ = hop diameter. Card check 9: Spearman ≥ 0.94; check 10 (unbalanced): ≥ 0.95.")

    ui.live("udemd", cfg_c, draw_exact, key="exact", start_label="Start exact comparison")

    @st.cache_data(show_spinner="Timing UDEMD and exact EMD (a few seconds)…")
    def timing(c):
        return xp.timing_vs_signals(xp.make_dataset(c), [25, 50, 100, 200], max_scale=c.max_scale or 10)

    if st.button("Time UDEMD against exact EMD"):
        st.altair_chart(figs.timing_chart(timing(cfg_c)), width="stretch")
        st.caption("Dashed: exact EMD timed on 20 pairs and scaled to m(m−1)/2 pairs. UDEMD is timed end to end.")

with tab_d:
    st.markdown("Upload a graph and signals on it. Files stay in your browser session (memory only) and are checked "
                "before any work: see `assets/udemd/` for an example edge list and signals file.")
    kind = st.radio("Graph", ["edge-list CSV + signals CSV", "adjacency .npz + signals CSV", "AnnData .h5ad"],
                    horizontal=True)
    lcc = st.checkbox("Keep the largest connected component only (reports the dropped mass)")
    graph, sig = None, None
    if kind == "AnnData .h5ad":
        up = ui.upload("AnnData (cells × genes)", uio.parse_h5ad, types=["h5ad"], max_mb=200, key="up.h5ad")
        graph, sig = (up.value if up else (None, None))
    else:
        if kind.startswith("edge"):
            up = ui.upload("Edge list (src,dst[,weight])", uio.parse_edge_list, types=["csv"], max_mb=200, key="up.e")
        else:
            nodes = st.file_uploader("nodes.csv (optional, one id per row)", type=["csv"], key="up.nodes")
            nb = nodes.getvalue() if nodes else None
            up = ui.upload("Adjacency (.npz)", lambda b, n: uio.parse_adjacency_npz(b, nb, n), types=["npz"],
                           max_mb=200, key="up.npz")
        graph = up.value if up else None
        if graph is not None:
            s_up = ui.upload("Signals CSV (wide: id[,label],nodes… or long: signal_id,node_id,value)",
                             lambda b, n: uio.parse_signals_csv(b, graph.node_ids, n), types=["csv"], max_mb=200,
                             key="up.s")
            sig = s_up.value if s_up else None
    if graph is not None and sig is not None:
        try:
            data = uio.prepare(graph, sig, largest_component_only=lcc, balanced=cfg.balanced,
                               n_scales=cfg.n_scales, max_scale=cfg.max_scale or 12)
        except uio.UploadError as exc:
            st.error(f"Not accepted: {exc}")
            st.stop()
        st.success(f"Accepted: {len(data.node_ids)} nodes, {len(data.signal_ids)} signals.")
        for line in data.report:
            st.markdown(f"- {line}")
        labels = np.array(data.labels if data.labels else ["unlabelled"] * len(data.signal_ids))
        gs = GraphSignals("upload", data.adjacency, data.signals, labels, data.node_ids, data.signal_ids)
        cfg_d = xp.upload_config(cfg, gs)
        job = ui.live("udemd", cfg_d, draw_embedding, key="mine", start_label="Embed my data",
                      build=partial(xp.UdemdExperiment, data=gs, emit_embedding=True))
        done = [r.artifacts for r in (job.records if job is not None else []) if "embedding" in r.artifacts]
        if done:
            nb = done[-1]
            c1, c2 = st.columns(2)
            c1.download_button("Embedding (CSV)", uio.embedding_csv(data.signal_ids, nb["embedding"], data.labels),
                               "udemd-embedding.csv", "text/csv", on_click="ignore")
            c2.download_button("Neighbour table (CSV)", uio.neighbors_csv(data.signal_ids, nb["neighbors"],
                                                                          nb["neighbor_distances"]),
                               "udemd-neighbours.csv", "text/csv", on_click="ignore")
