"""Altair figures of the adaptive-activation page (arXiv:2006.12253, ``docs/papers/activations.md §5``).

Pure chart builders from the shape parameters, or from the records and config of the runs in
:mod:`neurodyn.activations.experiment`; no streamlit. Every chart takes its container's width (``width="container"``;
exported copies get a fixed width from :func:`fixed_width`), its axis, legend and title text is at least 12 px
(:func:`legible`), and every layer holds its own rows. The three modes keep one colour each in every chart
(:data:`MODE_COLORS`). A builder whose run has nothing to draw yet returns None.

- :func:`family_chart`: γ(x; n, s) against the family's named members (softplus, sigmoid, ReLU and step limits).
- :func:`slope_chart`: ∂γ/∂x and its largest value.
- :func:`accuracy_chart`: test accuracy of the three modes over the epochs, the mean over seeds and every seed.
- :func:`loss_chart`: training loss of the three modes.
- :func:`cloud_chart`: the per-neuron (n_i, s_i) of a heterogeneous network, its start and its centre of mass.
- :func:`lyapunov_chart`: the largest Lyapunov exponent of each mode's input-free recurrence over the epochs.
- :func:`landscape_chart`: static test accuracy over the (n, s) grid.
- :func:`trajectories_chart`: the paths of the learned (n, s) of homogeneous networks from every grid point.
- :func:`shift_chart`: accuracy on clean and shifted digits with no adaptation, shapes only and readout only.
- :func:`shift_curve_chart`: the same accuracies over training, then adaptation.
"""

from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd
import torch

from neurodyn.activations.experiment import (
    MODE_LABELS,
    Config,
    GridConfig,
    ShiftConfig,
    evaluations,
    grid_points,
    mode_rows,
    shift_parameter_counts,
)
from neurodyn.activations.gamma import MODES, NAMED_MEMBERS, gamma, gamma_derivatives, max_slope
from neurodyn.core.loop import Record
from neurodyn.viz.theme import PALETTE, color_scale, fixed_width, legible

__all__ = ["FONT_PX", "MODE_COLORS", "X_RANGE", "legible", "fixed_width", "family_chart", "slope_chart",
           "accuracy_chart", "loss_chart", "cloud_chart", "lyapunov_chart", "landscape_chart", "trajectories_chart",
           "shift_chart", "shift_curve_chart"]

FONT_PX = 13  # axis, legend, header and mark text; titles are 2 px larger
X_RANGE = (-4.0, 4.0)  # inputs x of the family and slope charts
_X_POINTS = 321  # 0.025 apart, so x = 0 and the integers are on the grid
_FAMILY_Y = (-0.25, 2.25)  # the family chart's y range (curves are clipped to it)
#: Legend text of the three modes, in MODES order; the colour of a mode is the same in every chart.
_MODE_DOMAIN = [MODE_LABELS[m] for m in MODES]
MODE_COLORS = dict(zip(_MODE_DOMAIN, PALETTE))
_REFERENCE_GREY = "#9a9a9a"
_FADED_GREY = "#c8c8c8"
_START_RED = "#d62728"
_CENTRE_GREEN = "#1a7f37"
_CLOUD_BLUE = "#0072B2"
_SPLITS = ("clean digits", "shifted digits")
#: The three networks of the shift run (curve legend); the bar chart adds the parameter counts.
_SHIFT_NETWORKS = ("no adaptation", "shapes only", "readout only")
#: Family chart labels: member -> (x of the anchor on its curve, text alignment, dx, dy in pixels).
_MEMBER_LABEL_AT = {
    "softplus": (0.8, "right", -6, -8),
    "ReLU (n → ∞)": (1.75, "right", -8, -6),
    "sigmoid": (2.2, "left", 4, 14),
    "(1 + tanh x)/2": (1.6, "left", 2, -14),
    "step (n → ∞)": (-0.05, "right", -4, 12),
}


