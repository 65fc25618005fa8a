"""UDEMD (arXiv:2107.12334): patients on an ontology, PBMC genes on cells, accuracy and speed, your own data."""

import sys
from functools import partial

import numpy as np
import streamlit as st

from neurodyn import ui
from neurodyn.udemd import experiment as xp
from neurodyn.udemd import figures as figs
from neurodyn.udemd import io as uio
from neurodyn.udemd import page_support as ps
from neurodyn.udemd.datasets import GraphSignals
from neurodyn.ui.upload import markdown_safe

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


def draw_embedding(records, config, ringed=False):
    xy, labels = figs.last_artifact(records, "umap"), figs.last_artifact(records, "labels")
    left, right = st.columns([3, 2])
    if xy is not None:
        marker = figs.last_artifact(records, "marker") if ringed else None
        ui.chart(lambda: figs.embedding_chart(xy, labels, names=figs.last_artifact(records, "signal_names"),
                                              ringed=marker, title=ps.layout_title(records),
                                              paired=ps.has_areas(records),
                                              axis="UMAP" if config.layout == "umap" else "spectral"),
                 key="udemd-embedding", container=left)
    ui.chart(lambda: figs.accuracy_chart(records, title=f"{config.knn_k}-NN accuracy (labels)"),
             key="udemd-accuracy", container=right)
    if ps.has_areas(records):
        ui.chart(lambda: figs.accuracy_chart(records, coarse=True, title=f"{config.knn_k}-NN accuracy (4 areas)"),
                 key="udemd-area-accuracy", container=right)
    norms, scales = figs.last_artifact(records, "block_norms"), figs.last_artifact(records, "scales")
    if norms is not None:
        ui.chart(lambda: figs.block_norm_chart(scales, norms), key="udemd-block-norms", container=right)


with tab_a:
    st.markdown(ps.patients_text(cfg))
    ui.live("udemd", cfg, draw_embedding)
    st.caption("How to read this: a disease area is one hue, its mild patients light and its severe ones dark. Only "
               "UDEMD keeps both the area and the severity (split within an area); balanced DEMD normalises mass "
               "away and merges severities; L1 on counts ignores the tree. Toggle *show balanced DEMD* to lay out "
               "balanced DEMD instead.")
    show_graph(cfg, "graph_a")

with tab_b:
    k_b = st.select_slider("Largest diffusion scale K for the genes (2^K steps)", options=list(range(3, 13)),
                           value=ps.PBMC_MAX_SCALE, key="pbmc.k")
    cfg_b = ps.tab_config(cfg, "pbmc", max_scale=k_b)
    st.markdown("765 genes are signals on the 700-cell kNN graph of scanpy's bundled `pbmc68k_reduced` "
                "(log-normalised `.raw.X`). Colour: each gene's preferred cell type; ringed: top-5 marker genes.")
    ui.live("udemd", cfg_b, partial(draw_embedding, ringed=True), key="pbmc", start_label="Start PBMC")
    st.caption(ps.pbmc_text(cfg_b))
    show_graph(cfg_b, "graph_b")

with tab_c:
    cfg_c = ps.tab_config(cfg, "geometric")

    def draw_exact(records, config):
        skipped = figs.last_artifact(records, "exact_skipped")
        if skipped:
            st.info(f"No exact comparison: {skipped}.")
        ex = figs.last_artifact(records, "exact")
        if ex is not None:
            left, right = st.columns(2)
            ui.chart(lambda: figs.exact_scatter(ex, figs.last_artifact(records, "approx"), label="balanced DEMD"),
                     key="udemd-exact-balanced", container=left)
            ui.chart(lambda: figs.exact_scatter(figs.last_artifact(records, "exact_unbalanced"),
                                                figs.last_artifact(records, "approx_unbalanced"), label="UDEMD",
                                                exact_label="exact unbalanced EMD"),
                     key="udemd-exact-unbalanced", container=right)
        st.caption("Exact: POT's network simplex on hop-distance costs, for the mass-normalised signals (left); for "
                   "the signals as they are, the dummy-node LP that creates or destroys mass at λ = the hop diameter "
                   "(right). Both on the same random pairs. The kNN check is weak here: a bump signal's label is only "
                   "the quadrant of the first of its 1-3 bumps and its mass is random, and the raw-vector baselines "
                   "can match or beat UDEMD on it (docs/papers/udemd.md §6).")

    ui.live("udemd", cfg_c, draw_exact, key="exact")

    @st.cache_data(show_spinner="Timing UDEMD and exact EMD (a few seconds)…")
    def timing(c):
        return xp.timing_vs_signals(xp.make_dataset(c), [25, 50, 100, 200], max_scale=c.max_scale or 10)

    if st.button("Time UDEMD against exact EMD"):
        ui.chart(lambda: figs.timing_chart(timing(cfg_c)), key="udemd-timing")
        st.caption("Dashed: exact EMD timed on 20 pairs and scaled to m(m−1)/2 pairs. UDEMD is timed end to end.")

