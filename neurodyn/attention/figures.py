"""Altair figures of the compositional-attention experiment (arXiv:2110.09419, card 01 section 4).

Pure chart builders from the records and artifacts of :mod:`neurodyn.attention.experiment`; no streamlit.

- :func:`value_score_chart`: figure 1, value scores c_ij per token above the GT task one-hot (rows top-down).
- :func:`confusion_chart`: figure 2, argmax_j c_ij against t_g per (model search i, GT search g).
- :func:`search_maps_chart`: figure 3, search maps A_i with the GT neighbours j_{n,g} marked.
- :func:`mha_maps_chart`: figure 4, MHA head maps A_h and the fixed head -> value wiring.
- :func:`loss_chart`: train/eval L1 of both models against the zero-predictor line (0.764).
- :func:`specialisation_chart`: value-score sharpness, selection accuracy and search alignment over training.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.viz.theme import latest_artifacts, record_parts

__all__ = [
    "latest_artifacts",
    "metrics_frame",
    "value_score_chart",
    "confusion_chart",
    "search_maps_chart",
    "mha_wiring_chart",
    "mha_maps_chart",
    "loss_chart",
    "specialisation_chart",
]

GREYS = alt.Scale(domain=[0, 1], scheme="greys")
MODEL_COLORS = alt.Scale(domain=["Comp", "MHA"], range=["#d62728", "#1f77b4"])


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
        alt.Chart(df, title=title)
        .mark_rect(stroke="#bbb", strokeWidth=0.3)
        .encode(
            x=alt.X("token:O", title="token n"),
            # labelled top-down (card pitfall: reversed labels); every row keeps its label
            y=alt.Y("row:N", sort=labels, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=240)),
            color=alt.Color("value:Q", scale=GREYS, title="c / one-hot"),
            tooltip=["row", "token", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(height=alt.Step(18), width=alt.Step(26))
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


def confusion_chart(confusion: np.ndarray, *, title: str = "argmax_j c_ij against the task t_g") -> alt.FacetChart:
    """Figure 2: one R x r_gt count matrix per (model search i, GT search g), over the held-out batch.

    Parameters
    ----------
    confusion : ndarray, shape (S, s_gt, R, r_gt)
    """
    conf = np.asarray(confusion)
    S, s, R, r = conf.shape
    df = pd.DataFrame([
        {"model search": f"search {i + 1}", "GT search": f"GT search {g + 1}", "picked value": j + 1,
         "GT task": t + 1, "count": int(conf[i, g, j, t]),
         "share": float(conf[i, g, j, t] / max(conf[i, g].sum(), 1))}
        for i in range(S) for g in range(s) for j in range(R) for t in range(r)
    ])
    base = alt.Chart().encode(x=alt.X("GT task:O"), y=alt.Y("picked value:O"))
    rect = base.mark_rect().encode(color=alt.Color("share:Q", scale=GREYS, title="share"),
                                   tooltip=["model search", "GT search", "picked value", "GT task", "count"])
    text = base.mark_text(fontSize=10).encode(
        text="count:Q", color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("black")))
    return (
        alt.layer(rect, text, data=df)
        .properties(width=alt.Step(34), height=alt.Step(24))
        .facet(row=alt.Row("model search:N", title=None), column=alt.Column("GT search:N", title=None))
        .properties(title=title)
    )


def _map_panel(attn: np.ndarray, neighbours: np.ndarray | None, title: str) -> alt.LayerChart | alt.Chart:
    N = attn.shape[0]
    df = pd.DataFrame([{"query n": n, "key m": m, "A": float(attn[n, m])} for n in range(N) for m in range(N)])
    rect = (
        alt.Chart(df, title=title)
        .mark_rect()
        .encode(x=alt.X("key m:O"), y=alt.Y("query n:O"), color=alt.Color("A:Q", scale=GREYS, title="A"),
                tooltip=["query n", "key m", alt.Tooltip("A:Q", format=".3f")])
        .properties(width=alt.Step(18), height=alt.Step(18))
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
                color=alt.Color("GT search:N", scale=alt.Scale(scheme="category10"), title="true neighbour j_{n,g}"))
    )
    return alt.layer(rect, points)


def search_maps_chart(search_maps: np.ndarray, neighbours: np.ndarray | None = None, *, label: str = "Search") -> alt.HConcatChart:
    """Figure 3: the maps A_i (queries as rows, keys as columns) with each true neighbour j_{n,g} boxed.

    Parameters
    ----------
    search_maps : ndarray, shape (S, N, N)
    neighbours : ndarray, shape (s_gt, N), optional
    label : str
        Panel name ("Search" or "Head").
    """
    maps = np.asarray(search_maps, dtype=float)
    return alt.hconcat(*[_map_panel(maps[i], neighbours, f"{label} {i + 1}") for i in range(maps.shape[0])]).resolve_scale(
        color="independent")


def mha_wiring_chart(n_heads: int) -> alt.Chart:
    """The fixed MHA pairing: head h always reads value h (an identity 'value score' map)."""
    df = pd.DataFrame([{"head": f"Head {h + 1}", "value": f"Value {v + 1}", "paired": float(h == v)}
                       for h in range(n_heads) for v in range(n_heads)])
    order = [f"Head {h + 1}" for h in range(n_heads)]
    return (
        alt.Chart(df, title="MHA: head h is wired to value h for every token")
        .mark_rect(stroke="#bbb", strokeWidth=0.3)
        .encode(x=alt.X("value:N", sort=[f"Value {v + 1}" for v in range(n_heads)], title=None),
                y=alt.Y("head:N", sort=order, title=None), color=alt.Color("paired:Q", scale=GREYS, legend=None))
        .properties(width=alt.Step(50), height=alt.Step(22))
    )


def mha_maps_chart(mha_maps: np.ndarray, neighbours: np.ndarray | None = None) -> alt.VConcatChart:
    """Figure 4: the MHA head maps A_h with the true neighbours marked, above the fixed head -> value wiring."""
    maps = np.asarray(mha_maps)
    return alt.vconcat(search_maps_chart(maps, neighbours, label="Head"), mha_wiring_chart(maps.shape[0]))


def loss_chart(records: Sequence[Any], zero_l1: float = 0.764, *, title: str = "L1 loss (lower is better)") -> alt.LayerChart:
    """Train and held-out L1 of both models over optimizer steps, with the zero-predictor rule at ``zero_l1``."""
    df = metrics_frame(records)
    cols = {"comp_train_l1": ("Comp", "train"), "comp_eval_l1": ("Comp", "held-out"),
            "mha_train_l1": ("MHA", "train"), "mha_eval_l1": ("MHA", "held-out")}
    if df.empty:
        long = pd.DataFrame({"step": pd.Series(dtype=float), "L1": pd.Series(dtype=float),
                             "model": pd.Series(dtype=str), "split": pd.Series(dtype=str)})
    else:
        long = df.melt(id_vars="step", value_vars=[c for c in cols if c in df], var_name="series", value_name="L1")
        long["model"] = long["series"].map(lambda c: cols[c][0])
        long["split"] = long["series"].map(lambda c: cols[c][1])
    lines = (
        alt.Chart(long, title=title)
        .mark_line()
        .encode(x=alt.X("step:Q", title="optimizer step"), y=alt.Y("L1:Q", title="L1", scale=alt.Scale(zero=True)),
                color=alt.Color("model:N", scale=MODEL_COLORS),
                strokeDash=alt.StrokeDash("split:N", scale=alt.Scale(domain=["held-out", "train"], range=[[1, 0], [4, 3]])),
                tooltip=["step:Q", "model:N", "split:N", alt.Tooltip("L1:Q", format=".3f")])
    )
    rule_df = pd.DataFrame({"L1": [zero_l1], "label": [f"zero predictor {zero_l1:.3f}"]})
    rule = alt.Chart(rule_df).mark_rule(color="gray", strokeDash=[6, 4]).encode(y="L1:Q")
    text = alt.Chart(rule_df).mark_text(align="left", dx=4, dy=-6, color="gray").encode(
        y="L1:Q", x=alt.value(0), text="label:N")
    return alt.layer(lines, rule, text)


def specialisation_chart(records: Sequence[Any], *, title: str = "Head specialisation (held-out batch)") -> alt.Chart:
    """Mean max_j c_ij, selection accuracy (after matching permutations) and search alignment of both models."""
    df = metrics_frame(records)
    names = {"value_sharpness": "Comp: mean max c", "selection_accuracy": "Comp: selection accuracy",
             "search_alignment": "Comp: search alignment", "mha_search_alignment": "MHA: search alignment"}
    if df.empty:
        long = pd.DataFrame({"step": pd.Series(dtype=float), "value": pd.Series(dtype=float),
                             "measure": pd.Series(dtype=str)})
    else:
        long = df.melt(id_vars="step", value_vars=[c for c in names if c in df], var_name="key", value_name="value")
        long["measure"] = long["key"].map(names)
    return (
        alt.Chart(long, title=title)
        .mark_line()
        .encode(x=alt.X("step:Q", title="optimizer step"), y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title=None),
                color=alt.Color("measure:N", sort=list(names.values())),
                tooltip=["step:Q", "measure:N", alt.Tooltip("value:Q", format=".3f")])
    )