def _finish(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    return legible(chart.properties(width="container", height=height))


def _epoch_axis() -> alt.Axis:
    return alt.Axis(format="d", tickMinStep=1)


def _mode_color() -> alt.Color:
    return alt.Color("mode:N", title=None, scale=color_scale(_MODE_DOMAIN),
                     legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3))


def _x_grid() -> np.ndarray:
    return np.linspace(X_RANGE[0], X_RANGE[1], _X_POINTS)


def _x_encoding() -> alt.X:
    ticks = list(range(int(X_RANGE[0]), int(X_RANGE[1]) + 1))
    return alt.X("x:Q", title="input x", scale=alt.Scale(domain=list(X_RANGE), nice=False), axis=alt.Axis(values=ticks))


def _member_values(x: np.ndarray, n: float, s: float) -> np.ndarray:
    """γ of a named member; n = inf is the limit n → ∞ (ReLU for s = 0, the step with value 1/2 at 0 for s = 1)."""
    if math.isinf(n):
        return (1.0 - s) * np.maximum(x, 0.0) + s * np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5))
    return gamma(torch.as_tensor(x, dtype=torch.float64), n, s).numpy()


def family_chart(n: float, s: float, *, height: int = 300) -> alt.TopLevelMixin:
    """γ(x; n, s) over x in [−4, 4] (bold) among the family's named members (thin grey curves with their names).

    Parameters
    ----------
    n : float
        Gain, > 0.
    s : float
        Saturation.
    height : int
        Pixels.

    Returns
    -------
    altair.LayerChart
        Layers: the reference curves (rows ``x``, ``value``, ``curve``, 5 × 321), their labels (5 rows), the bold
        curve (321 rows). The y axis spans [−0.25, 2.25]; the curves are clipped to it.
    """
    x = _x_grid()
    refs = pd.concat([pd.DataFrame({"x": x, "value": _member_values(x, mn, ms), "curve": name})
                      for name, (mn, ms) in NAMED_MEMBERS.items()], ignore_index=True)
    labels = []
    for name, (mn, ms) in NAMED_MEMBERS.items():
        at, align, dx, dy = _MEMBER_LABEL_AT[name]
        labels.append({"x": at, "value": float(_member_values(np.array([at]), mn, ms)[0]), "curve": name,
                       "align": align, "dx": dx, "dy": dy})
    own = pd.DataFrame({"x": x, "value": _member_values(x, float(n), float(s)), "curve": f"γ(x; {n:g}, {s:g})"})
    x_enc = _x_encoding()
    y_enc = alt.Y("value:Q", title="output γ(x)", scale=alt.Scale(domain=list(_FAMILY_Y), nice=False))
    tooltip = ["curve:N", alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("value:Q", format=".3f")]
    reference = alt.Chart(refs).mark_line(strokeWidth=1.2, color=_REFERENCE_GREY, clip=True).encode(
        x=x_enc, y=y_enc, detail="curve:N", tooltip=tooltip)
    layers = [reference]
    for row in labels:  # one text layer per label: Vega-Lite takes align, dx and dy from the mark, not the data
        layers.append(alt.Chart(pd.DataFrame([row])).mark_text(
            align=row["align"], dx=row["dx"], dy=row["dy"], fontSize=FONT_PX, color="#666666").encode(
            x="x:Q", y="value:Q", text="curve:N"))
    bold = alt.Chart(own).mark_line(strokeWidth=3.5, color=_CLOUD_BLUE, clip=True).encode(
        x=x_enc, y=y_enc, tooltip=tooltip)
    layers.append(bold)
    title = f"γ(x; n = {n:g}, s = {s:g}) and the named members"
    return _finish(alt.layer(*layers, title=title), height)


