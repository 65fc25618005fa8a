"""Altair figures of the BRIMs experiment (arXiv:2006.16981, card 08 sections 4-5).

Pure chart builders from the records and artifacts of :mod:`neurodyn.brims.experiment`; no streamlit.

- :func:`accuracy_chart`: clean and distracted test accuracy of every model over the epochs.
- :func:`probe_chart`: the robustness curves (distractor rows K, pixel noise sigma, stretched length).
- :func:`raster_chart`: the module-activation raster of one test digit, distractor steps shaded.
- :func:`slot_attention_chart`: input attention of every module on each slot over time.
- :func:`slot_mass_chart`: attention mass per slot and layer, digit steps against distractor steps.
- :func:`dynamics_chart`: switch rate and slot attention of each layer over the epochs.
"""

from __future__ import annotations

from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.viz.theme import color_scale, latest_artifacts

__all__ = ["MODEL_LABELS", "accuracy_chart", "probe_chart", "raster_chart", "slot_attention_chart",
           "slot_mass_chart", "dynamics_chart", "latest_artifacts", "per_evaluation", "train_loss_chart", "sequence_chart"]

MODEL_LABELS = {"brims": "BRIMs", "rims": "RIMs stack (no top-down)", "lstm": "LSTM"}
SLOTS = ("null", "bottom-up", "top-down")
DIGIT_ROWS = 8


def _labels(names: Sequence[str]) -> list[str]:
    return [MODEL_LABELS.get(n, n) for n in names]


def per_evaluation(records: Sequence[Any], metrics: Sequence[str]) -> pd.DataFrame:
    """Evaluation metrics once per evaluation, in long form (columns ``step`` = epoch, ``metric``, ``value``).

    The experiment carries evaluation metrics between evaluations; this keeps the last record of each
    ``eval_epoch`` (epoch 0 is the untrained models).
    """
    last: dict[float, Any] = {}
    for rec in records:
        last[float(rec.metrics["eval_epoch"])] = rec
    rows = [{"step": epoch, "metric": m, "value": float(rec.metrics[m])}
            for epoch, rec in last.items() for m in metrics if m in rec.metrics]
    return pd.DataFrame(rows, columns=["step", "metric", "value"])


def accuracy_chart(records: Sequence[Any], names: Sequence[str], probe_rows: int) -> alt.LayerChart:
    """Test accuracy per epoch: solid clean, dashed with ``probe_rows`` distractor rows, one colour per model."""
    metrics = [f"{n}_{kind}" for n in names for kind in ("test_acc", "distracted_acc")]
    df = per_evaluation(records, metrics)
    df["model"] = df["metric"].map(lambda m: MODEL_LABELS.get(m.split("_")[0], m))
    distracted = f"+{probe_rows} distractor rows"
    df["test"] = df["metric"].map(lambda m: "clean" if m.endswith("test_acc") else distracted)
    return (
        alt.Chart(df, title="Test accuracy (397 held-out digits)")
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="epoch", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("value:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", title=None, scale=color_scale(_labels(names))),
            strokeDash=alt.StrokeDash("test:N", title=None,
                                      scale=alt.Scale(domain=["clean", distracted], range=[[1, 0], [6, 3]]),
                                      legend=alt.Legend(symbolType="stroke", symbolStrokeColor="#777777")),
            tooltip=["step", "model", "test", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(height=260)
    )


def probe_chart(artifacts: dict[str, np.ndarray], names: Sequence[str], rows: Sequence[int],
                sigmas: Sequence[float], steps: Sequence[int]) -> alt.FacetChart:
    """Accuracy against distractor rows K, pixel noise sigma and stretched length: one panel each, a line per model.

    Parameters
    ----------
    artifacts : dict
        Holds ``probe_distractors``, ``probe_noise``, ``probe_stretch``, each (models, 4).
    names : sequence of str
        Model names in the artifacts' row order.
    rows, sigmas, steps : sequences
        The probe grids (x values of the three panels).
    """
    panels = (("probe_distractors", "distractor rows K", rows), ("probe_noise", "pixel noise sigma", sigmas),
              ("probe_stretch", "rows after stretching", steps))
    data = []
    for key, title, grid in panels:
        acc = np.asarray(artifacts[key], dtype=float)
        if acc.shape != (len(names), len(grid)):
            raise ValueError(f"{key} has shape {acc.shape}, expected {(len(names), len(grid))}")
        data += [{"probe": title, "x": float(x), "model": MODEL_LABELS.get(n, n), "accuracy": acc[i, j]}
                 for i, n in enumerate(names) for j, x in enumerate(grid)]
    df = pd.DataFrame(data)
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("x:Q", title=None),
            y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", title=None, scale=color_scale(_labels(names))),
            tooltip=["probe", "x", "model", alt.Tooltip("accuracy:Q", format=".3f")],
        )
        .properties(width=210, height=200)
        .facet(column=alt.Column("probe:N", title=None, sort=[p[1] for p in panels]))
        .resolve_scale(x="independent")
    )


