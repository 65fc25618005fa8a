"""Altair figures of the BRIMs experiment (arXiv:2006.16981, ``docs/papers/brims.md §4``).

Pure chart builders from the records and artifacts of :mod:`neurodyn.brims.experiment`; no streamlit. Metric names
come from the experiment's helpers (:func:`~neurodyn.brims.experiment.model_metric`,
:func:`~neurodyn.brims.experiment.layer_metric`), never from parsing names. Every chart takes its container's width
(``width="container"``; exported copies get a fixed width from :func:`fixed_width`), and its axis, legend and title
text is at least 12 px (:func:`legible`). Multi-panel figures are one chart per panel, so each panel fills the
column the page puts it in.

- :func:`accuracy_chart`: clean and distracted test accuracy of every model over the epochs.
- :func:`train_loss_chart`: training loss of every model.
- :func:`probe_chart`: one robustness curve (distractor rows K, pixel noise sigma or stretched length).
- :func:`raster_chart`: the module-activation raster of one test digit, distractor steps in orange tones.
- :func:`slot_attention_chart`: input attention of every module of one layer on one slot over time.
- :func:`slot_mass_chart`: attention mass per slot of one layer, digit steps against distractor steps.
- :func:`dynamics_chart`: switch rate and slot attention of one layer over the epochs.
- :func:`sequence_chart`: one input sequence as the model reads it (the page's preview).
"""

from __future__ import annotations

from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.brims.experiment import (
    MODEL_LABELS,
    N_LAYERS,
    PROBE_ROWS,
    PROBE_SIGMAS,
    PROBE_STEPS,
    PROBES,
    evaluations,
    layer_metric,
    model_metric,
)
from neurodyn.viz.theme import color_scale, fixed_width, latest_artifacts, legible

__all__ = ["MODEL_LABELS", "PROBE_TITLES", "SLOTS", "FONT_PX", "legible", "fixed_width", "accuracy_chart",
           "train_loss_chart", "per_evaluation", "probe_chart", "raster_chart", "slot_attention_chart",
           "slot_mass_chart", "dynamics_chart", "sequence_chart", "latest_artifacts"]

SLOTS = ("null", "bottom-up", "top-down")
DIGIT_ROWS = 8
FONT_PX = 13  # axis, legend and header text; titles are 2 px larger
#: Probe artifact key -> (x-axis title in words, the grid of x values).
PROBE_TITLES = {
    "probe_distractors": ("distractor rows after the digit (K)", PROBE_ROWS),
    "probe_noise": ("Gaussian pixel noise (σ)", PROBE_SIGMAS),
    "probe_stretch": ("rows after stretching time (trained on 8)", PROBE_STEPS),
}


def _labels(names: Sequence[str]) -> list[str]:
    return [MODEL_LABELS.get(n, n) for n in names]


def per_evaluation(records: Sequence[Any], metrics: Sequence[str]) -> pd.DataFrame:
    """Evaluation metrics once per evaluation, in long form (columns ``step`` = epoch, ``metric``, ``value``).

    Reads each evaluation from the record where it ended (:func:`~neurodyn.brims.experiment.evaluations`), so
    every model's point at epoch E is its epoch-E evaluation; epoch 0 is the untrained models.
    """
    rows = [{"step": float(epoch), "metric": m, "value": float(metrics_[m])}
            for epoch, metrics_ in evaluations(records) for m in metrics if m in metrics_]
    return pd.DataFrame(rows, columns=["step", "metric", "value"])