def slope_chart(n: float, s: float, *, height: int = 300) -> alt.TopLevelMixin:
    """The slope ∂γ/∂x over x in [−4, 4], with a rule at its largest value over all x when 0 ≤ s ≤ 1.

    Parameters
    ----------
    n : float
        Gain, > 0.
    s : float
        Saturation.
    height : int
        Pixels.

    Returns
    -------
    altair.Chart or altair.LayerChart
        The curve (rows ``x``, ``slope``, 321 rows); with 0 ≤ s ≤ 1 also a dashed rule at ``max_slope(n, s)``
        (one row ``slope``, ``label``) and its label. Where s ≤ 1/(n + 1) the largest slope 1 − s is only approached
        as x grows, beyond the plotted range.
    """
    x = _x_grid()
    dx, _, _ = gamma_derivatives(torch.as_tensor(x, dtype=torch.float64), float(n), float(s))
    curve_df = pd.DataFrame({"x": x, "slope": dx.numpy()})
    title = f"Slope ∂γ/∂x at n = {n:g}, s = {s:g}"
    curve = alt.Chart(curve_df, title=title).mark_line(strokeWidth=3, color=_CLOUD_BLUE).encode(
        x=_x_encoding(),
        y=alt.Y("slope:Q", title="slope ∂γ/∂x"),
        tooltip=[alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("slope:Q", format=".3f")])
    if not 0.0 <= s <= 1.0:
        return _finish(curve, height)
    top = max_slope(float(n), float(s))
    rule_df = pd.DataFrame({"slope": [top], "label": [f"largest slope {top:.3g}"]})
    rule = alt.Chart(rule_df).mark_rule(strokeDash=[6, 4], color="#555555", strokeWidth=1.5).encode(y="slope:Q")
    text = alt.Chart(rule_df).mark_text(align="left", baseline="top", dy=4, x=6, fontSize=FONT_PX,
                                        color="#333333").encode(
        y="slope:Q", text="label:N")
    return _finish(alt.layer(curve, rule, text), height)


def accuracy_chart(records: Sequence[Record], config: Config, *, height: int = 320) -> alt.TopLevelMixin | None:
    """Test accuracy against the epoch for the three modes: the mean over seeds bold, every seed a thin line.

    Parameters
    ----------
    records : sequence of Record
        Of the ``activations`` run; the evaluations carry ``acc``, shape (G,) with G = 3 · n_seeds, and ``epoch``.
    config : Config
    height : int
        Pixels.

    Returns
    -------
    altair.LayerChart or None
        Layers: the seeds (rows ``epoch``, ``mode``, ``seed``, ``accuracy``; evaluations × G) and the means (rows
        ``epoch``, ``mode``, ``accuracy``; evaluations × 3). None before the first evaluation.
    """
    evals = evaluations(records)
    if not evals:
        return None
    seeds, means = [], []
    for rec in evals:
        acc, epoch = np.asarray(rec.artifacts["acc"], dtype=float), int(rec.artifacts["epoch"])
        for m in MODES:
            rows = mode_rows(config, m)
            seeds += [{"epoch": epoch, "mode": MODE_LABELS[m], "seed": f"seed {i}", "accuracy": float(acc[g])}
                      for i, g in enumerate(rows)]
            means.append({"epoch": epoch, "mode": MODE_LABELS[m], "accuracy": float(acc[rows].mean())})
    x = alt.X("epoch:Q", title="epoch", axis=_epoch_axis())
    y = alt.Y("accuracy:Q", title="test accuracy", scale=alt.Scale(domain=[0, 1]))
    thin = alt.Chart(pd.DataFrame(seeds)).mark_line(strokeWidth=1, opacity=0.55).encode(
        x=x, y=y, color=_mode_color(), detail="seed:N",
        tooltip=["epoch:Q", "mode:N", "seed:N", alt.Tooltip("accuracy:Q", format=".3f")])
    bold = alt.Chart(pd.DataFrame(means)).mark_line(strokeWidth=3, point=alt.OverlayMarkDef(filled=True, size=50)
                                                   ).encode(
        x=x, y=y, color=_mode_color(),
        tooltip=["epoch:Q", "mode:N", alt.Tooltip("accuracy:Q", title="mean over seeds", format=".3f")])
    title = f"Test accuracy, {config.n_seeds} seed{'s' if config.n_seeds > 1 else ''}"
    return _finish(alt.layer(thin, bold, title=title), height)


