"""Figures for the UDEMD page (arXiv:2107.12334): embedding scatter, kNN accuracy bars, exact-vs-UDEMD scatter,
timing against the number of signals, per-scale block norms, and a pyvis view of the graph.

Pure altair builders from the records of the ``udemd`` experiment or from arrays; nothing here imports streamlit.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd
import scipy.sparse as sp

from neurodyn.viz.theme import PALETTE

__all__ = [
    "METHOD_LABELS",
    "last_artifact",
    "embedding_chart",
    "accuracy_chart",
    "exact_scatter",
    "timing_chart",
    "block_norm_chart",
    "graph_html",
]

METHOD_LABELS = {"udemd": "UDEMD", "balanced": "balanced DEMD", "l1": "L1 on signals", "cosine": "cosine"}


def _data(df: pd.DataFrame) -> alt.Data:
    return alt.Data(values=df.to_dict(orient="records"))


def last_artifact(records: Sequence[Any], key: str, default: Any = None) -> Any:
    """The most recent value of artifact ``key`` among the records (or ``default``)."""
    for r in reversed(list(records)):
        if key in r.artifacts:
            return r.artifacts[key]
    return default


def embedding_chart(
    xy: np.ndarray, labels: Sequence[str], *, names: Sequence[str] | None = None, ringed: Sequence[bool] | None = None,
    title: str = "", height: int = 420, max_legend: int = 12,
) -> alt.LayerChart | alt.Chart:
    """2-D scatter of an embedding coloured by group; ``ringed`` points get a dark ring (e.g. marker genes).

    Parameters
    ----------
    xy : (m, 2) layout; labels : (m,) group names; names : (m,) hover names; ringed : (m,) bool.
    """
    xy = np.asarray(xy, dtype=float)
    df = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "group": [str(v) for v in labels],
                       "name": [str(v) for v in (names if names is not None else range(len(xy)))]})
    df["ringed"] = np.asarray(ringed, dtype=bool) if ringed is not None else False
    groups = sorted(df["group"].unique())
    scale = alt.Scale(domain=groups, range=PALETTE * (len(groups) // len(PALETTE) + 1)) if len(groups) <= max_legend \
        else alt.Scale(scheme="tableau20")
    base = alt.Chart(_data(df)).encode(
        x=alt.X("x:Q", title="UMAP 1", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("y:Q", title="UMAP 2", axis=alt.Axis(labels=False, ticks=False)),
        tooltip=["name:N", "group:N"],
    )
    pts = base.mark_circle(size=36, opacity=0.8).encode(color=alt.Color("group:N", scale=scale, title="group"))
    chart: Any = pts
    if df["ringed"].any():
        rings = base.transform_filter("datum.ringed").mark_point(size=140, filled=False, strokeWidth=2,
                                                                 color="#222222").encode(
            tooltip=["name:N", "group:N"])
        labels_ = base.transform_filter("datum.ringed").mark_text(dx=8, dy=-8, fontSize=10, align="left").encode(
            text="name:N")
        chart = alt.layer(pts, rings, labels_)
    return chart.properties(title=title, height=height)


def accuracy_chart(records: Sequence[Any], *, coarse: bool = False, title: str = "", height: int = 220) -> alt.Chart:
    """Bars of the leave-one-out kNN accuracy per method from the latest record (acc_* or coarse_acc_*)."""
    if not records:
        return alt.Chart(_data(pd.DataFrame({"method": [], "accuracy": []}))).mark_bar()
    m = records[-1].metrics
    prefix = "coarse_acc_" if coarse else "acc_"
    rows = [{"method": METHOD_LABELS.get(k[len(prefix):], k[len(prefix):]), "accuracy": float(v)}
            for k, v in m.items() if k.startswith(prefix)]
    df = pd.DataFrame(rows)
    order = [METHOD_LABELS[k] for k in METHOD_LABELS]
    bars = alt.Chart(_data(df)).mark_bar().encode(
        x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="kNN accuracy"),
        y=alt.Y("method:N", sort=order, title=None),
        color=alt.Color("method:N", scale=alt.Scale(domain=order, range=PALETTE[: len(order)]), legend=None),
        tooltip=["method:N", alt.Tooltip("accuracy:Q", format=".3f")],
    )
    text = bars.mark_text(align="left", dx=3).encode(text=alt.Text("accuracy:Q", format=".2f"), color=alt.value("#555"))
    return (bars + text).properties(title=title, height=height)


def exact_scatter(exact: np.ndarray, approx: np.ndarray, *, label: str = "UDEMD", height: int = 320) -> alt.Chart:
    """Exact EMD (x) against the embedding's L1 distance (y), titled with Spearman and Pearson."""
    from scipy.stats import pearsonr, spearmanr

    ex, ap = np.asarray(exact, float), np.asarray(approx, float)
    title = f"{label} against exact EMD ({len(ex)} pairs)"
    if len(ex) >= 3 and np.ptp(ex) > 0 and np.ptp(ap) > 0:
        title += f": Spearman {spearmanr(ex, ap)[0]:.3f}, Pearson {pearsonr(ex, ap)[0]:.3f}"
    df = pd.DataFrame({"exact": ex, "approx": ap})
    return alt.Chart(_data(df)).mark_circle(size=30, opacity=0.7, color=PALETTE[4]).encode(
        x=alt.X("exact:Q", title="exact EMD (POT)"),
        y=alt.Y("approx:Q", title=f"{label} (L1 of embeddings)"),
        tooltip=[alt.Tooltip("exact:Q", format=".3f"), alt.Tooltip("approx:Q", format=".3f")],
    ).properties(title=title, height=height)