def accuracy_chart(records: Sequence[Any], names: Sequence[str], probe_rows: int) -> alt.TopLevelMixin:
    """Test accuracy per epoch: solid clean, dashed with ``probe_rows`` distractor rows, one colour per model.

    Parameters
    ----------
    records : sequence of Record
    names : sequence of str
        The run's models (:func:`~neurodyn.brims.experiment.model_names`).
    probe_rows : int
        The run's distractor rows K.

    Returns
    -------
    altair.LayerChart
        A line layer (whose dash legend shows a line sample of each kind) and a point layer.
    """
    distracted = f"+{probe_rows} distractor rows"
    parts = []
    for name in names:
        for kind, test in (("test_acc", "clean"), ("distracted_acc", distracted)):
            df = per_evaluation(records, [model_metric(name, kind)])
            df["model"], df["test"] = MODEL_LABELS.get(name, name), test
            parts.append(df)
    df = pd.concat(parts, ignore_index=True)
    base = alt.Chart(df, title="Test accuracy (397 held-out digits)").encode(
        x=alt.X("step:Q", title="epoch", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("value:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("model:N", title="model", scale=color_scale(_labels(names)),
                        legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=3, orient="bottom")),
        tooltip=["step", "model", "test", alt.Tooltip("value:Q", format=".3f")],
    )
    lines = base.mark_line(strokeWidth=2.5).encode(
        strokeDash=alt.StrokeDash("test:N", title="test digits",
                                  scale=alt.Scale(domain=["clean", distracted], range=[[1, 0], [6, 3]]),
                                  legend=alt.Legend(symbolType="stroke", symbolStrokeColor="#333333",
                                                    symbolStrokeWidth=2.5, symbolSize=600, orient="bottom")))
    points = base.mark_point(filled=True, size=45).encode(detail="test:N")
    return legible(alt.layer(lines, points).properties(width="container", height=300))


def train_loss_chart(records: Sequence[Any], names: Sequence[str]) -> alt.TopLevelMixin:
    """Training cross-entropy of every model against the epoch (one point per record).

    Parameters
    ----------
    records : sequence of Record
    names : sequence of str

    Returns
    -------
    altair.Chart
    """
    rows = [{"epoch": float(r.metrics["epoch"]), "model": MODEL_LABELS.get(n, n),
             "loss": float(r.metrics[model_metric(n, "train_loss")])} for r in records for n in names]
    chart = (
        alt.Chart(pd.DataFrame(rows, columns=["epoch", "model", "loss"]), title="Training loss")
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("epoch:Q"),
            y=alt.Y("loss:Q", title="cross-entropy (nats)", scale=alt.Scale(type="log")),
            color=alt.Color("model:N", title="model", scale=color_scale(_labels(names)),
                            legend=alt.Legend(orient="bottom")),
            tooltip=["epoch", "model", alt.Tooltip("loss:Q", format=".4f")],
        )
        .properties(width="container", height=260)
    )
    return legible(chart)


def probe_chart(artifacts: dict[str, np.ndarray], names: Sequence[str], probe: str) -> alt.TopLevelMixin:
    """Accuracy against one probe's grid (distractor rows K, pixel noise sigma or stretched length), a line per model.

    Parameters
    ----------
    artifacts : dict
        Holds ``probe``, an array (models, 4) over the probe's grid (``PROBE_TITLES[probe][1]``).
    names : sequence of str
        Model names in the artifact's row order.
    probe : str
        One of ``PROBES``.

    Returns
    -------
    altair.Chart
    """
    if probe not in PROBE_TITLES:
        raise ValueError(f"unknown probe {probe!r}; valid: {', '.join(PROBES)}")
    title, grid = PROBE_TITLES[probe]
    acc = np.asarray(artifacts[probe], dtype=float)
    if acc.shape != (len(names), len(grid)):
        raise ValueError(f"{probe} has shape {acc.shape}, expected {(len(names), len(grid))}")
    df = pd.DataFrame([{"x": float(x), "model": MODEL_LABELS.get(n, n), "accuracy": acc[i, j]}
                       for i, n in enumerate(names) for j, x in enumerate(grid)])
    chart = (
        alt.Chart(df)
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=50), strokeWidth=2.5)
        .encode(
            x=alt.X("x:Q", title=title, axis=alt.Axis(values=[float(x) for x in grid])),
            y=alt.Y("accuracy:Q", title="test accuracy", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", title=None, scale=color_scale(_labels(names)),
                            legend=alt.Legend(orient="bottom", direction="vertical")),
            tooltip=["x", "model", alt.Tooltip("accuracy:Q", format=".3f")],
        )
        .properties(width="container", height=260)
    )
    return legible(chart)


