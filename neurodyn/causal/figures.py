"""Figures of the causal-induction page (arXiv:2107.00848, ``docs/papers/causal.md §5``).

Pure builders from the records of :mod:`neurodyn.causal.experiment`; no streamlit. Charts take their container's
width (exported copies get a fixed width from ``fixed_width``).

- :func:`ranking_chart`: H@1 or MRR of each model over training, at k = 1 and k = 5, under one rule.
- :func:`loss_chart`: the training loss of each model.
- :func:`sweep_chart`: final H@1 at k = 5 against the number of objects, one line per model.
- :func:`latent_chart`: one model's latents of the test images on their top two principal components.
- :func:`intervention_images`: the example transition before and after, enlarged, the intervened object outlined.
- :func:`graph_view`: the causal graph as a networkx DiGraph with node colours for pyvis.
"""

from __future__ import annotations

from typing import Any, Sequence

import altair as alt
import networkx as nx
import numpy as np
import pandas as pd

from neurodyn.causal.claims import evaluations
from neurodyn.causal.envs import grid_size
from neurodyn.causal.experiment import HORIZONS, MODEL_LABELS, MODELS, SweepConfig
from neurodyn.core.loop import Record
from neurodyn.viz.theme import color_scale, fixed_width

__all__ = ["fixed_width", "ranking_chart", "loss_chart", "sweep_chart", "latent_chart", "intervention_images",
           "graph_view", "latest_latents", "RULES"]

RULES = {"pessimistic": "pessimistic rule, de-duplicated", "paper": "the paper's tie rule"}
_DOMAIN = [MODEL_LABELS[m] for m in MODELS]
_HIGHLIGHT, _DESCENDANT, _OTHER = "#D55E00", "#E69F00", "#56B4E9"


def _finish(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    return chart.properties(width="container", height=height)


def _model_color() -> alt.Color:
    return alt.Color("model:N", title=None, scale=color_scale(_DOMAIN), sort=_DOMAIN,
                     legend=alt.Legend(orient="bottom", columns=1))


def ranking_chart(records: Sequence[Record], *, score: str = "h1", rule: str = "pessimistic",
                  height: int = 300) -> alt.Chart:
    """H@1 (``score="h1"``) or MRR (``"mrr"``) of each model at every evaluation, k = 1 dashed and k = 5 solid.

    Returns
    -------
    altair.Chart
        Rows ``step``, ``model``, ``horizon`` ("k = 1", "k = 5"), ``value``.
    """
    suffix = "" if rule == "pessimistic" else "_paper"
    rows = [{"step": e["evaluated_at"], "model": MODEL_LABELS[m], "horizon": f"k = {k}",
             "value": e[f"{score}_k{k}_{m}{suffix}"]} for e in evaluations(records) for m in MODELS for k in HORIZONS
            if f"{score}_k{k}_{m}{suffix}" in e]  # the models this run trains
    df = pd.DataFrame(rows, columns=["step", "model", "horizon", "value"])
    name = "H@1" if score == "h1" else "MRR"
    title = alt.Title(f"{name} on held-out paths ({RULES[rule]})",
                      subtitle="dashed: one step ahead (k = 1); solid: five steps ahead (k = 5)")
    return _finish(alt.Chart(df, title=title).mark_line(
        point=True, strokeWidth=2.5).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("value:Q", title=name, scale=alt.Scale(domain=[0, 1])),
        color=_model_color(),
        strokeDash=alt.StrokeDash("horizon:N", title="steps predicted", sort=[f"k = {k}" for k in HORIZONS],
                                  scale=alt.Scale(domain=[f"k = {k}" for k in HORIZONS], range=[[4, 3], [1, 0]]),
                                  legend=None),  # said in the subtitle: dash samples do not show in a legend
        tooltip=[alt.Tooltip("step:Q", title="step"), alt.Tooltip("model:N"), alt.Tooltip("horizon:N"),
                 alt.Tooltip("value:Q", format=".3f")]), height)


def loss_chart(records: Sequence[Record], *, height: int = 260) -> alt.Chart:
    """The training loss of each model (mean over the steps of a record).

    Returns
    -------
    altair.Chart
        Rows ``step``, ``model``, ``loss``.
    """
    seen, rows = set(), []
    for r in records:
        s = r.metrics["step"]
        if s in seen or s == 0:
            continue
        seen.add(s)
        rows += [{"step": s, "model": MODEL_LABELS[m], "loss": r.metrics[f"loss_{m}"]} for m in MODELS
                 if f"loss_{m}" in r.metrics]
    df = pd.DataFrame(rows, columns=["step", "model", "loss"])
    return _finish(alt.Chart(df, title="Training loss").mark_line(strokeWidth=2.5).encode(
        x=alt.X("step:Q", title="training step"), y=alt.Y("loss:Q", title="loss"), color=_model_color()), height)