def loss_chart(records: Sequence[Record], *, height: int = 260) -> alt.TopLevelMixin | None:
    """Training loss of each mode (mean over seeds) against the epochs trained.

    Records taken while the run evaluates repeat the latest loss at the same epoch; each (epoch, mode) is drawn once.

    Parameters
    ----------
    records : sequence of Record
        Of the ``activations`` run (metrics ``epoch`` and ``loss_<mode>``).
    height : int
        Pixels.

    Returns
    -------
    altair.Chart or None
        Rows ``epoch``, ``mode``, ``loss``. None without records.
    """
    rows = [{"epoch": float(r.metrics["epoch"]), "mode": MODE_LABELS[m], "loss": float(r.metrics[f"loss_{m}"])}
            for r in records for m in MODES if f"loss_{m}" in r.metrics]
    if not rows:
        return None
    df = pd.DataFrame(rows).drop_duplicates(["epoch", "mode"], ignore_index=True)
    chart = alt.Chart(df, title="Training loss (mean over seeds)").mark_line(strokeWidth=2).encode(
        x=alt.X("epoch:Q", title="epoch", axis=_epoch_axis()),
        y=alt.Y("loss:Q", title="cross-entropy (nats)", scale=alt.Scale(zero=False)),
        color=_mode_color(),
        tooltip=[alt.Tooltip("epoch:Q", format=".2f"), "mode:N", alt.Tooltip("loss:Q", format=".4f")])
    return _finish(chart, height)


def _padded(values: Sequence[float], *, min_span: float, pad: float = 0.12) -> list[float]:
    """[lo, hi] around ``values`` with ``pad`` of the span on each side; a span below ``min_span`` is widened."""
    lo, hi = float(np.min(values)), float(np.max(values))
    span = max(hi - lo, min_span)
    mid = (lo + hi) / 2
    lo, hi = min(lo, mid - span / 2), max(hi, mid + span / 2)
    return [lo - pad * span, hi + pad * span]


def cloud_chart(records: Sequence[Record], config: Config, *, height: int = 360) -> alt.TopLevelMixin | None:
    """The per-neuron shapes (n_i, s_i) of the heterogeneous network of seed 0, the latest evaluation in colour.

    Parameters
    ----------
    records : sequence of Record
        Of the ``activations`` run; the evaluations carry ``n`` and ``s``, shape (G, N).
    config : Config
    height : int
        Pixels.

    Returns
    -------
    altair.LayerChart or None
        Layers: the earlier evaluations (rows ``n``, ``s``, ``neuron``, ``epoch``, ``when``; faded), the latest one
        (N rows), the start (``config.n_init``, ``config.s_init``; red) and the centre of mass of the latest cloud
        (green), each marker with its label. Both axes zoom to the points. None before the first evaluation.
    """
    evals = evaluations(records)
    if not evals:
        return None
    row = mode_rows(config, "heterogeneous")[0]
    frames = []
    for rec in evals:
        n, s = np.asarray(rec.artifacts["n"])[row], np.asarray(rec.artifacts["s"])[row]  # (N,) each
        frames.append(pd.DataFrame({"n": n.astype(float), "s": s.astype(float), "neuron": np.arange(len(n)),
                                    "epoch": int(rec.artifacts["epoch"])}))
    latest_epoch = int(evals[-1].artifacts["epoch"])
    latest = frames[-1].assign(when=f"after epoch {latest_epoch}")
    earlier = pd.concat(frames[:-1], ignore_index=True).assign(when="earlier epochs") if len(frames) > 1 else None
    centre = pd.DataFrame({"n": [latest["n"].mean()], "s": [latest["s"].mean()], "label": ["centre of mass"]})
    start = pd.DataFrame({"n": [float(config.n_init)], "s": [float(config.s_init)], "label": ["start"]})
    all_n = np.concatenate([f["n"] for f in frames] + [start["n"], centre["n"]])
    all_s = np.concatenate([f["s"] for f in frames] + [start["s"], centre["s"]])
    x = alt.X("n:Q", title="gain n",
              scale=alt.Scale(domain=_padded(all_n, min_span=0.02 * max(1.0, abs(config.n_init))), zero=False,
                              nice=False))
    y = alt.Y("s:Q", title="saturation s", scale=alt.Scale(domain=_padded(all_s, min_span=0.02), zero=False,
                                                           nice=False))
    when = alt.Color("when:N", title=None, legend=alt.Legend(orient="bottom"),
                     scale=alt.Scale(domain=["earlier epochs", f"after epoch {latest_epoch}"],
                                     range=[_FADED_GREY, _CLOUD_BLUE]))
    tooltip = ["neuron:Q", "epoch:Q", alt.Tooltip("n:Q", format=".4f"), alt.Tooltip("s:Q", format=".4f")]
    layers = []
    if earlier is not None:
        layers.append(alt.Chart(earlier).mark_circle(size=28, opacity=0.45).encode(
            x=x, y=y, color=when, tooltip=tooltip))
    layers.append(alt.Chart(latest).mark_circle(size=55, opacity=0.85).encode(x=x, y=y, color=when, tooltip=tooltip))
    for df, colour, shape, side in ((start, _START_RED, "circle", -1), (centre, _CENTRE_GREEN, "diamond", 1)):
        layers.append(alt.Chart(df).mark_point(shape=shape, filled=True, size=240, color=colour, stroke="white",
                                               strokeWidth=1.5, opacity=1).encode(
            x=x, y=y, tooltip=["label:N", alt.Tooltip("n:Q", format=".4f"), alt.Tooltip("s:Q", format=".4f")]))
        layers.append(alt.Chart(df).mark_text(align="left" if side > 0 else "right", dx=12 * side, dy=-10 * side,
                                              fontSize=FONT_PX, fontWeight="bold",
                                              color=colour).encode(x=x, y=y, text="label:N"))
    title = f"Heterogeneous: (n, s) of {len(latest)} neurons"
    return _finish(alt.layer(*layers, title=title), height)