def raster_chart(raster: np.ndarray, n_modules: Sequence[int], *, title: str = "") -> alt.TopLevelMixin:
    """Module-activation raster: time on x, modules on y grouped by layer (top layer on top), dark = active.

    Parameters
    ----------
    raster : ndarray, shape (T, n_1 + n_2)
        0/1; steps after the first 8 (the digit's rows) are distractors, drawn in orange tones.
    n_modules : sequence of int
        Modules per layer, bottom first.
    title : str

    Returns
    -------
    altair.Chart
    """
    r = np.asarray(raster)
    if r.ndim != 2 or r.shape[1] != sum(n_modules):
        raise ValueError(f"raster must be (T, {sum(n_modules)}), got {r.shape}")
    T = r.shape[0]
    names = [f"layer {layer + 1}, module {m + 1}" for layer, n in enumerate(n_modules) for m in range(n)]
    order = [name for layer in reversed(range(len(n_modules))) for name in names
             if name.startswith(f"layer {layer + 1},")]
    df = pd.DataFrame([{"t": t, "module": names[m], "state": ("active" if r[t, m] else "idle")
                        + (", distractor row" if t >= DIGIT_ROWS else "")}
                       for t in range(T) for m in range(r.shape[1])])
    states = ["idle", "active", "idle, distractor row", "active, distractor row"]
    chart = (
        alt.Chart(df, title=title)
        .mark_rect(stroke="#888888", strokeWidth=0.4)
        .encode(
            x=alt.X("t:O", title="time step (row of the input)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("module:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=0)),
            color=alt.Color("state:N", title=None, scale=alt.Scale(
                domain=states, range=["#f4f4f4", "#111111", "#f9dcc4", "#8a3b00"]),
                legend=alt.Legend(orient="bottom", columns=4)),
            tooltip=["t", "module", "state"],
        )
        .properties(width="container", height=22 * len(names))  # a number, not alt.Step: see ui.charts._autosize
    )
    return legible(chart)


