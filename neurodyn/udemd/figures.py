"""Figures for the UDEMD page (arXiv:2107.12334): embedding scatter, kNN accuracy bars, exact-vs-UDEMD scatter,
timing against the number of signals, per-scale block norms, and a pyvis view of the graph.

Pure altair builders from the records of the ``udemd`` experiment or from arrays; nothing here imports streamlit.
Every chart is legible from the back of a room (:data:`FONT` px text in :data:`INK`) and takes its container's width
(``docs/papers/udemd.md §5``).
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd
import scipy.sparse as sp

from neurodyn.udemd.experiment import METHOD_LABELS, METHODS, acc_metric, is_pending
from neurodyn.viz.theme import PALETTE

__all__ = [
    "METHOD_LABELS",
    "FONT",
    "INK",
    "TABLEAU10",
    "TABLEAU20",
    "categorical_colors",
    "last_artifact",
    "embedding_chart",
    "accuracy_chart",
    "exact_scatter",
    "timing_chart",
    "block_norm_chart",
    "graph_html",
]

FONT = 13  # px of axis, legend and mark text; titles 2 px larger
INK = "#1a1a1a"  # text dark enough to read when projected
# Categorical palettes with 10 and 20 distinct colours (Tableau's; the 20 come in dark/light pairs of one hue)
TABLEAU10 = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
             "#bab0ac"]
TABLEAU20 = ["#4e79a7", "#a0cbe8", "#f28e2b", "#ffbe7d", "#59a14f", "#8cd17d", "#b6992d", "#f1ce63", "#499894",
             "#86bcb6", "#e15759", "#ff9d9a", "#79706e", "#bab0ac", "#d37295", "#fabfd2", "#b07aa1", "#d4a6c8",
             "#9d7660", "#d7b5a6"]


def _data(df: pd.DataFrame) -> alt.Data:
    return alt.Data(values=df.to_dict(orient="records"))


def _legible(chart: Any) -> Any:
    """Large dark text on axes, legends and titles (a top-level chart: it cannot be layered afterwards)."""
    return (chart.configure_axis(labelFontSize=FONT, titleFontSize=FONT, labelColor=INK, titleColor=INK)
            .configure_legend(labelFontSize=FONT, titleFontSize=FONT, labelColor=INK, titleColor=INK, labelLimit=0)
            .configure_title(fontSize=FONT + 2, color=INK, anchor="start"))


def categorical_colors(n: int, *, paired: bool = False) -> list[str]:
    """``n`` distinct categorical colours: the shared colour-blind-safe palette up to 8, Tableau 10 up to 10,
    Tableau 20 up to 20; ``paired`` gives Tableau 20's dark/light pairs (two groups per hue).

    Parameters
    ----------
    n : int
        Number of groups, at most 20.
    paired : bool, default False

    Returns
    -------
    list of str
        ``n`` hex colours, all different.
    """
    if n > len(TABLEAU20):
        raise ValueError(f"at most {len(TABLEAU20)} distinct colours, got {n} groups")
    if paired:
        return TABLEAU20[:n]
    for palette in (PALETTE, TABLEAU10, TABLEAU20):
        if n <= len(palette):
            return list(palette[:n])
    raise AssertionError("unreachable")


def last_artifact(records: Sequence[Any], key: str, default: Any = None) -> Any:
    """The most recent value of artifact ``key`` among the records (or ``default``).

    Parameters
    ----------
    records : sequence of Record
    key : str
    default : any

    Returns
    -------
    The artifact, or ``default``.
    """
    for r in reversed(list(records)):
        if key in r.artifacts:
            return r.artifacts[key]
    return default


def embedding_chart(
    xy: np.ndarray, labels: Sequence[str], *, names: Sequence[str] | None = None, ringed: Sequence[bool] | None = None,
    title: str = "", height: int = 440, paired: bool = False, axis: str = "UMAP",
) -> Any:
    """2-D scatter of an embedding coloured by group; ``ringed`` points get a dark ring and a name (marker genes).

    Up to 20 groups get distinct colours (:func:`categorical_colors`); more groups share the last colours.

    Parameters
    ----------
    xy : ndarray of shape (m, 2)
        The layout.
    labels : sequence of str, length m
        Group of each point.
    names : sequence of str, length m, optional
        Hover names.
    ringed : sequence of bool, length m, optional
    title : str
    height : int, default 440
    paired : bool, default False
        Colour sorted groups in dark/light pairs of one hue (e.g. a disease area's two severities).
    axis : str, default "UMAP"
        Name of the layout's axes ("UMAP", "spectral").

    Returns
    -------
    altair chart
    """
    xy = np.asarray(xy, dtype=float)
    df = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "group": [str(v) for v in labels],
                       "name": [str(v) for v in (names if names is not None else range(len(xy)))]})
    df["ringed"] = np.asarray(ringed, dtype=bool) if ringed is not None else False
    groups = sorted(df["group"].unique())
    colors = categorical_colors(min(len(groups), len(TABLEAU20)), paired=paired)
    scale = alt.Scale(domain=groups, range=colors + [colors[-1]] * (len(groups) - len(colors)))
    position = {"x": alt.X("x:Q", title=f"{axis} 1", axis=alt.Axis(labels=False, ticks=False)),
                "y": alt.Y("y:Q", title=f"{axis} 2", axis=alt.Axis(labels=False, ticks=False)),
                "tooltip": ["name:N", "group:N"]}
    legend = alt.Legend(orient="bottom", columns=2, symbolSize=120, title=None)
    pts = alt.Chart(_data(df)).encode(**position).mark_circle(size=40, opacity=0.85).encode(
        color=alt.Color("group:N", scale=scale, legend=legend))
    chart: Any = pts
    ringed = df[df["ringed"]]
    if not ringed.empty:  # rings and names hold their own rows; a layer with none would make Vega warn
        marked = alt.Chart(_data(ringed)).encode(**position)
        rings = marked.mark_point(size=150, filled=False, strokeWidth=2, color=INK)
        labels_ = marked.mark_text(dx=8, dy=-8, fontSize=FONT - 1, align="left", color=INK).encode(text="name:N")
        chart = alt.layer(pts, rings, labels_)
    return _legible(chart.properties(title=title, height=height, width="container"))


def accuracy_chart(records: Sequence[Any], *, coarse: bool = False, title: str = "", height: int = 200) -> Any:
    """Bars of the leave-one-out kNN accuracy per method from the latest record; a method whose stage has not run
    yet shows "pending", never a 0.

    Parameters
    ----------
    records : sequence of Record
    coarse : bool, default False
        The disease-area accuracies (``coarse_acc_*``) instead of the label accuracies (``acc_*``).
    title : str
    height : int, default 200

    Returns
    -------
    altair chart
    """
    m = records[-1].metrics if records else {}
    rows = []
    for k in METHODS:
        name = acc_metric(k, coarse)
        pending = not m or is_pending(m, name)
        acc = 0.0 if pending else float(m[name])  # a pending value is never drawn as a bar or a number
        rows.append({"method": METHOD_LABELS[k], "accuracy": acc, "text": "pending" if pending else f"{acc:.2f}",
                     "pending": pending, "inside": not pending and acc >= 0.2})
    df = pd.DataFrame(rows)
    order = [METHOD_LABELS[k] for k in METHODS]
    def rows(mask: pd.Series) -> alt.Chart:  # each layer holds its own rows
        return alt.Chart(_data(df[mask])).encode(y=alt.Y("method:N", sort=order, title=None),
                                                 tooltip=["method:N", alt.Tooltip("text:N", title="accuracy")])

    x = alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="kNN accuracy")
    drawn, inside = ~df["pending"], ~df["pending"] & df["inside"]
    layers = []  # only layers that have rows: a layer with none makes Vega warn "Infinite extent"
    if drawn.any():
        layers.append(rows(drawn).mark_bar().encode(
            x=x, color=alt.Color("method:N", scale=alt.Scale(domain=order, range=PALETTE[: len(order)]),
                                 legend=None)))
    if inside.any():  # the value inside its bar
        layers.append(rows(inside).mark_text(align="right", dx=-4, fontSize=FONT, fontWeight="bold", color=INK)
                      .encode(x=x, text="text:N"))
    if (~inside).any():  # "pending" at 0, or a short bar's value after its end
        layers.append(rows(~inside).transform_calculate(at="datum.pending ? 0 : datum.accuracy").mark_text(
            align="left", dx=4, fontSize=FONT, color=INK).encode(
            x=alt.X("at:Q", scale=alt.Scale(domain=[0, 1]), title="kNN accuracy"), text="text:N"))
    return _legible(alt.layer(*layers).properties(title=title, height=height, width="container"))


def exact_scatter(exact: np.ndarray, approx: np.ndarray, *, label: str = "UDEMD", exact_label: str = "exact EMD",
                  height: int = 320) -> Any:
    """Exact EMD (x) against the embedding's L1 distance (y) for the same pairs, titled with Spearman and Pearson.

    Parameters
    ----------
    exact, approx : ndarray of shape (P,)
        Exact distances and the embedding's L1 distances of P pairs.
    label : str
        The embedding's method.
    exact_label : str
        The exact method's name (axis title).
    height : int, default 320

    Returns
    -------
    altair chart
    """
    from scipy.stats import pearsonr, spearmanr

    ex, ap = np.asarray(exact, float), np.asarray(approx, float)
    title = f"{label} against {exact_label} ({len(ex)} pairs)"
    if len(ex) >= 3 and np.ptp(ex) > 0 and np.ptp(ap) > 0:
        title += f": Spearman {spearmanr(ex, ap)[0]:.3f}, Pearson {pearsonr(ex, ap)[0]:.3f}"
    df = pd.DataFrame({"exact": ex, "approx": ap})
    chart = alt.Chart(_data(df)).mark_circle(size=40, opacity=0.75, color=PALETTE[4]).encode(
        x=alt.X("exact:Q", title=f"{exact_label} (POT)", scale=alt.Scale(zero=False)),
        y=alt.Y("approx:Q", title=f"{label} (L1 of embeddings)", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("exact:Q", format=".3f"), alt.Tooltip("approx:Q", format=".3f")],
    )
    return _legible(chart.properties(title=title, height=height, width="container"))


def timing_chart(rows: Sequence[dict], *, height: int = 320) -> Any:
    """Log-log wall time against the number of signals, one line per method; extrapolated lines are dashed.

    The legend shows each method as a line sample in its colour and dash (measured solid, extrapolated dashed).

    Parameters
    ----------
    rows : sequence of dict
        Keys ``method``, ``n_signals``, ``seconds`` and optional ``extrapolated`` (bool).
    height : int, default 320

    Returns
    -------
    altair chart
    """
    df = pd.DataFrame(list(rows))
    if "extrapolated" not in df:
        df["extrapolated"] = False
    methods = list(dict.fromkeys(df["method"]))
    dashed = {m: bool(df.loc[df["method"] == m, "extrapolated"].any()) for m in methods}
    legend = alt.Legend(title=None, orient="bottom", direction="vertical", symbolType="stroke", symbolStrokeWidth=3,
                        symbolSize=500)
    color = alt.Color("method:N", scale=alt.Scale(domain=methods, range=categorical_colors(len(methods))),
                      legend=legend)
    dash = alt.StrokeDash("method:N", scale=alt.Scale(domain=methods, range=[[6, 4] if dashed[m] else [1, 0]
                                                                             for m in methods]), legend=legend)
    base = alt.Chart(_data(df)).encode(
        x=alt.X("n_signals:Q", scale=alt.Scale(type="log", nice=False, padding=12), title="number of signals m"),
        y=alt.Y("seconds:Q", scale=alt.Scale(type="log"), title="seconds for all pairs"),
        color=color,
        tooltip=["method:N", "n_signals:Q", alt.Tooltip("seconds:Q", format=".3g"), "extrapolated:N"],
    )
    lines = base.mark_line(strokeWidth=3).encode(strokeDash=dash)
    points = base.mark_point(filled=True, size=60)
    return _legible(alt.layer(lines, points).properties(height=height, width="container",
                                                         title="All-pairs distance time against the number of signals"))


def block_norm_chart(scales: Sequence[float], norms: Sequence[float], *, height: int = 220) -> Any:
    """Mean L1 norm of each embedding block: bands (U_i − U_{i+1}) and the low-pass block that prices mass.

    Parameters
    ----------
    scales : sequence of float, length S
        Retained diffusion times 2^k.
    norms : sequence of float, length S
        Mean L1 norm per block, finest band first, low-pass last.
    height : int, default 220

    Returns
    -------
    altair chart
    """
    sc = [int(s) for s in scales]
    names = [f"band t={sc[i]}→{sc[i + 1]}" for i in range(len(sc) - 1)] + [f"low-pass t={sc[-1]}"]
    df = pd.DataFrame({"block": names, "l1": [float(v) for v in norms],
                       "kind": ["band (moving mass)"] * (len(sc) - 1) + ["low-pass (mass difference)"]})
    chart = alt.Chart(_data(df)).mark_bar().encode(
        y=alt.Y("block:N", sort=names, title=None),
        x=alt.X("l1:Q", title="mean L1 norm per signal"),
        color=alt.Color("kind:N", scale=alt.Scale(range=[PALETTE[1], PALETTE[5]]),
                        legend=alt.Legend(title=None, orient="bottom", direction="vertical")),
        tooltip=["block:N", alt.Tooltip("l1:Q", format=".4g")],
    )
    return _legible(chart.properties(height=height, width="container", title="Where the embedding's L1 norm sits"))


def graph_html(adjacency: sp.spmatrix, node_names: Sequence[str], *, node_values: np.ndarray | None = None,
               max_nodes: int = 300, height: int = 420, seed: int = 0) -> tuple[str, int]:
    """Self-contained pyvis HTML of the graph (vis-network inlined, no CDN tag); subsampled above ``max_nodes``.

    Parameters
    ----------
    adjacency : scipy sparse matrix of shape (N, N)
    node_names : sequence of str, length N
    node_values : ndarray of shape (N,), optional
        Colours nodes by a signal (e.g. the mean mass).
    max_nodes : int, default 300
    height : int, default 420
    seed : int, default 0

    Returns
    -------
    html : str
    n_drawn : int
        Nodes drawn.
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
