"""Altair figures of the compositional-attention experiment (arXiv:2110.09419, ``docs/papers/attention.md §4``).

Pure chart builders from the records and artifacts of :mod:`neurodyn.attention.experiment`; no streamlit. Every
axis and legend label is at least :data:`FONT` px in a dark grey (legible when projected), and the wide figures
take their container's width.

- :func:`value_score_chart`: figure 1, value scores c_ij per token above the GT task one-hot (rows top-down).
- :func:`confusion_chart`: figure 2, argmax_j c_ij against t_g: one block per (model search i, GT search g).
- :func:`search_maps_chart`: figure 3, search maps A_i with the GT neighbours j_{n,g} marked.
- :func:`mha_maps_chart`: figure 4, MHA head maps A_h and the fixed head -> value wiring.
- :func:`loss_chart`: train/eval L1 of both models against the zero-predictor line (0.764).
- :func:`specialisation_chart`: value-score sharpness, selection accuracy and search alignment over training.
- :func:`seed_chart`: both models' final held-out L1 over the seeds of a multi-seed measurement.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.attention.experiment import LOSS_SERIES, METRICS, SPECIALISATION_SERIES
from neurodyn.viz.theme import latest_artifacts, record_parts

__all__ = [
    "latest_artifacts",
    "metrics_frame",
    "task_chart",
    "FONT",
    "GREYS",
    "value_score_chart",
    "confusion_chart",
    "search_maps_chart",
    "mha_wiring_chart",
    "mha_maps_chart",
    "loss_chart",
    "specialisation_chart",
    "seed_chart",
]

#: Value 0 is drawn white and 1 black (``page_support.HIGH_SHADE`` says so in words).
GREYS = alt.Scale(domain=[0, 1], scheme="greys")
MODEL_COLORS = alt.Scale(domain=["Comp", "MHA"], range=["#d62728", "#1f77b4"])
#: Smallest font (px) of any axis, legend or in-chart label; text colour dark enough to project.
FONT = 13
INK = "#222222"
_LABELS = {m.name: m.label for m in METRICS}


def _axis(title: str | None = None, **kwargs: Any) -> alt.Axis:
    """An axis with legible labels and title (``FONT`` px, dark ink)."""
    return alt.Axis(title=title, labelFontSize=FONT, titleFontSize=FONT, labelColor=INK, titleColor=INK, **kwargs)


def _legend(title: str | None = None, **kwargs: Any) -> alt.Legend:
    """A legend with legible labels and title."""
    return alt.Legend(title=title, labelFontSize=FONT, titleFontSize=FONT, labelColor=INK, titleColor=INK,
                      labelLimit=0, **kwargs)


def _title(text: str) -> alt.TitleParams:
    return alt.TitleParams(text, fontSize=FONT + 2, color=INK, anchor="start")


def metrics_frame(records: Iterable[Any]) -> pd.DataFrame:
    """One row per record: ``step`` and every metric (accepts Records or their JSON dicts)."""
    rows = []
    for rec in records:
        step, metrics, _ = record_parts(rec)
        rows.append({"step": step, **{k: float(v) for k, v in metrics.items()}})
    return pd.DataFrame(rows)


def value_score_chart(
    value_scores: np.ndarray, n_searches: int, n_retrievals: int, n_search_gt: int, n_retrieval_gt: int,
    *, title: str = "Value scores c_ij per token (top) and ground-truth task one-hot (bottom)",
) -> alt.Chart:
    """Figure 1: rows "Search i / Value j" (c_ij), then "GT search g / task t", tokens as columns, greys in [0, 1].

    Parameters
    ----------
    value_scores : ndarray, shape (S*R + s_gt*r_gt, N)
        The ``value_scores`` artifact (rows i-major, then g-major).
    """
    vs = np.asarray(value_scores, dtype=float)
    S, R, s, r = n_searches, n_retrievals, n_search_gt, n_retrieval_gt
    if vs.shape[0] != S * R + s * r:
        raise ValueError(f"value_scores has {vs.shape[0]} rows, expected S*R + s_gt*r_gt = {S * R + s * r}")
    labels = [f"Search {i + 1} / Value {j + 1}" for i in range(S) for j in range(R)]
    labels += [f"GT search {g + 1} / task {t + 1}" for g in range(s) for t in range(r)]
    df = pd.DataFrame([
        {"row": labels[k], "token": n, "value": vs[k, n], "kind": "model" if k < S * R else "ground truth"}
        for k in range(vs.shape[0]) for n in range(vs.shape[1])
    ])
    return (
        alt.Chart(df, title=_title(title))
        .mark_rect(stroke="#bbb", strokeWidth=0.3)
        .encode(
            x=alt.X("token:O", axis=_axis("token n", labelAngle=0)),
            # labelled top-down (the reference's save() labels them bottom-up, attention.md §5); every row keeps
            # its label
            y=alt.Y("row:N", sort=labels, axis=_axis(None, labelOverlap=False, labelLimit=0)),
            color=alt.Color("value:Q", scale=GREYS, legend=_legend("c / one-hot (black = 1)")),
            tooltip=["row", "token", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(height=24 * len(labels), width="container")  # a number, not alt.Step: see ui.charts
    )


def task_chart(ground_truth: np.ndarray, n_search_gt: int, n_retrieval_gt: int, *,
               title: str = "Held-out sample 0 before training: the true task of every token") -> alt.Chart:
    """The ground-truth rows of Figure 1 alone (shown before a run starts; the run adds the model's rows on top).

    Parameters
    ----------
    ground_truth : ndarray, shape (s_gt * r_gt, N)
        One-hot rows "GT search g / task t" (``task_preview(config)["ground_truth"]``).
    """
    return value_score_chart(ground_truth, 0, 0, n_search_gt, n_retrieval_gt, title=title)


def confusion_chart(
    confusion: np.ndarray, *, title: str = "Which value each search picks, per true task"
) -> alt.LayerChart:
    """Figure 2: argmax_j c_ij against t_g over the held-out batch, as one matrix of S x s_gt blocks.

    Rows are "Search i / Value j" (the value search i picked), columns "GT search g / task t" (the token's true
    task for GT search g). A cell's shade is the share of the column's tokens (those with task t for GT search g)
    on which search i picked value j, so every column of a block sums to 1 and a specialised search shows one black
    cell per column. The count is in the tooltip.

    Parameters
    ----------
    confusion : ndarray, shape (S, s_gt, R, r_gt)

    Returns
    -------
    altair.LayerChart
    """
    conf = np.asarray(confusion)
    S, s, R, r = conf.shape
    rows = [f"Search {i + 1} / Value {j + 1}" for i in range(S) for j in range(R)]
    cols = [f"GT search {g + 1} / task {t + 1}" for g in range(s) for t in range(r)]
    df = pd.DataFrame([
        {"picked": rows[i * R + j], "truth": cols[g * r + t], "count": int(conf[i, g, j, t]),
         "share": float(conf[i, g, j, t] / max(conf[i, g, :, t].sum(), 1))}
        for i in range(S) for g in range(s) for j in range(R) for t in range(r)
    ])
    y_title = "value picked"
    # the y title runs along the axis: the plot is at least as tall as the title (0.6 em per character), so a
    # one-search, one-value block does not cut it off
    height = max(30 * len(rows), math.ceil(0.6 * FONT * len(y_title)) + 12)
    base = alt.Chart(df).encode(
        x=alt.X("truth:N", sort=cols, axis=_axis("true task of the token", labelAngle=0,
                                                 labelExpr="split(datum.label, ' / ')", labelLimit=0)),
        y=alt.Y("picked:N", sort=rows, axis=_axis(y_title, labelLimit=0)),
    )
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("share:Q", scale=GREYS, legend=_legend("share of the column's tokens")),
        tooltip=["picked", "truth", "count", alt.Tooltip("share:Q", format=".3f")])
    text = base.mark_text(fontSize=FONT).encode(
        text=alt.Text("share:Q", format=".2f"),
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("black")))
    return alt.layer(rect, text).properties(title=_title(title), width="container", height=height)


def _map_panel(attn: np.ndarray, neighbours: np.ndarray | None, title: str) -> alt.LayerChart | alt.Chart:
    N = attn.shape[0]
    df = pd.DataFrame([{"query n": n, "key m": m, "A": float(attn[n, m])} for n in range(N) for m in range(N)])
    rect = (
        alt.Chart(df, title=_title(title))
        .mark_rect()
        .encode(x=alt.X("key m:O", axis=_axis("key m", labelAngle=0)), y=alt.Y("query n:O", axis=_axis("query n")),
                color=alt.Color("A:Q", scale=GREYS, legend=_legend("A (black = 1)")),
                tooltip=["query n", "key m", alt.Tooltip("A:Q", format=".3f")])
        .properties(width=alt.Step(24), height=alt.Step(24))
    )
    if neighbours is None:
        return rect
    nb = np.asarray(neighbours)
    marks = pd.DataFrame([{"query n": n, "key m": int(nb[g, n]), "GT search": f"GT search {g + 1}"}
                          for g in range(nb.shape[0]) for n in range(nb.shape[1])])
    points = (
        alt.Chart(marks)
        .mark_point(shape="square", filled=False, size=170, strokeWidth=2)
        .encode(x="key m:O", y="query n:O",
                color=alt.Color("GT search:N", scale=alt.Scale(scheme="category10"),
                                legend=_legend("true neighbour j_{n,g}")))
    )
    return alt.layer(rect, points)


def search_maps_chart(
    search_maps: np.ndarray, neighbours: np.ndarray | None = None, *, label: str = "Search"
) -> alt.HConcatChart:
    """Figure 3: the maps A_i (queries as rows, keys as columns) with each true neighbour j_{n,g} boxed.

    Parameters
    ----------
    search_maps : ndarray, shape (S, N, N)
    neighbours : ndarray, shape (s_gt, N), optional
    label : str
        Panel name ("Search" or "Head").
    """
    maps = np.asarray(search_maps, dtype=float)
    panels = [_map_panel(maps[i], neighbours, f"{label} {i + 1}") for i in range(maps.shape[0])]
    return alt.hconcat(*panels).resolve_scale(color="independent")


def mha_wiring_chart(n_heads: int) -> alt.Chart:
    """The fixed MHA pairing: head h always reads value h (an identity 'value score' map)."""
    df = pd.DataFrame([{"head": f"Head {h + 1}", "value": f"Value {v + 1}", "paired": float(h == v)}
                       for h in range(n_heads) for v in range(n_heads)])
    order = [f"Head {h + 1}" for h in range(n_heads)]
    return (
        alt.Chart(df, title=_title("MHA: head h is wired to value h for every token"))
        .mark_rect(stroke="#bbb", strokeWidth=0.3)
        .encode(x=alt.X("value:N", sort=[f"Value {v + 1}" for v in range(n_heads)], axis=_axis(None, labelAngle=0)),
                y=alt.Y("head:N", sort=order, axis=_axis(None)), color=alt.Color("paired:Q", scale=GREYS, legend=None))
        .properties(width=alt.Step(80), height=alt.Step(26))
    )


def mha_maps_chart(mha_maps: np.ndarray, neighbours: np.ndarray | None = None) -> alt.VConcatChart:
    """Figure 4: the MHA head maps A_h with the true neighbours marked, above the fixed head -> value wiring."""
    maps = np.asarray(mha_maps)
    return alt.vconcat(search_maps_chart(maps, neighbours, label="Head"), mha_wiring_chart(maps.shape[0]))


def loss_chart(records: Sequence[Any], zero_l1: float = 0.764, *,
               title: str = "L1 loss (lower is better)") -> alt.LayerChart:
    """Train and held-out L1 of both models over optimizer steps, with the zero-predictor rule at ``zero_l1``.

    Parameters
    ----------
    records : sequence of Record (or their JSON dicts)
    zero_l1 : float
        The zero-predictor L1 of the run's task (``page_support.zero_line``).
    title : str

    Returns
    -------
    altair.LayerChart
    """
    df = metrics_frame(records)
    if df.empty:
        long = pd.DataFrame({"step": pd.Series(dtype=float), "L1": pd.Series(dtype=float),
                             "model": pd.Series(dtype=str), "split": pd.Series(dtype=str)})
    else:
        long = df.melt(id_vars="step", value_vars=[c for c in LOSS_SERIES if c in df], var_name="series",
                       value_name="L1")
        long["model"] = long["series"].map(lambda c: LOSS_SERIES[c][0])
        long["split"] = long["series"].map(lambda c: LOSS_SERIES[c][1])
    dash = alt.Scale(domain=["held-out", "train"], range=[[1, 0], [4, 3]])
    lines = (
        alt.Chart(long, title=_title(title))
        .mark_line()
        .encode(x=alt.X("step:Q", axis=_axis("optimizer step")),
                y=alt.Y("L1:Q", axis=_axis("L1"), scale=alt.Scale(zero=True)),
                color=alt.Color("model:N", scale=MODEL_COLORS, legend=_legend("model")),
                strokeDash=alt.StrokeDash("split:N", scale=dash, legend=_legend("split")),
                tooltip=["step:Q", "model:N", "split:N", alt.Tooltip("L1:Q", format=".3f")])
    )
    rule_df = pd.DataFrame({"L1": [zero_l1], "label": [f"always predicting 0: {zero_l1:.3f}"]})
    rule = alt.Chart(rule_df).mark_rule(color="#555555", strokeDash=[6, 4]).encode(y="L1:Q")
    text = alt.Chart(rule_df).mark_text(align="left", dx=4, dy=-8, color=INK, fontSize=FONT).encode(
        y="L1:Q", x=alt.value(0), text="label:N")
    return alt.layer(lines, rule, text).properties(width="container")


def specialisation_chart(records: Sequence[Any], *, title: str = "Head specialisation (held-out batch)") -> alt.Chart:
    """Mean max_j c_ij, selection accuracy (after matching permutations) and search alignment of both models.

    Parameters
    ----------
    records : sequence of Record (or their JSON dicts)
    title : str

    Returns
    -------
    altair.Chart
    """
    df = metrics_frame(records)
    names = {k: _LABELS[k] for k in SPECIALISATION_SERIES}
    if df.empty:
        long = pd.DataFrame({"step": pd.Series(dtype=float), "value": pd.Series(dtype=float),
                             "measure": pd.Series(dtype=str)})
    else:
        long = df.melt(id_vars="step", value_vars=[c for c in names if c in df], var_name="key", value_name="value")
        long["measure"] = long["key"].map(names)
    return (
        alt.Chart(long, title=_title(title))
        .mark_line()
        .encode(x=alt.X("step:Q", axis=_axis("optimizer step")),
                y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), axis=_axis(None)),
                color=alt.Color("measure:N", sort=list(names.values()), legend=_legend(None)),
                tooltip=["step:Q", "measure:N", alt.Tooltip("value:Q", format=".3f")])
        .properties(width="container")
    )


def seed_chart(runs: Sequence[dict[str, Any]], *, seed: int | None = None,
               title: str = "Final held-out L1 over seeds (same settings)") -> alt.LayerChart:
    """Comp and MHA's final held-out L1 of every seed of a multi-seed measurement, one line per seed.

    Parameters
    ----------
    runs : sequence of dict
        ``page_support.seed_runs(config)["runs"]``: each with ``seed``, ``comp`` and ``mha``.
    seed : int, optional
        The current run's seed: its line is drawn thicker and labelled "this run".
    title : str

    Returns
    -------
    altair.LayerChart
    """
    df = pd.DataFrame([{"seed": int(r["seed"]), "model": model, "L1": float(r[key]),
                        "this run": int(r["seed"]) == seed}
                       for r in runs for model, key in (("Comp", "comp"), ("MHA", "mha"))])
    # outer padding leaves room right of the MHA points for the label, which a narrow column would otherwise cut
    position = {"x": alt.X("model:N", sort=["Comp", "MHA"], axis=_axis(None, labelAngle=0),
                           scale=alt.Scale(padding=0.8)),
                "y": alt.Y("L1:Q", scale=alt.Scale(zero=True), axis=_axis("held-out L1, final evaluations"))}
    base = alt.Chart(df).encode(**position)
    lines = base.mark_line(color="#888888").encode(
        detail="seed:N", strokeWidth=alt.condition("datum['this run']", alt.value(3), alt.value(1)))
    points = base.mark_point(filled=True, size=70).encode(
        color=alt.Color("model:N", scale=MODEL_COLORS, legend=None),
        tooltip=["seed:N", "model:N", alt.Tooltip("L1:Q", format=".3f")])
    layers = [lines, points]
    labelled = df[df["this run"] & (df["model"] == "MHA")]
    if not labelled.empty:  # the label layer holds its own rows; a layer with none would make Vega warn
        layers.append(alt.Chart(labelled).encode(**position).mark_text(
            align="left", dx=8, fontSize=FONT, color=INK).encode(text=alt.value("this run")))
    return alt.layer(*layers).properties(title=_title(title), width="container", height=260)