def slot_attention_chart(alpha: np.ndarray, layer: int, slot: int) -> alt.TopLevelMixin:
    """Input attention alpha_{m,s} (averaged over heads) of one layer's modules on one slot, over time.

    Parameters
    ----------
    alpha : ndarray, shape (T, n, slots)
        One layer's attention over [null, bottom-up(, top-down)] (``raster_alpha_1`` or ``raster_alpha_2``).
    layer : int
        1 (bottom) or 2 (top), for the title.
    slot : int
        0 null, 1 bottom-up, 2 top-down.

    Returns
    -------
    altair.Chart
    """
    a = np.asarray(alpha, dtype=float)
    if a.ndim != 3 or not 0 <= slot < a.shape[2]:
        raise ValueError(f"alpha must be (T, n, slots) with slot {slot} < slots, got shape {a.shape}")
    T, n, _ = a.shape
    df = pd.DataFrame([{"t": t, "module": f"module {m + 1}", "alpha": float(a[t, m, slot])}
                       for t in range(T) for m in range(n)])
    chart = (
        alt.Chart(df, title=f"Layer {layer}: attention on the {SLOTS[slot]} slot")
        .mark_rect()
        .encode(
            x=alt.X("t:O", title="time step", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("module:N", title=None, sort=[f"module {m + 1}" for m in range(n)],
                    axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("alpha:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"), title="attention",
                            legend=alt.Legend(orient="bottom", gradientLength=160)),
            tooltip=["t", "module", alt.Tooltip("alpha:Q", format=".3f")],
        )
        .properties(width="container", height=22 * n)  # a number, not alt.Step: see ui.charts._autosize
    )
    return legible(chart)


def slot_mass_chart(slot_mass: np.ndarray, layer: int) -> alt.TopLevelMixin:
    """Mean input attention on each slot of one layer, over the digit's steps and over the distractor steps.

    Parameters
    ----------
    slot_mass : ndarray, shape (2 layers, 2 segments, 3 slots)
        The top layer has no top-down slot (its entry is 0 and is not drawn).
    layer : int
        1 (bottom) or 2 (top).

    Returns
    -------
    altair.Chart
    """
    m = np.asarray(slot_mass, dtype=float)
    if m.shape != (N_LAYERS, 2, 3) or layer not in range(1, N_LAYERS + 1):
        raise ValueError(f"slot_mass must be ({N_LAYERS}, 2, 3) and layer 1..{N_LAYERS}, got {m.shape}, {layer}")
    slots = SLOTS if layer < N_LAYERS else SLOTS[:2]
    df = pd.DataFrame([{"steps": seg_name, "slot": slots[s], "mass": m[layer - 1, seg, s]}
                       for seg, seg_name in enumerate(("digit rows", "distractor rows")) for s in range(len(slots))])
    chart = (
        alt.Chart(df, title=f"Layer {layer}")
        .mark_bar()
        .encode(
            x=alt.X("slot:N", title="slot", sort=list(slots), axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("steps:N"),
            y=alt.Y("mass:Q", title="attention mass", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("steps:N", title=None, scale=color_scale(["digit rows", "distractor rows"]),
                            legend=alt.Legend(orient="bottom")),
            tooltip=["steps", "slot", alt.Tooltip("mass:Q", format=".3f")],
        )
        .properties(width="container", height=240)
    )
    return legible(chart)


def dynamics_chart(records: Sequence[Any], layer: int) -> alt.TopLevelMixin:
    """One layer over the epochs: switch rate of the active set and mean attention on each slot (clean test set).

    Parameters
    ----------
    records : sequence of Record
    layer : int
        1 (bottom) or 2 (top; it has no top-down slot).

    Returns
    -------
    altair.Chart
    """
    quantities = {"switch_rate": "switch rate", "null_mass": "null", "bottom_up_mass": "bottom-up",
                  "top_down_mass": "top-down"}
    if layer == N_LAYERS:
        quantities.pop("top_down_mass")
    names = {layer_metric(q, layer): label for q, label in quantities.items()}
    df = per_evaluation(records, list(names))
    df["quantity"] = df["metric"].map(names)
    chart = (
        alt.Chart(df, title=f"Layer {layer}")
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=40), strokeWidth=2)
        .encode(
            x=alt.X("step:Q", title="epoch", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("value:Q", title="fraction", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("quantity:N", title=None, scale=color_scale(list(quantities.values())),
                            legend=alt.Legend(orient="bottom")),
            tooltip=["step", "quantity", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width="container", height=240)
    )
    return legible(chart)


def sequence_chart(image: np.ndarray, *, title: str = "") -> alt.TopLevelMixin:
    """One input sequence as the model reads it: a row of pixels per time step (top to bottom), intensity in [0, 1].

    Parameters
    ----------
    image : ndarray, shape (T, W)
        Rows after the first 8 (the digit) are distractors, drawn in orange.
    title : str

    Returns
    -------
    altair.LayerChart
    """
    img = np.asarray(image, dtype=float)
    if img.ndim != 2:
        raise ValueError(f"image must be (T, W), got shape {img.shape}")
    df = pd.DataFrame([{"t": t, "pixel": w, "value": img[t, w], "part": "digit" if t < DIGIT_ROWS else "distractor"}
                       for t in range(img.shape[0]) for w in range(img.shape[1])])
    def rows(part: str) -> alt.Chart:  # each layer holds its own rows
        return alt.Chart(df[df["part"] == part], title=title).mark_rect().encode(
            x=alt.X("pixel:O", axis=None), y=alt.Y("t:O", title="time step (row)"), tooltip=["t", "pixel", "value"])

    digit = rows("digit").encode(
        color=alt.Color("value:Q", scale=alt.Scale(domain=[0, 1], scheme="greys"), legend=None))
    # the distractor layer only when there are distractor rows (an empty layer makes Vega warn "Infinite extent")
    chart = digit
    if img.shape[0] > DIGIT_ROWS:
        noise = rows("distractor").encode(
            color=alt.Color("value:Q", scale=alt.Scale(domain=[0, 1], range=["#fdf0e6", "#8a3b00"]), legend=None))
        chart = alt.layer(digit, noise).resolve_scale(color="independent")
    return legible(chart.properties(width="container", height=22 * img.shape[0]))