def lyapunov_chart(records: Sequence[Record], *, height: int = 260) -> alt.TopLevelMixin | None:
    """The largest Lyapunov exponent of each mode's input-free recurrence (seed 0) against the evaluation epoch.

    Parameters
    ----------
    records : sequence of Record
        Of the ``activations`` run; a measurement carries the artifacts ``lyap`` (bits per step), ``lyap_mode`` and
        ``lyap_epoch``.
    height : int
        Pixels.

    Returns
    -------
    altair.LayerChart or None
        Layers: the exponents (rows ``epoch``, ``mode``, ``exponent``) and a dashed rule at 0 (one row). None before
        the first measurement (or when the run does not measure it).
    """
    rows = [{"epoch": int(r.artifacts["lyap_epoch"]), "mode": MODE_LABELS[r.artifacts["lyap_mode"]],
             "exponent": float(r.artifacts["lyap"])} for r in records if "lyap" in r.artifacts]
    if not rows:
        return None
    lines = alt.Chart(pd.DataFrame(rows)).mark_line(
        strokeWidth=2.5, point=alt.OverlayMarkDef(filled=True, size=50)).encode(
        x=alt.X("epoch:Q", title="epoch", axis=_epoch_axis()),
        y=alt.Y("exponent:Q", title="λ max (bits per step)"),
        color=_mode_color(),
        tooltip=["epoch:Q", "mode:N", alt.Tooltip("exponent:Q", format=".3f")])
    zero = alt.Chart(pd.DataFrame({"exponent": [0.0]})).mark_rule(strokeDash=[6, 4], color="#555555").encode(
        y="exponent:Q")
    title = "Largest Lyapunov exponent, no input"
    return _finish(alt.layer(zero, lines, title=title), height)


