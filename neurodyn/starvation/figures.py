"""Altair figures of the gradient-starvation page (arXiv:2011.09468, ``docs/papers/starvation.md §4``).

Pure chart builders from the records of :mod:`neurodyn.starvation.experiment`; no streamlit. Every chart takes its
container's width (``width="container"``; exported copies get a fixed width from :func:`fixed_width`); text sizes come
from the shared theme (:mod:`neurodyn.viz.theme`). Each layer holds its own rows.

- :func:`boundary_chart`: one regulariser's output over the plane (seed mean), its zero contour and the points.
- :func:`margin_chart`: the training margins y·ŷ of every regulariser against the SD fixed point u*.
- :func:`boundary_metric_chart`: a boundary metric of every regulariser at each snapshot.
- :func:`loss_chart`: training loss of every regulariser (log scale).
- :func:`responses_chart`: feature responses |Uᵀŷ| over the epochs, cross-entropy against SD.
- :func:`toy_chart`: the linear toy's final responses against s1, with the values the authors' script prints.
"""

from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.core.loop import Record
from neurodyn.starvation.experiment import EXTENT, HEAT_SIZE, REG_LABELS, REGULARISERS, Config, sd_margin_target
from neurodyn.viz.theme import color_scale, fixed_width

__all__ = ["fixed_width", "snapshots", "latest_snapshot", "boundary_chart", "margin_chart", "boundary_metric_chart",
           "loss_chart", "responses_chart", "chosen_components", "toy_chart", "CLASS_LABELS"]

CLASS_LABELS = {1.0: "class +1", -1.0: "class −1"}
_REG_DOMAIN = [REG_LABELS[r] for r in REGULARISERS]
_CLASS_COLORS = ["#D55E00", "#0072B2"]  # class +1 vermillion, class −1 blue (as the heat map's signs)
_HEAT_LIMIT = 6.0  # the output colour scale saturates at ±6


def _finish(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    return chart.properties(width="container", height=height)


def _reg_color() -> alt.Color:
    return alt.Color("regulariser:N", title=None, scale=color_scale(_REG_DOMAIN),
                     legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3))


def snapshots(records: Sequence[Record], reg: str) -> list[Record]:
    """The records carrying a boundary snapshot of regulariser ``reg``, in order."""
    return [r for r in records if r.artifacts.get("reg") == reg]


def latest_snapshot(records: Sequence[Record], reg: str) -> Record | None:
    """The latest boundary snapshot of ``reg``, or None."""
    found = snapshots(records, reg)
    return found[-1] if found else None


def boundary_chart(snapshot: Record, X: np.ndarray, y: np.ndarray, *, height: int = 330) -> alt.LayerChart:
    """The network output over the plane (mean over seeds), its zero contour and the training points.

    Parameters
    ----------
    snapshot : Record
        A snapshot record (artifacts ``reg``, ``epoch``, ``heat`` (HEAT_SIZE, HEAT_SIZE), ``contour`` (k, 2)).
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n,)
        Labels in {−1, +1}.
    height : int

    Returns
    -------
    altair.LayerChart
        Layers: the heat map (HEAT_SIZE² cells: ``x``, ``y``, ``output``), the contour points (``x``, ``y``), the
        training points (``x``, ``y``, ``class``).
    """
    a = snapshot.artifacts
    heat = np.asarray(a["heat"], dtype=np.float64)
    axis = np.linspace(-EXTENT, EXTENT, HEAT_SIZE)
    half = (axis[1] - axis[0]) / 2
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    cells = pd.DataFrame({"x": xx.ravel() - half, "x2": xx.ravel() + half, "y": yy.ravel() - half,
                          "y2": yy.ravel() + half, "output": heat.ravel()})
    scale_x = alt.Scale(domain=[-EXTENT, EXTENT], nice=False)
    scale_y = alt.Scale(domain=[-EXTENT, EXTENT], nice=False)
    heat_layer = alt.Chart(cells).mark_rect().encode(
        x=alt.X("x:Q", title="x (the separable direction)", scale=scale_x), x2="x2:Q",
        y=alt.Y("y:Q", title="y", scale=scale_y), y2="y2:Q",
        color=alt.Color("output:Q", title="output",
                        scale=alt.Scale(scheme="redblue", domain=[-_HEAT_LIMIT, _HEAT_LIMIT], reverse=True, clamp=True),
                        legend=alt.Legend(orient="right", gradientLength=140)))
    layers = [heat_layer]
    contour = np.asarray(a["contour"], dtype=np.float64).reshape(-1, 2)
    if len(contour):
        layers.append(alt.Chart(pd.DataFrame({"x": contour[:, 0], "y": contour[:, 1]})).mark_circle(
            size=10, color="black", opacity=0.9).encode(x=alt.X("x:Q", scale=scale_x), y=alt.Y("y:Q", scale=scale_y)))
    pts = pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "class": [CLASS_LABELS[float(v)] for v in y]})
    layers.append(alt.Chart(pts).mark_point(filled=True, size=22, stroke="white", strokeWidth=0.6).encode(
        x=alt.X("x:Q", scale=scale_x), y=alt.Y("y:Q", scale=scale_y),
        color=alt.Color("class:N", title=None, scale=alt.Scale(domain=list(CLASS_LABELS.values()),
                                                               range=_CLASS_COLORS),
                        legend=alt.Legend(orient="bottom"))))
    title = f"{REG_LABELS[a['reg']].lstrip('+ ').capitalize()}, epoch {int(a['epoch'])}"
    return _finish(alt.layer(*layers, title=title).resolve_scale(color="independent"), height)


