"""Altair figures of the feature-alignment page (arXiv:2008.00938, ``docs/papers/alignment.md §5``).

Pure chart builders from the records of :mod:`neurodyn.alignment.experiment`; no streamlit. Every chart takes its
container's width (``width="container"``; exported copies get a fixed width from ``fixed_width``); the x axis of the
curves is the SGD step on a symmetric-log scale, so step 0 sits at the left edge and 10, 100, 1000 are evenly spaced.

- :func:`alignment_chart`: alignment of the training, test (and corrupted) probes, with the 0.105 ceiling.
- :func:`layer_chart`: alignment of each layer's kernel block, coloured by depth.
- :func:`eigen_chart`: largest, mean and median eigenvalue (log scale).
- :func:`rank_chart`: effective rank; :func:`mass_chart`: cumulative spectral mass T_k.
- :func:`spectrum_chart`: the spectrum at step 0 against the latest checkpoint.
- :func:`heat_chart`: the kernel between probe images, sorted by digit.
- :func:`accuracy_chart`: training and test accuracy.
"""

from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.alignment.claims import checkpoint_rows, probe_rows
from neurodyn.alignment.experiment import T_KS, Config, ceiling
from neurodyn.core.loop import Record
from neurodyn.viz.theme import color_scale, fixed_width

__all__ = ["fixed_width", "alignment_chart", "layer_chart", "eigen_chart", "rank_chart", "mass_chart",
           "spectrum_chart", "heat_chart", "accuracy_chart", "latest_checkpoint", "first_checkpoint"]



def _step(df: pd.DataFrame) -> alt.X:
    """The step axis: symmetric log, ticks at 0 and the powers of ten up to the largest step, no other grid lines."""
    top = float(df["step"].max()) if len(df) else 1.0
    ticks = [0] + [10 ** k for k in range(0, 7) if 10 ** k <= max(top, 1.0)]
    return alt.X("step:Q", title="SGD step (log scale)", scale=alt.Scale(type="symlog", constant=1),
                 axis=alt.Axis(values=ticks, format=",d"))
_PROBES = {"align_train": "training probe (clean labels)", "align_test": "test probe",
           "align_corrupt": "corrupted probe (random labels)"}


def _decades(values: pd.Series) -> alt.Axis:
    """A log axis with ticks and grid lines at the powers of ten that span ``values`` only."""
    v = values[values > 0]
    lo, hi = (int(np.floor(np.log10(v.min()))), int(np.ceil(np.log10(v.max())))) if len(v) else (0, 1)
    return alt.Axis(values=[10.0 ** k for k in range(lo, hi + 1)], format="~s")