def raster_chart(raster: np.ndarray, n_modules: Sequence[int], *, title: str = "") -> alt.Chart:
    """Module-activation raster: time on x, modules on y grouped by layer (top layer on top), dark = active.

    ``raster`` is (T, n_1 + n_2) of 0/1; steps after the first 8 (the digit's rows) are distractors, drawn in
    orange tones.
    """
    r = np.asarray(raster)
    T = r.shape[0]
    if r.ndim != 2 or r.shape[1] != sum(n_modules):
        raise ValueError(f"raster must be (T, {sum(n_modules)}), got {r.shape}")
    names = [f"L{layer + 1} m{m + 1}" for layer, n in enumerate(n_modules) for m in range(n)]
    order = [name for layer in reversed(range(len(n_modules))) for name in names if name.startswith(f"L{layer + 1} ")]
    df = pd.DataFrame([{"t": t, "module": names[m], "state": ("active" if r[t, m] else "idle")
                        + (", distractor row" if t >= DIGIT_ROWS else "")}
                       for t in range(T) for m in range(r.shape[1])])
    states = ["idle", "active", "idle, distractor row", "active, distractor row"]
    return (
        alt.Chart(df, title=title)
        .mark_rect(stroke="#888888", strokeWidth=0.3)
        .encode(
            x=alt.X("t:O", title="time step (row)"),
            y=alt.Y("module:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("state:N", title=None, scale=alt.Scale(
                domain=states, range=["#f4f4f4", "#111111", "#f9dcc4", "#8a3b00"])),
            tooltip=["t", "module", "state"],
        )
        .properties(width=alt.Step(24), height=alt.Step(20))  # cell sizes; the chart grows with T and n
    )


def slot_attention_chart(alpha_1: np.ndarray, alpha_2: np.ndarray) -> alt.FacetChart:
    """Input attention alpha_{m,s} (averaged over heads) per module over time, one panel per layer and slot.

    ``alpha_1`` is (T, n_1, 3) over [null, bottom-up, top-down]; ``alpha_2`` (T, n_2, 2) over [null, bottom-up].
    """
    rows = []
    for layer, alpha in enumerate((np.asarray(alpha_1), np.asarray(alpha_2))):
        T, n, slots = alpha.shape
        rows += [{"panel": f"layer {layer + 1}: {SLOTS[s]}", "t": t, "module": f"m{m + 1}", "alpha": float(alpha[t, m, s])}
                 for t in range(T) for m in range(n) for s in range(slots)]
    df = pd.DataFrame(rows)
    panels = list(dict.fromkeys(row["panel"] for row in rows))  # layer 1 null, bottom-up, top-down, then layer 2
    return (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X("t:O", title="time step"),
            y=alt.Y("module:N", title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("alpha:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"), title="attention"),
            tooltip=["panel", "t", "module", alt.Tooltip("alpha:Q", format=".3f")],
        )
        .properties(width=190, height=130)
        .facet(facet=alt.Facet("panel:N", title=None, sort=panels), columns=3)
        .resolve_scale(y="independent")
    )