def landscape_chart(records: Sequence[Record], config: GridConfig, *, height: int = 320) -> alt.TopLevelMixin | None:
    """Heat map of the latest static test accuracy over the grid of (n, s), each cell labelled with its value.

    Parameters
    ----------
    records : sequence of Record
        Of the ``activations_grid`` run; the evaluations carry ``acc``, shape (G,) in :func:`grid_points` order.
    config : GridConfig
    height : int
        Pixels.

    Returns
    -------
    altair.LayerChart or None
        Layers: the cells and their labels, both from the same rows ``n``, ``s``, ``accuracy``, ``label``, ``ink``
        (one per static grid point; ``ink`` is the text colour that reads on the cell). The colour scale spans 0-1,
        s = 1 is on top. None before the first evaluation.
    """
    evals = evaluations(records)
    if not evals:
        return None
    acc = np.asarray(evals[-1].artifacts["acc"], dtype=float)
    rows = [{"n": n, "s": s, "accuracy": float(acc[g])}
            for g, (n, s, mode) in enumerate(grid_points(config)) if mode == "static"]
    df = pd.DataFrame(rows)
    df["label"] = df["accuracy"].map(lambda a: f"{a:.2f}")
    df["ink"] = np.where(df["accuracy"] >= 0.6, "black", "white")  # viridis is dark below about 0.6
    x = alt.X("n:O", title="gain n", sort="ascending", axis=alt.Axis(labelAngle=0))
    y = alt.Y("s:O", title="saturation s", sort="descending")
    base = alt.Chart(df)
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        x=x, y=y, color=alt.Color("accuracy:Q", title="test accuracy",
                                  scale=alt.Scale(domain=[0, 1], scheme="viridis"),
                                  legend=alt.Legend(orient="right", gradientLength=160)),
        tooltip=["n:O", "s:O", alt.Tooltip("accuracy:Q", format=".3f")])
    text = base.mark_text(fontSize=FONT_PX, fontWeight="bold").encode(
        x=x, y=y, text="label:N", color=alt.Color("ink:N", scale=None))
    title = f"Static: test accuracy after epoch {int(evals[-1].artifacts['epoch'])}"
    return _finish(alt.layer(cells, text, title=title).resolve_scale(color="independent"), height)


def trajectories_chart(records: Sequence[Record], config: GridConfig, *, height: int = 360
                       ) -> alt.TopLevelMixin | None:
    """Paths of the learned (n, s) of the homogeneous networks from every grid point over the evaluations.

    Parameters
    ----------
    records : sequence of Record
        Of the ``activations_grid`` run; the evaluations carry ``acc``, ``n`` and ``s``, shape (G,) each.
    config : GridConfig
    height : int
        Pixels.

    Returns
    -------
    altair.LayerChart or None
        Layers: the paths (rows ``start``, ``epoch``, ``n``, ``s``; grey), the starts (rows ``start``, ``n``, ``s``;
        hollow circles) and the ends (rows ``start``, ``n``, ``s``, ``accuracy``; filled, coloured by the latest test
        accuracy on a 0-1 scale). The axes span n in [0, 21] and s in [−0.15, 1.75], widened if a path leaves them.
        None when the run trains no homogeneous networks, or before the first evaluation.
    """
    if not config.homogeneous:
        return None
    evals = evaluations(records)
    if not evals:
        return None
    hom = [(g, n0, s0) for g, (n0, s0, mode) in enumerate(grid_points(config)) if mode == "homogeneous"]
    paths = pd.DataFrame([{"start": f"({n0:g}, {s0:g})", "epoch": int(rec.artifacts["epoch"]),
                           "n": float(np.asarray(rec.artifacts["n"])[g]), "s": float(np.asarray(rec.artifacts["s"])[g])}
                          for rec in evals for g, n0, s0 in hom])
    starts = pd.DataFrame([{"start": f"({n0:g}, {s0:g})", "n": float(n0), "s": float(s0)} for _, n0, s0 in hom])
    last = evals[-1].artifacts
    ends = pd.DataFrame([{"start": f"({n0:g}, {s0:g})", "n": float(np.asarray(last["n"])[g]),
                          "s": float(np.asarray(last["s"])[g]), "accuracy": float(np.asarray(last["acc"])[g])}
                         for g, n0, s0 in hom])
    n_max, s_min, s_max = paths["n"].max(), paths["s"].min(), paths["s"].max()
    x = alt.X("n:Q", title="gain n", scale=alt.Scale(domain=[min(0.0, paths["n"].min() - 0.5),
                                                             max(21.0, n_max + 0.5)], nice=False))
    y = alt.Y("s:Q", title="saturation s", scale=alt.Scale(domain=[min(-0.15, s_min - 0.05), max(1.75, s_max + 0.05)],
                                                           nice=False))
    lines = alt.Chart(paths).mark_line(color="#8a8a8a", strokeWidth=2).encode(
        x=x, y=y, detail="start:N", order="epoch:Q",
        tooltip=["start:N", "epoch:Q", alt.Tooltip("n:Q", format=".3f"), alt.Tooltip("s:Q", format=".3f")])
    hollow = alt.Chart(starts).mark_point(shape="circle", filled=False, size=110, color="#444444",
                                          strokeWidth=1.5).encode(x=x, y=y, tooltip=["start:N"])
    filled = alt.Chart(ends).mark_circle(size=110, opacity=1, stroke="#333333", strokeWidth=0.8).encode(
        x=x, y=y, color=alt.Color("accuracy:Q", title="test accuracy", scale=alt.Scale(domain=[0, 1], scheme="viridis"),
                                  legend=alt.Legend(orient="right", gradientLength=160)),
        tooltip=["start:N", alt.Tooltip("n:Q", format=".3f"), alt.Tooltip("s:Q", format=".3f"),
                 alt.Tooltip("accuracy:Q", format=".3f")])
    title = f"Homogeneous: (n, s) paths, epochs 0-{int(last['epoch'])}"
    return _finish(alt.layer(lines, hollow, filled, title=title), height)