with tab_d:
    st.markdown("Upload a graph and signals on it. Files stay in your browser session (memory only) and are checked "
                "in a separate process with memory and time limits, before any work. Example files to try:")
    for col, (label, fname, blob, mime) in zip(st.columns(5), uio.example_files()):
        col.download_button(label, blob, fname, mime, key=f"example.{fname}", on_click="ignore", width="stretch")
    kind = st.radio("Graph", ["edge-list CSV + signals CSV", "adjacency .npz + signals CSV", "AnnData .h5ad"],
                    horizontal=True)
    lcc = st.checkbox("Keep the largest connected component only (reports the dropped mass)")
    graph, sig = None, None
    # checked with the run's settings in the checker process, so uio.prepare below returns its result at no cost
    opts = uio.PrepareOptions(largest_component_only=lcc, balanced=cfg.balanced, n_scales=cfg.n_scales,
                              max_scale=cfg.max_scale or 12)
    if kind == "AnnData .h5ad":
        up = ui.upload("AnnData (cells × genes)", partial(uio.parse_h5ad, options=opts), types=["h5ad"], max_mb=200,
                       key="up.h5ad", sandbox=uio.SANDBOX)
        graph, sig = (up.value if up else (None, None))
    else:
        if kind.startswith("edge"):
            up = ui.upload("Edge list (src,dst[,weight]; .csv or .csv.gz)", uio.parse_edge_list, types=["csv", "gz"],
                           max_mb=200, key="up.e", sandbox=uio.SANDBOX)
        else:
            nodes = st.file_uploader("nodes.csv (optional, one id per row)", type=["csv"], key="up.nodes")
            if nodes is not None and nodes.size > 8 * 2**20:
                st.error("nodes.csv is over 8 MiB; expected one id of at most 256 characters per node.")
                nodes = None
            up = ui.upload("Adjacency (.npz)", partial(uio.parse_adjacency_npz, nodes_csv=nodes and nodes.getvalue()),
                           types=["npz"], max_mb=200, key="up.npz", sandbox=uio.SANDBOX)
        graph = up.value if up else None
        if graph is not None:
            s_up = ui.upload("Signals CSV (wide: id[,label],nodes… or long: signal_id,node_id,value; .csv or .csv.gz)",
                             partial(uio.parse_signals_for, graph=graph, options=opts), types=["csv", "gz"],
                             max_mb=200, key="up.s", sandbox=uio.SANDBOX)
            sig = s_up.value if s_up else None
    if graph is not None and sig is not None:
        try:
            data = uio.prepare(graph, sig, largest_component_only=lcc, balanced=cfg.balanced,
                               n_scales=cfg.n_scales, max_scale=cfg.max_scale or 12)
        except uio.UploadError as exc:
            st.error(f"Not accepted: {markdown_safe(exc)}")  # ids come from the file: never render them as markdown
            st.stop()
        st.success(f"Accepted: {len(data.node_ids)} nodes, {len(data.signal_ids)} signals.")
        for line in data.report:
            st.markdown(f"- {markdown_safe(line)}")
        labels = np.array(data.labels if data.labels else ["unlabelled"] * len(data.signal_ids))
        gs = GraphSignals("upload", data.adjacency, data.signals, labels, data.node_ids, data.signal_ids)
        cfg_d = ps.upload_config(cfg, gs)
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