def margin_chart(records: Sequence[Record], config: Config, *, height: int = 280) -> alt.LayerChart | None:
    """Histogram of the training margins y·ŷ of every regulariser at its latest snapshot, with u* of SD marked.

    Returns
    -------
    altair.LayerChart or None
        Layers: the bars (rows ``margin``, ``regulariser``), the rule at u* (one row). None before a snapshot.
    """
    rows = []
    for reg in REGULARISERS:
        snap = latest_snapshot(records, reg)
        if snap is not None:
            rows += [{"margin": float(v), "regulariser": REG_LABELS[reg]}
                     for v in np.asarray(snap.artifacts["margins"]).ravel()]
    if not rows:
        return None
    df = pd.DataFrame(rows)
    u = sd_margin_target(config)
    hi = max(float(df["margin"].quantile(0.99)), u) + 0.5
    bars = alt.Chart(df).mark_bar(opacity=0.55, binSpacing=0).encode(
        x=alt.X("margin:Q", title="training margin y·ŷ", bin=alt.Bin(extent=[min(-1.0, df["margin"].min()), hi],
                                                                      maxbins=60)),
        y=alt.Y("count():Q", title="points", stack=None),
        color=alt.Color("regulariser:N", title=None, scale=color_scale(_REG_DOMAIN),
                        legend=alt.Legend(orient="bottom", symbolType="square", symbolOpacity=0.8)))
    mark = pd.DataFrame({"margin": [u], "label": [f"u* = {u:.2f}"]})
    rule = alt.Chart(mark).mark_rule(strokeDash=[5, 3], color="black", strokeWidth=2).encode(x="margin:Q")
    text = alt.Chart(mark).mark_text(align="left", dx=5, y=8, baseline="top").encode(x="margin:Q", text="label:N")
    return _finish(alt.layer(bars, rule, text, title="Margins of the training points"), height)


def boundary_metric_chart(records: Sequence[Record], metric: str, *, height: int = 260) -> alt.Chart | None:
    """One boundary metric (``min_dist``, ``p10_dist`` or ``boundary_x``) of every regulariser at each snapshot.

    Returns
    -------
    altair.Chart or None
        Rows ``epoch``, ``value``, ``regulariser``; None before the first snapshot.
    """
    titles = {"min_dist": "nearest point to the boundary", "p10_dist": "10th-percentile distance to the boundary",
              "boundary_x": "mean |x| of the boundary"}
    rows = []
    for reg in REGULARISERS:
        for snap in snapshots(records, reg):
            per_seed = np.asarray(snap.artifacts["per_seed"])
            col = ("min_dist", "p10_dist", "boundary_x").index(metric)
            rows.append({"epoch": int(snap.artifacts["epoch"]), "value": float(per_seed[:, col].mean()),
                         "regulariser": REG_LABELS[reg]})
    if not rows:
        return None
    chart = alt.Chart(pd.DataFrame(rows), title=titles[metric].capitalize()).mark_line(point=True, strokeWidth=2.5)
    return _finish(chart.encode(x=alt.X("epoch:Q", title="epoch"), y=alt.Y("value:Q", title=titles[metric]),
                                color=_reg_color()), height)


def loss_chart(records: Sequence[Record], *, height: int = 260) -> alt.Chart:
    """Training loss of every regulariser (mean over seeds) against epoch, log scale.

    Returns
    -------
    altair.Chart
        Rows ``epoch``, ``loss``, ``regulariser`` (one per record that trained and regulariser).
    """
    seen, rows = set(), []
    for r in records:
        e = r.metrics["epoch"]
        if e in seen:
            continue
        seen.add(e)
        rows += [{"epoch": e, "loss": r.metrics[f"loss_{g}"], "regulariser": REG_LABELS[g]} for g in REGULARISERS]
    chart = alt.Chart(pd.DataFrame(rows), title="Training loss (with each regulariser's penalty)").mark_line(
        strokeWidth=2.5)
    return _finish(chart.encode(x=alt.X("epoch:Q", title="epoch"),
                                y=alt.Y("loss:Q", title="loss", scale=alt.Scale(type="log")), color=_reg_color()),
                   height)