def _finish(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    return chart.properties(width="container", height=height)


def _lines(df: pd.DataFrame, names: Sequence[str], y: alt.Y, title: str, *, color: alt.Color | None = None,
           height: int = 280) -> alt.Chart:
    color = color or alt.Color("series:N", title=None, scale=color_scale(names), sort=list(names),
                               legend=alt.Legend(orient="bottom", columns=2))
    return _finish(alt.Chart(df, title=title).mark_line(point=True, strokeWidth=2.5).encode(
        x=_step(df), y=y, color=color,
        tooltip=[alt.Tooltip("step:Q", title="step"), alt.Tooltip("series:N", title="curve"),
                 alt.Tooltip("value:Q", format=".4g")]), height)


def _long(rows: Sequence[dict[str, float]], keys: dict[str, str]) -> pd.DataFrame:
    out = [{"step": r["checkpoint"], "series": label, "value": float(r[k])} for r in rows for k, label in keys.items()
           if k in r]
    return pd.DataFrame(out, columns=["step", "series", "value"])


def alignment_chart(records: Sequence[Record], config: Config, *, height: int = 320) -> alt.LayerChart:
    """Alignment of the probes' kernels against the step, with the identical-blocks ceiling ``1/sqrt(c(c−1))``.

    Returns
    -------
    altair.LayerChart
        Lines: rows ``step``, ``series``, ``value`` (one per probe and checkpoint whose probes are done); the ceiling
        rule and its label (10 outputs only).
    """
    keys = {k: v for k, v in _PROBES.items() if k != "align_corrupt" or config.random_labels > 0}
    df = _long(probe_rows(records), keys)
    lines = _lines(df, list(keys.values()), alt.Y("value:Q", title="alignment with the labels"),
                   "Alignment of the tangent kernel with the labels", height=height)
    limit = ceiling(1 if config.binary else 10)
    if limit is None:
        return alt.layer(lines)
    rule_df = pd.DataFrame([{"value": limit, "text": f"{limit:.3f}: ceiling with identical output blocks"}])
    rule = alt.Chart(rule_df).mark_rule(strokeDash=[6, 4], color="#444444", strokeWidth=2).encode(y="value:Q")
    text = alt.Chart(rule_df).mark_text(align="left", baseline="bottom", dx=4, dy=-3, color="#333333").encode(
        y="value:Q", x=alt.value(0), text="text:N")
    return alt.layer(lines, rule, text)


def layer_chart(records: Sequence[Record], config: Config, *, height: int = 300) -> alt.Chart:
    """Alignment of each layer's kernel block, one line per layer coloured from light (input) to dark (output).

    Returns
    -------
    altair.Chart
        Rows ``step``, ``series`` ("layer 1 (input)", ..., "layer L (output)"), ``value``.
    """
    L = config.depth
    names = {f"align_layer{i + 1}": f"layer {i + 1}" + (" (input)" if i == 0 else " (output)" if i == L - 1 else "")
             for i in range(L)}
    order = list(names.values())
    color = alt.Color("series:N", title=None, sort=order, legend=alt.Legend(orient="bottom", columns=min(L, 3)),
                      scale=alt.Scale(domain=order, scheme="viridis", reverse=True))
    return _lines(_long(checkpoint_rows(records), names), order, alt.Y("value:Q", title="alignment of the block"),
                  "Alignment of each layer's kernel block", color=color, height=height)


def eigen_chart(records: Sequence[Record], *, height: int = 300) -> alt.Chart:
    """Largest, mean and median eigenvalue of the training-probe kernel (log scale).

    Returns
    -------
    altair.Chart
        Rows ``step``, ``series``, ``value``.
    """
    keys = {"eig_max": "largest", "eig_mean": "mean", "eig_median": "median"}
    df = _long(checkpoint_rows(records), keys)
    df = df[df["value"] > 0]
    return _lines(df, list(keys.values()), alt.Y("value:Q", title="eigenvalue", scale=alt.Scale(type="log"),
                                                 axis=_decades(df["value"])),
                  "Eigenvalues of the kernel", height=height)


def rank_chart(records: Sequence[Record], *, height: int = 300) -> alt.Chart:
    """Effective rank of the training-probe kernel.

    Returns
    -------
    altair.Chart
        Rows ``step``, ``series``, ``value``.
    """
    df = _long(checkpoint_rows(records), {"erank": "effective rank"})
    return _lines(df, ["effective rank"], alt.Y("value:Q", title="effective rank", scale=alt.Scale(zero=False)),
                  "Effective rank of the kernel", height=height)


def mass_chart(records: Sequence[Record], *, height: int = 300) -> alt.Chart:
    """Cumulative spectral mass T_k of the training-probe kernel for the recorded k.

    Returns
    -------
    altair.Chart
        Rows ``step``, ``series`` ("top k"), ``value`` in [0, 1].
    """
    keys = {f"t{k}": f"top {k}" for k in T_KS}
    return _lines(_long(checkpoint_rows(records), keys), list(keys.values()),
                  alt.Y("value:Q", title="share of the trace", scale=alt.Scale(domain=[0, 1])),
                  "Share of the spectrum in the top k eigenvalues", height=height)


def first_checkpoint(records: Sequence[Record]) -> Record | None:
    """The record of the first training-probe kernel (step 0), or None."""
    return next((r for r in records if "checkpoint" in r.artifacts), None)


def latest_checkpoint(records: Sequence[Record]) -> Record | None:
    """The record of the latest training-probe kernel, or None."""
    return next((r for r in reversed(records) if "checkpoint" in r.artifacts), None)


def spectrum_chart(records: Sequence[Record], *, height: int = 300) -> alt.Chart:
    """Eigenvalues in decreasing order (log-log) at step 0 and at the latest checkpoint.

    Returns
    -------
    altair.Chart
        Rows ``rank`` (1-based), ``eigenvalue`` (> 0), ``when``.
    """
    rows = []
    first, last = first_checkpoint(records), latest_checkpoint(records)
    for rec in ([first] if first is last else [first, last]) if first is not None else []:
        lam = np.asarray(rec.artifacts["spectrum"], dtype=float)
        keep = np.unique(np.geomspace(1, len(lam), 120).astype(int)) - 1  # evenly spaced on the log axis
        when = f"step {int(rec.artifacts['checkpoint'])}"
        rows += [{"rank": int(i) + 1, "eigenvalue": float(lam[i]), "when": when} for i in keep if lam[i] > 0]
    df = pd.DataFrame(rows, columns=["rank", "eigenvalue", "when"])
    names = list(dict.fromkeys(df["when"]))
    return _finish(alt.Chart(df, title="Spectrum of the kernel: step 0 and now").mark_line(strokeWidth=2.5).encode(
        x=alt.X("rank:Q", title="rank of the eigenvalue", scale=alt.Scale(type="log"), axis=_decades(df["rank"])),
        y=alt.Y("eigenvalue:Q", title="eigenvalue", scale=alt.Scale(type="log"), axis=_decades(df["eigenvalue"])),
        color=alt.Color("when:N", title=None, scale=color_scale(names), legend=alt.Legend(orient="bottom"))), height)


def heat_chart(rec: Record, *, height: int = 420) -> alt.Chart:
    """The kernel between the probe images (outputs summed, as cosines), sorted by digit.

    Parameters
    ----------
    rec : Record
        A checkpoint record (artifacts ``heat`` (m, m), ``heat_labels`` (n,), ``checkpoint``).

    Returns
    -------
    altair.Chart
        Rows ``i``, ``j``, ``cosine``, and the digits of both images.
    """
    heat = np.asarray(rec.artifacts["heat"], dtype=float)
    labels = np.asarray(rec.artifacts["heat_labels"])
    m, n = heat.shape[0], len(labels)
    keep = np.linspace(0, n - 1, m).round().astype(int)
    digit = labels[keep]
    ii, jj = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    df = pd.DataFrame({"i": ii.ravel(), "j": jj.ravel(), "cosine": heat.ravel(),
                       "digit_i": digit[ii.ravel()], "digit_j": digit[jj.ravel()]})
    # one tick per digit, at the first image of that digit
    firsts = [int(np.argmax(digit == d)) for d in np.unique(digit)]
    axis = alt.Axis(values=firsts, labelExpr=" 'digit ' + " + _digit_expr(firsts, digit), grid=False)
    return _finish(alt.Chart(df, title=f"Kernel between probe images at step {int(rec.artifacts['checkpoint'])}")
                   .mark_rect().encode(
                       x=alt.X("j:O", title="probe images, sorted by digit", axis=axis),
                       # the row labels ("digit 3") say it; a rotated title beside them was cut off in a half column
                       y=alt.Y("i:O", title=None, axis=axis),
                       color=alt.Color("cosine:Q", title="cosine", scale=alt.Scale(scheme="blueorange",
                                                                                   domain=[-1, 1])),
                       tooltip=[alt.Tooltip("digit_i:Q", title="digit (row)"),
                                alt.Tooltip("digit_j:Q", title="digit (column)"),
                                alt.Tooltip("cosine:Q", format=".3f")]), height)


def _digit_expr(firsts: Sequence[int], digit: np.ndarray) -> str:
    """A Vega expression mapping a tick position (first index of a digit) to that digit."""
    expr = "''"
    for pos in reversed(firsts):
        expr = f"(datum.value == {pos} ? '{int(digit[pos])}' : {expr})"
    return expr


def accuracy_chart(records: Sequence[Record], *, height: int = 280) -> alt.Chart:
    """Training and test accuracy against the step.

    Returns
    -------
    altair.Chart
        Rows ``step``, ``series``, ``value`` (one per record that trained).
    """
    seen, rows = set(), []
    for r in records:
        s = r.metrics["step"]
        if s in seen:
            continue
        seen.add(s)
        rows += [{"step": s, "series": "training set", "value": r.metrics["train_acc"]},
                 {"step": s, "series": "test set", "value": r.metrics["test_acc"]}]
    df = pd.DataFrame(rows, columns=["step", "series", "value"])
    names = ["training set", "test set"]
    return _finish(alt.Chart(df, title="Accuracy").mark_line(strokeWidth=2.5).encode(
        x=_step(df), y=alt.Y("value:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("series:N", title=None, scale=color_scale(names), legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("series:N", title="set"),
                 alt.Tooltip("value:Q", format=".3f")]), height)