def shift_chart(records: Sequence[Record], config: ShiftConfig, *, height: int = 320) -> alt.TopLevelMixin | None:
    """Grouped bars of the latest test accuracy on clean and on shifted digits for each way of adapting.

    Parameters
    ----------
    records : sequence of Record
        Of the ``activations_shift`` run (metrics ``phase``, ``clean_acc``, ``shifted_acc``, ``shape_*_acc``,
        ``readout_*_acc``).
    config : ShiftConfig
        Gives the parameter counts of the two adapted copies.
    height : int
        Pixels.

    Returns
    -------
    altair.LayerChart or None
        Layers: the bars and their values, both from the same rows ``network``, ``test``, ``accuracy``, ``label``
        (2 rows while training on clean digits, 6 once adaptation has started). None without records.
    """
    if not records:
        return None
    metrics = records[-1].metrics
    counts = shift_parameter_counts(config)
    names = {"no adaptation": ("clean_acc", "shifted_acc"),
             f"shapes only ({counts['shape']} parameters)": ("shape_clean_acc", "shape_shifted_acc"),
             f"readout only ({counts['readout']} parameters)": ("readout_clean_acc", "readout_shifted_acc")}
    if metrics.get("phase", 0.0) < 1.0:
        names = dict(list(names.items())[:1])
    df = pd.DataFrame([{"network": name, "test": split, "accuracy": float(metrics[key])}
                       for name, keys in names.items() for split, key in zip(_SPLITS, keys)])
    df["label"] = df["accuracy"].map(lambda a: f"{a:.2f}")
    cut = "indexof(datum.label, ' (')"  # the parameter count goes on a second line
    two_lines = f"{cut} < 0 ? datum.label : [substring(datum.label, 0, {cut}), substring(datum.label, {cut} + 1)]"
    x = alt.X("network:N", title=None, sort=list(names),
              axis=alt.Axis(labelAngle=0, labelLimit=0, labelOverlap=False, labelExpr=two_lines))
    offset = alt.XOffset("test:N", sort=list(_SPLITS))
    y = alt.Y("accuracy:Q", title="test accuracy", scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(df)
    bars = base.mark_bar().encode(
        x=x, xOffset=offset, y=y,
        color=alt.Color("test:N", title=None, scale=color_scale(list(_SPLITS)), legend=alt.Legend(orient="bottom")),
        tooltip=["network:N", "test:N", alt.Tooltip("accuracy:Q", format=".3f")])
    text = base.mark_text(dy=-8, fontSize=FONT_PX, color="#333333").encode(x=x, xOffset=offset, y=y, text="label:N")
    title = "Test accuracy after the shift"
    return _finish(alt.layer(bars, text, title=title), height)


def shift_curve_chart(records: Sequence[Record], *, height: int = 280) -> alt.TopLevelMixin | None:
    """Test accuracy on clean and shifted digits over the training epochs, then over the adaptation epochs.

    The trained network is "no adaptation"; from the last training epoch on, the two adapted copies ("shapes only",
    "readout only") each draw their own lines, starting from the trained network's point.

    Parameters
    ----------
    records : sequence of Record
        Of the ``activations_shift`` run; training epochs carry the artifacts ``epoch``, ``clean``, ``shifted``,
        adaptation epochs ``adapt_epoch`` and ``<copy>_clean``, ``<copy>_shifted``.
    height : int
        Pixels.

    Returns
    -------
    altair.LayerChart or None
        Layers: the lines and the points (both rows ``epoch``, ``network``, ``test``, ``accuracy``) and, once
        adaptation has started, a vertical rule at its first epoch with its label (one row). None before the first
        training epoch ends.
    """
    train = [r.artifacts for r in records if "clean" in r.artifacts and "epoch" in r.artifacts]
    adapt = [r.artifacts for r in records if "adapt_epoch" in r.artifacts]
    if not train:
        return None
    rows = [{"epoch": int(a["epoch"]), "network": _SHIFT_NETWORKS[0], "test": split, "accuracy": float(a[key])}
            for a in train for split, key in zip(_SPLITS, ("clean", "shifted"))]
    start = max(int(a["epoch"]) for a in train)
    adapting = bool(adapt) or any(r.metrics.get("phase", 0.0) >= 1.0 for r in records[-1:])
    if adapting:
        trained = train[-1]
        for network, copy in zip(_SHIFT_NETWORKS[1:], ("shape", "readout")):
            for split, key in zip(_SPLITS, ("clean", "shifted")):
                rows.append({"epoch": start, "network": network, "test": split, "accuracy": float(trained[key])})
                rows += [{"epoch": start + int(a["adapt_epoch"]), "network": network, "test": split,
                          "accuracy": float(a[f"{copy}_{key}"])} for a in adapt]
    df = pd.DataFrame(rows)
    base = alt.Chart(df).encode(
        x=alt.X("epoch:Q", title="epoch (training, then adaptation)", axis=_epoch_axis()),
        y=alt.Y("accuracy:Q", title="test accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("network:N", title=None, scale=color_scale(list(_SHIFT_NETWORKS)),
                        legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3)),
        tooltip=["epoch:Q", "network:N", "test:N", alt.Tooltip("accuracy:Q", format=".3f")])
    # lines and points are two layers of the same rows; only the line layer claims the dash legend (line samples)
    dash = alt.StrokeDash("test:N", title=None, scale=alt.Scale(domain=list(_SPLITS), range=[[1, 0], [6, 3]]),
                          legend=alt.Legend(orient="top", symbolType="stroke", symbolStrokeColor="#333333",
                                            symbolStrokeWidth=2.5, symbolSize=600))
    lines = base.mark_line(strokeWidth=2.5).encode(strokeDash=dash)
    points = base.mark_point(filled=True, size=45).encode(detail="test:N")
    title = "Accuracy over training and adaptation"
    if not adapting:
        return _finish(alt.layer(lines, points, title=title), height)
    marker = pd.DataFrame({"epoch": [start], "label": ["adaptation starts"]})
    rule = alt.Chart(marker).mark_rule(strokeDash=[4, 4], color="#555555", strokeWidth=1.5).encode(x="epoch:Q")
    text = alt.Chart(marker).mark_text(align="left", baseline="top", dx=6, y=4, fontSize=FONT_PX,
                                       color="#333333").encode(x="epoch:Q", text="label:N")
    return _finish(alt.layer(lines, points, rule, text, title=title), height)