def chosen_components(records: Sequence[Record], n: int = 2) -> list[int]:
    """The ``n`` eigen-directions (of the recorded top ones) where cross-entropy's final response is largest.

    The card's pitfall: the feature figure depends on the components drawn; these are the ones the labels load on.
    """
    last = np.asarray(records[-1].artifacts["responses"])[0]  # (N_RESPONSES,), cross-entropy
    return sorted(int(j) for j in np.argsort(-last)[:n])


def responses_chart(records: Sequence[Record], components: Sequence[int], *, height: int = 300) -> alt.Chart:
    """Feature responses |Uᵀŷ| of seed 0 over the epochs for the given eigen-directions, one colour per regulariser.

    Parameters
    ----------
    records : sequence of Record
        Each carries ``responses`` (3, N_RESPONSES).
    components : sequence of int
        Indices into the recorded eigen-directions (0 = largest eigenvalue of the tangent kernel at init).

    Returns
    -------
    altair.Chart
        Rows ``epoch``, ``response``, ``regulariser``, ``direction``.
    """
    seen, rows = set(), []
    for r in records:
        e = r.metrics["epoch"]
        if e in seen:
            continue
        seen.add(e)
        resp = np.asarray(r.artifacts["responses"])
        for i, reg in enumerate(REGULARISERS):
            for j in components:
                rows.append({"epoch": e, "response": float(resp[i, j]), "regulariser": REG_LABELS[reg],
                             "direction": f"direction {j + 1}"})
    chart = alt.Chart(pd.DataFrame(rows), title="Feature responses |Uᵀŷ| (seed 0)").mark_line(strokeWidth=2.5)
    return _finish(chart.encode(
        x=alt.X("epoch:Q", title="epoch"), y=alt.Y("response:Q", title="response |Uᵀŷ|"), color=_reg_color(),
        strokeDash=alt.StrokeDash("direction:N", title=None, legend=alt.Legend(orient="bottom", symbolType="stroke",
                                                                               symbolStrokeColor="#333333"))), height)


def toy_chart(records: Sequence[Record], printed: dict[float, float], printed_sd: tuple[float, float], *,
              which: str | None = None, height: int = 320) -> alt.LayerChart:
    """Final |z1| and |z2| of the linear toy against s1, under weight decay and under SD, with the printed values.

    Parameters
    ----------
    records : sequence of Record
        Of a ``starvation_toy`` run.
    printed : dict
        s1 -> |z2| under weight decay printed by the authors' script.
    printed_sd : (float, float)
        (|z1|, |z2|) under SD printed by the script.
    which : {"z1", "z2"}, optional
        Draw only this response (on its own y scale, where the starvation of z2 is visible); both by default.

    Returns
    -------
    altair.LayerChart
        Layers: the lines (rows ``s1``, ``z``, ``response``, ``regulariser``) and the printed values (rows ``s1``,
        ``z``, ``what``).
    """
    rows = []
    for r in records:
        m = r.metrics
        for reg, label in (("wd", "weight decay"), ("sd", "spectral decoupling")):
            rows.append({"s1": m["s1"], "z": m[f"z1_{reg}"], "response": "|z1|", "regulariser": label})
            rows.append({"s1": m["s1"], "z": m[f"z2_{reg}"], "response": "|z2|", "regulariser": label})
    df = pd.DataFrame(rows)
    lo, hi = float(df["s1"].min()), float(df["s1"].max())
    ref = [{"s1": s, "z": z, "what": "printed, weight decay", "response": "|z2|"} for s, z in printed.items()
           if lo <= s <= hi]
    ref += [{"s1": s, "z": z, "what": "printed, spectral decoupling", "response": r} for s in (lo, hi)
            for z, r in zip(printed_sd, ("|z1|", "|z2|"))]
    ref_df = pd.DataFrame(ref)
    title = "Linear toy: final responses against s1"
    if which is not None:
        label = f"|{which}|"
        df, ref_df = df[df["response"] == label], ref_df[ref_df["response"] == label]
        title = f"Linear toy: final {label} against s1"
    color = alt.Color("regulariser:N", title=None, scale=color_scale(["weight decay", "spectral decoupling"]),
                      legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3))
    dash = alt.StrokeDash("response:N", title=None, legend=None if which else alt.Legend(
        orient="bottom", symbolType="stroke", symbolStrokeColor="#333333"))
    lines = alt.Chart(df).mark_line(strokeWidth=3, point=True).encode(
        x=alt.X("s1:Q", title="strength s1 of the first feature"),
        y=alt.Y("z:Q", title=f"final response |{which}|" if which else "final response |z|",
                scale=alt.Scale(zero=which is None)),
        color=color, strokeDash=dash, detail="response:N")
    marks = alt.Chart(ref_df).mark_point(shape="diamond", size=110, color="black", filled=False,
                                                     strokeWidth=1.6).encode(x="s1:Q", y="z:Q",
                                                                             tooltip=["what:N", "s1:Q", "z:Q"])
    return _finish(alt.layer(lines, marks, title=title), height)