def timing_chart(rows: Sequence[dict], *, height: int = 300) -> alt.Chart:
    """Log-log wall time against the number of signals, one line per method.

    rows : dicts with keys ``method``, ``n_signals``, ``seconds`` and optional ``extrapolated`` (bool).
    """
    df = pd.DataFrame(list(rows))
    if "extrapolated" not in df:
        df["extrapolated"] = False
    return alt.Chart(_data(df)).mark_line(point=True).encode(
        x=alt.X("n_signals:Q", scale=alt.Scale(type="log"), title="number of signals m"),
        y=alt.Y("seconds:Q", scale=alt.Scale(type="log"), title="seconds for all pairs"),
        color=alt.Color("method:N", title=None),
        strokeDash=alt.StrokeDash("extrapolated:N", title="extrapolated"),
        tooltip=["method:N", "n_signals:Q", alt.Tooltip("seconds:Q", format=".3g"), "extrapolated:N"],
    ).properties(height=height, title="All-pairs distance time against the number of signals")


def block_norm_chart(scales: Sequence[float], norms: Sequence[float], *, height: int = 200) -> alt.Chart:
    """Mean L1 norm of each embedding block: bands (U_i - U_{i+1}) and the low-pass block that prices mass."""
    sc = [int(s) for s in scales]
    names = [f"band t={sc[i]}→{sc[i + 1]}" for i in range(len(sc) - 1)] + [f"low-pass t={sc[-1]}"]
    df = pd.DataFrame({"block": names, "l1": [float(v) for v in norms],
                       "kind": ["band"] * (len(sc) - 1) + ["low-pass (mass)"]})
    return alt.Chart(_data(df)).mark_bar().encode(
        x=alt.X("block:N", sort=names, title=None),
        y=alt.Y("l1:Q", title="mean L1 per signal"),
        color=alt.Color("kind:N", scale=alt.Scale(range=[PALETTE[1], PALETTE[5]]), title=None),
        tooltip=["block:N", alt.Tooltip("l1:Q", format=".4g")],
    ).properties(height=height, title="Where the embedding's L1 mass sits")


def graph_html(adjacency: sp.spmatrix, node_names: Sequence[str], *, node_values: np.ndarray | None = None,
               max_nodes: int = 300, height: int = 420, seed: int = 0) -> tuple[str, int]:
    """Self-contained pyvis HTML of the graph (vis-network inlined, no CDN tag); subsampled above ``max_nodes``.

    ``node_values`` (N,) colours nodes by a signal (e.g. the mean mass). Returns the HTML and the number of
    nodes drawn.
    """
    import networkx as nx

    from neurodyn.viz.graph import graph_html as _graph_html
    from neurodyn.viz.graph import strip_cdn

    a = sp.coo_matrix(adjacency)
    g = nx.Graph()
    names = [str(v) for v in node_names]
    g.add_nodes_from(names)
    g.add_weighted_edges_from((names[i], names[j], float(w)) for i, j, w in zip(a.row, a.col, a.data) if i < j)
    colors = None
    titles = None
    if node_values is not None:
        v = np.asarray(node_values, float)
        z = (v - v.min()) / (np.ptp(v) + 1e-12)
        ramp = ["#deebf7", "#9ecae1", "#4292c6", "#08519c", "#08306b"]
        colors = {names[i]: ramp[min(4, int(z[i] * 5))] for i in range(len(names))}
        titles = {names[i]: f"{names[i]}: {v[i]:.3g}" for i in range(len(names))}
    html, n = _graph_html(g, height=height, node_color=colors, node_title=titles, max_nodes=max_nodes, seed=seed)
    html = re.sub(r'<script[^>]*src="[^"]*node_modules[^"]*"[^>]*>\s*</script>', "", strip_cdn(html))  # dead path
    return html, n
