"""Figures for the Lyapunov page (Vogt et al., arXiv:2006.14123): spectra during training, lambda_max and loss,
finite-time convergence, and the init-scale sweep.

Pure altair builders from the records of the ``lyapunov`` and ``lyapunov_sweep`` experiments
(:mod:`neurodyn.lyapunov.experiment`); nothing here imports streamlit. ``unit`` is ``"nats"`` or ``"bits"`` (the
experiment's ``units`` field) and only labels the axes.
"""

from __future__ import annotations

from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.viz.theme import color_scale

__all__ = [
    "spectrum_frame",
    "spectrum_chart",
    "lambda_max_chart",
    "loss_chart",
    "convergence_chart",
    "sweep_frame",
    "sweep_chart",
    "sweep_spectra_chart",
]


def _data(df: pd.DataFrame) -> alt.Data:
    """Inline values (no pandas type inference, no 5000-row limit)."""
    return alt.Data(values=df.to_dict(orient="records"))


def _axis(unit: str) -> str:
    return f"λ ({unit} per step)"


def _spectrum_records(records: Sequence[Any]) -> list[Any]:
    return [r for r in records if "spectrum" in r.artifacts and "le_step" in r.artifacts]


def _empty(title: str) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"x": []}), title=title).mark_point()


def spectrum_frame(records: Sequence[Any]) -> pd.DataFrame:
    """Spectra of a ``lyapunov`` run in long form: columns ``step``, ``i`` (1-based), ``lam``, ``std``.

    Parameters
    ----------
    records : sequence of Record

    Returns
    -------
    pandas.DataFrame
    """
    rows = []
    for r in _spectrum_records(records):
        lam = np.asarray(r.artifacts["spectrum"], dtype=float)
        std = np.asarray(r.artifacts.get("spectrum_std", np.zeros_like(lam)), dtype=float)
        step = int(r.artifacts["le_step"])
        rows += [{"step": step, "i": i + 1, "lam": float(v), "std": float(s)} for i, (v, s) in enumerate(zip(lam, std))]
    return pd.DataFrame(rows, columns=["step", "i", "lam", "std"])


def spectrum_chart(records: Sequence[Any], *, unit: str = "nats", height: int = 340) -> alt.Chart:
    """Headline figure: one spectrum per checkpoint, ``λ_i`` against the index ``i``, coloured by training step.

    Parameters
    ----------
    records : sequence of Record
        Records of the ``lyapunov`` experiment.
    unit : {"nats", "bits"}
    height : int

    Returns
    -------
    altair.Chart
    """
    df = spectrum_frame(records)
    title = "Lyapunov spectrum during training"
    if df.empty:
        return _empty(title)
    zero = alt.Chart(_data(pd.DataFrame({"y": [0.0]}))).mark_rule(strokeDash=[4, 4], opacity=0.5).encode(y="y:Q")
    lines = (
        alt.Chart(_data(df), title=title)
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .encode(
            x=alt.X("i:Q", title="exponent index i"),
            y=alt.Y("lam:Q", title=_axis(unit)),
            color=alt.Color("step:Q", title="training step", scale=alt.Scale(scheme="viridis")),
            detail="step:N",
            tooltip=["step:Q", "i:Q", alt.Tooltip("lam:Q", format=".4f", title="λ"),
                     alt.Tooltip("std:Q", format=".3f", title="batch std")],
        )
    )
    return (lines + zero).properties(height=height)