def slot_mass_chart(slot_mass: np.ndarray) -> alt.FacetChart:
    """Mean input attention on each slot, per layer, over the digit's steps and over the distractor steps.

    ``slot_mass`` is (2 layers, 2 segments, 3 slots); the top layer has no top-down slot (its entry is 0, not drawn).
    """
    m = np.asarray(slot_mass, dtype=float)
    rows = [{"layer": f"layer {layer + 1}", "steps": seg_name, "slot": SLOTS[s], "mass": m[layer, seg, s]}
            for layer in range(m.shape[0]) for seg, seg_name in enumerate(("digit rows", "distractor rows"))
            for s in range(m.shape[2]) if not (layer == m.shape[0] - 1 and s == 2)]
    df = pd.DataFrame(rows)
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("slot:N", title=None, sort=list(SLOTS)),
            xOffset=alt.XOffset("steps:N"),
            y=alt.Y("mass:Q", title="attention mass", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("steps:N", title=None, scale=color_scale(["digit rows", "distractor rows"])),
            tooltip=["layer", "steps", "slot", alt.Tooltip("mass:Q", format=".3f")],
        )
        .properties(width=220, height=200)
        .facet(column=alt.Column("layer:N", title=None))
    )


def dynamics_chart(records: Sequence[Any]) -> alt.FacetChart:
    """Per layer over the epochs: switch rate of the active set and mean attention on each slot (clean test set)."""
    labels = {}
    for layer in (1, 2):
        labels.update({f"switch_rate_{layer}": "switch rate", f"null_mass_{layer}": "null",
                       f"bottom_up_mass_{layer}": "bottom-up", f"top_down_mass_{layer}": "top-down"})
    metrics = [m for m in labels if not m.startswith("top_down_mass_2")]
    df = per_evaluation(records, metrics)
    df["layer"] = df["metric"].str[-1].map(lambda s: f"layer {s}")
    df["quantity"] = df["metric"].map(labels)
    names = ["switch rate", "null", "bottom-up", "top-down"]
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="epoch", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("quantity:N", title=None, scale=color_scale(names)),
            tooltip=["step", "layer", "quantity", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=260, height=200)
        .facet(column=alt.Column("layer:N", title=None))
    )


def train_loss_chart(records: Sequence[Any], names: Sequence[str]) -> alt.Chart:
    """Training cross-entropy of every model against the epoch (one point per record)."""
    rows = [{"epoch": float(r.metrics["epoch"]), "model": MODEL_LABELS.get(n, n), "loss": float(r.metrics[f"{n}_train_loss"])}
            for r in records for n in names]
    return (
        alt.Chart(pd.DataFrame(rows), title="Training loss")
        .mark_line()
        .encode(
            x=alt.X("epoch:Q"),
            y=alt.Y("loss:Q", title="cross-entropy", scale=alt.Scale(type="log")),
            color=alt.Color("model:N", title=None, scale=color_scale(_labels(names))),
            tooltip=["epoch", "model", alt.Tooltip("loss:Q", format=".4f")],
        )
        .properties(height=240)
    )


def sequence_chart(image: np.ndarray, *, title: str = "") -> alt.Chart:
    """One input sequence as the model reads it: a row of pixels per time step (top to bottom), intensity in [0, 1];
    rows after the first 8 (the digit) are distractors, drawn in orange."""
    img = np.asarray(image, dtype=float)
    if img.ndim != 2:
        raise ValueError(f"image must be (T, W), got shape {img.shape}")
    df = pd.DataFrame([{"t": t, "pixel": w, "value": img[t, w], "part": "digit" if t < DIGIT_ROWS else "distractor"}
                       for t in range(img.shape[0]) for w in range(img.shape[1])])
    base = alt.Chart(df, title=title).mark_rect().encode(
        x=alt.X("pixel:O", axis=None), y=alt.Y("t:O", title="time step (row)"), tooltip=["t", "pixel", "value"])
    digit = base.transform_filter("datum.part == 'digit'").encode(
        color=alt.Color("value:Q", scale=alt.Scale(domain=[0, 1], scheme="greys"), legend=None))
    noise = base.transform_filter("datum.part == 'distractor'").encode(
        color=alt.Color("value:Q", scale=alt.Scale(domain=[0, 1], range=["#fdf0e6", "#8a3b00"]), legend=None))
    return alt.layer(digit, noise).resolve_scale(color="independent").properties(width=120, height=14 * img.shape[0])