def sweep_chart(records: Sequence[Record], config: SweepConfig, *, height: int = 300) -> alt.Chart:
    """Final H@1 at k = 5 (pessimistic, de-duplicated) against the number of objects, per model; finished N only.

    Returns
    -------
    altair.Chart
        Rows ``n``, ``model``, ``value``.
    """
    done = [r.artifacts["finished_n"] for r in records if "finished_n" in r.artifacts]
    m = records[-1].metrics if records else {}
    rows = [{"n": n, "model": MODEL_LABELS[k], "value": m[f"h1_k5_{k}_n{n}"]} for n in done for k in MODELS]
    df = pd.DataFrame(rows, columns=["n", "model", "value"])
    return _finish(alt.Chart(df, title="H@1 at k = 5 against the size of the graph").mark_line(
        point=alt.OverlayMarkDef(size=90), strokeWidth=2.5).encode(
        x=alt.X("n:Q", title="objects N", scale=alt.Scale(domain=[min(config.n_values), max(config.n_values)]),
                axis=alt.Axis(values=config.n_values, format="d")),
        y=alt.Y("value:Q", title="H@1 at k = 5", scale=alt.Scale(domain=[0, 1])),
        color=_model_color(),
        tooltip=[alt.Tooltip("n:Q", title="objects"), alt.Tooltip("model:N"),
                 alt.Tooltip("value:Q", format=".3f")]), height)


def latest_latents(records: Sequence[Record]) -> dict[str, np.ndarray] | None:
    """The latents artifact of the latest evaluation, or None."""
    for r in reversed(records):
        if "latents" in r.artifacts:
            return r.artifacts["latents"]
    return None


def latent_chart(latents: dict[str, np.ndarray], model: str, *, height: int = 300) -> alt.Chart:
    """One model's latents of the first test images on their top two principal components, coloured by the first
    object's colour.

    Returns
    -------
    altair.Chart
        Rows ``pc1``, ``pc2``, ``colour`` ("colour 1", ...).
    """
    xy = np.asarray(latents[model], dtype=float)
    first = np.asarray(latents["first_colors"]).astype(int)
    names = [f"colour {c + 1}" for c in first]
    domain = sorted(set(names), key=lambda s: int(s.split()[-1]))
    df = pd.DataFrame({"pc1": xy[:, 0], "pc2": xy[:, 1], "colour": names})
    return _finish(alt.Chart(df, title=f"Latents of test images: {MODEL_LABELS[model]}").mark_circle(
        size=60, opacity=0.7).encode(
        x=alt.X("pc1:Q", title="first principal component"),
        y=alt.Y("pc2:Q", title="second principal component"),
        color=alt.Color("colour:N", title="colour of object 1", scale=color_scale(domain), sort=domain,
                        legend=alt.Legend(orient="bottom"))), height)


def intervention_images(example: dict[str, Any], n_colors: int, *, scale: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """The example transition's images before and after, enlarged ``scale`` times, the intervened object's cell
    outlined in white on the after image.

    Parameters
    ----------
    example : dict
        The ``example`` artifact: ``before``, ``after`` (3, H, W) in [0, 1], ``action``, ``positions`` (N, 2) cells.
    n_colors : int

    Returns
    -------
    before, after : ndarray, shape (H·scale, W·scale, 3), uint8
    """
    out = []
    H = np.asarray(example["before"]).shape[1]
    positions = np.asarray(example["positions"])
    cell = H // grid_size(len(positions))
    for key in ("before", "after"):
        img = (np.clip(np.asarray(example[key], dtype=float), 0, 1).transpose(1, 2, 0) * 255).astype(np.uint8)
        img = np.kron(img, np.ones((scale, scale, 1), dtype=np.uint8))
        out.append(img)
    i = int(example["action"]) // n_colors
    r, c = (int(v) for v in positions[i])
    top, left, size = r * cell * scale, c * cell * scale, cell * scale
    t = max(2, scale // 6)
    after = out[1]
    after[top:top + t, left:left + size] = 255
    after[top + size - t:top + size, left:left + size] = 255
    after[top:top + size, left:left + t] = 255
    after[top:top + size, left + size - t:left + size] = 255
    return out[0], after


def graph_view(adjacency: np.ndarray, intervened: int | None = None) -> tuple[nx.DiGraph, dict[int, str],
                                                                              dict[int, str]]:
    """The causal graph (edges parent → child from ``adjacency[child, parent]``), with colours: the intervened
    object, its descendants, the others; and hover texts.

    Returns
    -------
    graph : networkx.DiGraph
        Nodes "object 1", ... in index order.
    colors, titles : dict
        Per node.
    """
    A = np.asarray(adjacency)
    n = A.shape[0]
    names = [f"object {i + 1}" for i in range(n)]
    g = nx.DiGraph()
    g.add_nodes_from(names)
    for child, parent in zip(*np.nonzero(A)):
        g.add_edge(names[parent], names[child])
    below = set(nx.descendants(g, names[intervened])) if intervened is not None else set()
    colors, titles = {}, {}
    for i, name in enumerate(names):
        if i == intervened:
            colors[name], titles[name] = _HIGHLIGHT, f"{name}: intervened on"
        elif name in below:
            colors[name], titles[name] = _DESCENDANT, f"{name}: a descendant (may change)"
        else:
            colors[name], titles[name] = _OTHER, f"{name}: not affected"
    return g, colors, titles