def lambda_max_chart(records: Sequence[Any], *, unit: str = "nats", height: int = 240) -> alt.Chart:
    """Largest exponent (and the mean exponent) at every checkpoint against the training step.

    Parameters
    ----------
    records : sequence of Record
    unit : {"nats", "bits"}
    height : int

    Returns
    -------
    altair.Chart
    """
    rows = []
    for r in _spectrum_records(records):
        lam = np.asarray(r.artifacts["spectrum"], dtype=float)
        step = int(r.artifacts["le_step"])
        rows.append({"step": step, "series": "λ_max", "value": float(lam[0])})
        rows.append({"step": step, "series": "mean λ", "value": float(lam.mean())})
    df = pd.DataFrame(rows, columns=["step", "series", "value"])
    title = "Largest exponent over training"
    if df.empty:
        return _empty(title)
    return (
        alt.Chart(_data(df), title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="training step"),
            y=alt.Y("value:Q", title=_axis(unit)),
            color=alt.Color("series:N", title=None, scale=color_scale(["λ_max", "mean λ"])),
            tooltip=["step:Q", "series:N", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(height=height)
    )


def loss_chart(records: Sequence[Any], *, height: int = 240, max_points: int = 400) -> alt.Chart:
    """Training loss (every step, thinned to ``max_points``) and validation loss at the checkpoints, in nats.

    Parameters
    ----------
    records : sequence of Record
    height : int
    max_points : int

    Returns
    -------
    altair.Chart
    """
    train = [(r.metrics.get("train_step", r.step), r.metrics["train_loss"]) for r in records
             if "train_loss" in r.metrics]
    if len(train) > max_points:
        idx = np.linspace(0, len(train) - 1, max_points).round().astype(int)
        train = [train[i] for i in idx]
    rows = [{"step": float(s), "series": "train", "loss": float(v)} for s, v in train]
    rows += [{"step": float(r.artifacts["le_step"]), "series": "validation", "loss": float(r.artifacts["val_loss"])}
             for r in _spectrum_records(records) if "val_loss" in r.artifacts]
    df = pd.DataFrame(rows, columns=["step", "series", "loss"])
    title = "Cross-entropy (nats per character)"
    if df.empty:
        return _empty(title)
    encoding = {"x": alt.X("step:Q", title="training step"),
                "y": alt.Y("loss:Q", title="loss", scale=alt.Scale(zero=False)),
                "color": alt.Color("series:N", title=None, scale=color_scale(["train", "validation"])),
                "tooltip": ["step:Q", "series:N", alt.Tooltip("loss:Q", format=".4f")]}
    chart = alt.Chart(_data(df), title=title).encode(**encoding).mark_line(opacity=0.8)
    validation = df[df["series"] == "validation"]
    if not validation.empty:  # the points hold their own rows; a layer with none would make Vega warn
        chart = chart + alt.Chart(_data(validation)).encode(**encoding).mark_point(filled=True, size=50)
    return chart.properties(height=height)


def convergence_chart(records: Sequence[Any], *, unit: str = "nats", checkpoint: int | None = None,
                      height: int = 240) -> alt.Chart:
    """Finite-time estimates ``λ_i(t)`` of the top exponents against the measured steps ``t``.

    Parameters
    ----------
    records : sequence of Record
    unit : {"nats", "bits"}
    checkpoint : int, optional
        Training step of the spectrum to show; default the latest.
    height : int

    Returns
    -------
    altair.Chart
    """
    recs = [r for r in _spectrum_records(records) if "curves" in r.artifacts]
    if checkpoint is not None:
        recs = [r for r in recs if int(r.artifacts["le_step"]) == checkpoint]
    title = "Convergence of the top exponents"
    if not recs:
        return _empty(title)
    art = recs[-1].artifacts
    curves = np.asarray(art["curves"], dtype=float)  # (n, n_top)
    steps = np.asarray(art["curve_steps"], dtype=float)
    rows = [{"t": float(t), "exponent": f"λ_{j + 1}", "lam": float(curves[n, j])}
            for n, t in enumerate(steps) for j in range(curves.shape[1])]
    names = [f"λ_{j + 1}" for j in range(curves.shape[1])]
    return (
        alt.Chart(_data(pd.DataFrame(rows)), title=f"{title} (training step {int(art['le_step'])})")
        .mark_line()
        .encode(
            x=alt.X("t:Q", title="measured steps t"),
            y=alt.Y("lam:Q", title=f"(1/t) Σ log|R_ii|, {unit} per step", scale=alt.Scale(zero=False)),
            color=alt.Color("exponent:N", title=None, scale=color_scale(names), sort=names),
            tooltip=["t:Q", "exponent:N", alt.Tooltip("lam:Q", format=".4f")],
        )
        .properties(height=height)
    )


def sweep_frame(records: Sequence[Any]) -> pd.DataFrame:
    """One row per finished network of a ``lyapunov_sweep`` run: ``net``, ``p``, ``lambda_max``, ``lambda_mean``,
    ``val_loss``.

    Parameters
    ----------
    records : sequence of Record

    Returns
    -------
    pandas.DataFrame
    """
    cols = ["net", "p", "lambda_max", "lambda_mean", "val_loss"]
    rows = [{c: float(r.artifacts[c]) for c in cols} for r in records if "lambda_max" in r.artifacts
            and "net" in r.artifacts]
    return pd.DataFrame(rows, columns=cols)


def sweep_chart(records: Sequence[Any], *, unit: str = "nats", x: str = "lambda_max", height: int = 320) -> alt.Chart:
    """Figure 2, right (``docs/papers/lyapunov.md §5``): ``λ_max`` (or the mean exponent) against final validation
    loss, one point per network, coloured by the init scale p; Spearman's rho in the title.

    Parameters
    ----------
    records : sequence of Record
    unit : {"nats", "bits"}
    x : {"lambda_max", "lambda_mean"}
    height : int

    Returns
    -------
    altair.Chart
    """
    from neurodyn.lyapunov.experiment import spearman_rho  # light import: numpy only

    if x not in ("lambda_max", "lambda_mean"):
        raise ValueError(f"x must be 'lambda_max' or 'lambda_mean', got {x!r}")
    df = sweep_frame(records)
    name = "λ_max" if x == "lambda_max" else "mean λ"
    if df.empty:
        return _empty(f"{name} against validation loss")
    rho = spearman_rho(df[x].to_numpy(), df["val_loss"].to_numpy())
    title = f"{name} against validation loss: Spearman ρ = {rho:+.2f} (n = {len(df)})"
    return (
        alt.Chart(_data(df), title=title)
        .mark_circle(size=90)
        .encode(
            x=alt.X(f"{x}:Q", title=f"{name} ({unit} per step)", scale=alt.Scale(zero=False)),
            y=alt.Y("val_loss:Q", title="final validation loss (nats)", scale=alt.Scale(zero=False)),
            color=alt.Color("p:Q", title="init scale p", scale=alt.Scale(scheme="viridis")),
            tooltip=["net:Q", alt.Tooltip("p:Q", format=".3f"), alt.Tooltip(f"{x}:Q", format=".4f"),
                     alt.Tooltip("val_loss:Q", format=".4f")],
        )
        .properties(height=height)
    )


def sweep_spectra_chart(records: Sequence[Any], *, unit: str = "nats", height: int = 320) -> alt.Chart:
    """Figure 2, left (``docs/papers/lyapunov.md §5``): the spectrum of every network of the sweep, coloured by p.

    Parameters
    ----------
    records : sequence of Record
    unit : {"nats", "bits"}
    height : int

    Returns
    -------
    altair.Chart
    """
    rows = []
    for r in records:
        if "spectrum" in r.artifacts and "net" in r.artifacts:
            lam = np.asarray(r.artifacts["spectrum"], dtype=float)
            rows += [{"net": int(r.artifacts["net"]), "p": float(r.artifacts["p"]), "i": i + 1, "lam": float(v)}
                     for i, v in enumerate(lam)]
    title = "Spectra of the sweep's networks"
    if not rows:
        return _empty(title)
    return (
        alt.Chart(_data(pd.DataFrame(rows)), title=title)
        .mark_line(opacity=0.8)
        .encode(
            x=alt.X("i:Q", title="exponent index i"),
            y=alt.Y("lam:Q", title=_axis(unit)),
            color=alt.Color("p:Q", title="init scale p", scale=alt.Scale(scheme="viridis")),
            detail="net:N",
            tooltip=["net:Q", alt.Tooltip("p:Q", format=".3f"), "i:Q", alt.Tooltip("lam:Q", format=".4f")],
        )
        .properties(height=height)
    )
