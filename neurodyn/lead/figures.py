"""Figures for the LEAD page (arXiv:2010.13846): paths over f, ||w|| curves, spectral-radius maps, GAN samples.

Pure altair builders from the records (and the run's config) of the ``lead`` / ``lead_gan`` experiments and from the
arrays of :mod:`neurodyn.lead.spectral`; nothing here imports streamlit. Metric and artifact names come from the
experiment's name builders (``method_metric``, ``path_key``, ``gan_metric``, ``samples_key``). Charts take their
container's width (the page draws them with ``width="stretch"``); axis and legend labels are at least 12 px
(:data:`FONT`). Ranges are chosen so that the structure shows (``docs/papers/lead.md`` §13): the paths frame holds
every path up to :data:`PATH_CAP` times the start, the ρ map's colours span the whole map around ρ = 1 and the ρ
curves are drawn unclipped on a log axis.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.lead.experiment import (
    LYAPUNOV,
    OPTIMIZER_NAMES,
    OPTIMIZERS,
    PLANE,
    START,
    GanConfig,
    enabled_methods,
    gan_metric,
    method_metric,
    path_key,
    samples_key,
)
from neurodyn.viz.theme import color_scale

__all__ = [
    "METHOD_LABELS",
    "FONT",
    "PATH_CAP",
    "legible",
    "path_frame",
    "path_view",
    "paths_chart",
    "norm_chart",
    "lyapunov_chart",
    "rho_colour_domain",
    "rho_heatmap",
    "rho_lines",
    "best_rho_chart",
    "gan_samples_chart",
    "gan_metric_chart",
]

#: Font sizes (px) of axis labels, axis titles, legends and chart titles: readable when projected.
FONT = {"label": 13, "title": 14, "legend": 13, "chart": 15}
INK = "#1a1a1a"  # labels dark enough for a projector
#: The paths frame holds every point within PATH_CAP x the start's coordinate; farther points are clipped.
PATH_CAP = 5.0
OPTIMIZER_COLOURS = {"adam": "#0072B2", "lead": "#D55E00"}

METHOD_LABELS = {
    "simgda": "GDA (sim.)",
    "altgda": "GDA (alt.)",
    "eg": "Extragradient",
    "ogda": "Optimistic GDA",
    "hb": "Heavy ball",
    "nm": "Neg. momentum (alt.)",
    "co": "Consensus opt.",
    "lead": "LEAD",
    "momentum": "Heavy ball",
    "altmomentum": "Neg. momentum (alt.)",
    "gda": "GDA (sim.)",
    "altlead": "LEAD (alt.)",
}
_ORDER = ["GDA (sim.)", "GDA (alt.)", "Extragradient", "Optimistic GDA", "Heavy ball", "Neg. momentum (alt.)",
          "Consensus opt.", "LEAD", "LEAD (alt.)"]


def _data(df: pd.DataFrame) -> pd.DataFrame:
    """The chart's data as a DataFrame: Streamlit ships it as Arrow, fast and without a row limit.

    Outside Streamlit, altair's default transformer caps inline data at 5000 rows; wrap ``to_dict`` / ``save`` in
    :func:`neurodyn.viz.theme.no_row_limit` for the heat maps and long paths.
    """
    return df


def _domain(labels: Sequence[str]) -> list[str]:
    return [m for m in _ORDER if m in labels] + [m for m in labels if m not in _ORDER]


def legible(chart: Any) -> Any:
    """Apply the page's label sizes (:data:`FONT`, at least 12 px) and dark label colour to a top-level chart.

    Parameters
    ----------
    chart : altair chart
        A chart that is not composed further (``configure`` is only allowed at the top level).

    Returns
    -------
    altair chart
    """
    return (chart.configure_axis(labelFontSize=FONT["label"], titleFontSize=FONT["title"], labelColor=INK,
                                 titleColor=INK, labelLimit=240, titleLimit=400)
            .configure_legend(labelFontSize=FONT["legend"], titleFontSize=FONT["legend"], labelColor=INK,
                              titleColor=INK, labelLimit=260)
            .configure_title(fontSize=FONT["chart"], color=INK, anchor="start"))


def path_frame(records: Sequence[Any], config: Any) -> pd.DataFrame:
    """Concatenate the path artifact segments of every enabled method into columns ``method, i, x, y``.

    Parameters
    ----------
    records : sequence of Record
        Records of the ``lead`` experiment, in order.
    config : Config
        The run's config (its enabled methods name the artifacts).

    Returns
    -------
    pandas.DataFrame
        One row per iterate: method label, step index ``i`` (0 = the start), and ``(x_1, y_1)``.
    """
    frames = []
    for m in enabled_methods(config):
        key = path_key(m)
        segs = [np.asarray(r.artifacts[key], dtype=float).reshape(-1, 2) for r in records if key in r.artifacts]
        if not segs:
            continue
        pts = np.concatenate(segs)
        frames.append(pd.DataFrame({"method": METHOD_LABELS[m], "i": np.arange(len(pts)),
                                    "x": pts[:, 0], "y": pts[:, 1]}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["method", "i", "x", "y"])


def path_view(df: pd.DataFrame, *, cap: float = PATH_CAP) -> tuple[float, list[str]]:
    """Half-width of the square paths frame and the methods whose paths leave it.

    The frame holds every point of every path with both coordinates within ``cap`` times the start's largest
    coordinate (plus a 10% margin), and at least 1.5 times the start: a spiral that grows for the whole default run
    (GDA, 200 steps: ‖w‖ 1 to 2.7) stays in view, while a diverging method (‖w‖ up to 10⁶) does not squash the
    converging ones into a dot.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`path_frame`.
    cap : float

    Returns
    -------
    extent : float
    clipped : list of str
        Labels of the methods with points outside the frame.
    """
    if df.empty:
        return 1.5 * START, []
    start = df[df["i"] == 0][["x", "y"]].abs().to_numpy()
    r0 = float(start.max()) if start.size else START
    reach = df[["x", "y"]].abs().max(axis=1).to_numpy()  # (n_points,)
    inside = reach[np.isfinite(reach) & (reach <= cap * r0)]
    extent = max(1.5 * r0, 1.1 * float(inside.max()) if inside.size else 0.0)
    clipped = list(dict.fromkeys(df["method"][~(reach <= extent)]))
    return extent, clipped


def paths_chart(records: Sequence[Any], config: Any, *, extent: float | None = None, n_grid: int = 61,
                n_levels: int = 14, height: int = 560) -> alt.LayerChart:
    """2-D paths of every method over banded contours of f on the (x_1, y_1) plane.

    Parameters
    ----------
    records : sequence of Record
        Records of the ``lead`` experiment (paths are artifacts; the first record carries ``PLANE``).
    config : Config
        The run's config.
    extent : float, optional
        Half-width of the square view; default :func:`path_view`'s. Paths leaving it are clipped.
    n_grid : int
        Grid points per axis for the contour background.
    n_levels : int
        Number of colour bands of f (a filled contour plot).
    height : int

    Returns
    -------
    altair.LayerChart
    """
    df = path_frame(records, config)
    if extent is None:
        extent, _ = path_view(df)
    sx, a, sy = _plane(records)
    g = np.linspace(-extent, extent, n_grid)
    X, Y = np.meshgrid(g, g, indexing="ij")  # (n_grid, n_grid)
    F = 0.5 * sx * X**2 + a * X * Y - 0.5 * sy * Y**2
    edges = np.linspace(F.min(), F.max(), n_levels + 1)
    band = np.clip(np.digitize(F, edges) - 1, 0, n_levels - 1)
    mid = 0.5 * (edges[:-1] + edges[1:])[band]
    half = 0.75 * (g[1] - g[0])  # cells overlap: no antialiasing seams between rects
    bg = pd.DataFrame({"x": X.ravel() - half, "x2": X.ravel() + half, "y": Y.ravel() - half,
                       "y2": Y.ravel() + half, "f": mid.ravel()})
    sc_x = alt.Scale(domain=[-extent, extent], nice=False)
    sc_y = alt.Scale(domain=[-extent, extent], nice=False)
    contour = alt.Chart(_data(bg)).mark_rect(opacity=0.5).encode(
        x=alt.X("x:Q", scale=sc_x, title="x₁ (min player)"), x2="x2:Q",
        y=alt.Y("y:Q", scale=sc_y, title="y₁ (max player)"), y2="y2:Q",
        color=alt.Color("f:Q", scale=alt.Scale(scheme="blueorange", domainMid=0.0), title="f(x, y)",
                        legend=alt.Legend(orient="right", gradientLength=160)),
    )
    labels = _domain(list(dict.fromkeys(df["method"])))
    col = alt.Color("method:N", scale=color_scale(labels), title=None, legend=alt.Legend(orient="bottom", columns=4))
    lines = alt.Chart(_data(df)).mark_line(clip=True, strokeWidth=2.2).encode(
        x=alt.X("x:Q", scale=sc_x), y=alt.Y("y:Q", scale=sc_y), order="i:Q", color=col,
        tooltip=["method:N", alt.Tooltip("i:Q", title="step"), alt.Tooltip("x:Q", format=".3g"),
                 alt.Tooltip("y:Q", format=".3g")],
    )
    ends = df.loc[df.groupby("method")["i"].idxmax()] if len(df) else df
    heads = alt.Chart(_data(ends)).mark_point(clip=True, filled=True, size=60).encode(
        x=alt.X("x:Q", scale=sc_x), y=alt.Y("y:Q", scale=sc_y),
        color=alt.Color("method:N", scale=color_scale(labels), legend=None))
    star = alt.Chart(pd.DataFrame({"x": [0.0], "y": [0.0]})).mark_point(shape="cross", size=140, color="black").encode(
        x=alt.X("x:Q", scale=sc_x), y=alt.Y("y:Q", scale=sc_y))
    chart = alt.layer(contour, lines, heads, star).resolve_scale(color="independent").properties(
        height=height, width="container", title="Paths on the (x₁, y₁) plane over f")
    return legible(chart)


def _plane(records: Sequence[Any]) -> tuple[float, float, float]:
    for r in records:
        if PLANE in r.artifacts:
            sx, a, sy = np.asarray(r.artifacts[PLANE], dtype=float).ravel()[:3]
            return float(sx), float(a), float(sy)
    return 0.0, 1.0, 0.0


def norm_chart(records: Sequence[Any], config: Any, *, against: str = "step", height: int = 300) -> alt.Chart:
    """||w_k|| of every enabled method on a log scale, against steps or gradient-equivalents.

    Parameters
    ----------
    records : sequence of Record
    config : Config
        The run's config.
    against : {"step", "grad_evals"}
    height : int

    Returns
    -------
    altair.Chart
    """
    if against not in ("step", "grad_evals"):
        raise ValueError(f"against must be 'step' or 'grad_evals', got {against!r}")
    rows = []
    methods = enabled_methods(config)
    for r in records:
        for m in methods:
            v = float(r.metrics[method_metric("norm", m)])
            if v > 0:
                x = r.step if against == "step" else float(r.metrics[method_metric("grad_evals", m)])
                rows.append({"x": x, "method": METHOD_LABELS[m], "norm": v})
    df = pd.DataFrame(rows, columns=["x", "method", "norm"])
    labels = _domain(list(dict.fromkeys(df["method"])))
    title = "steps" if against == "step" else "gradient-equivalents"
    return legible(alt.Chart(_data(df), title=f"‖w‖ against {title}").mark_line(strokeWidth=2).encode(
        x=alt.X("x:Q", title=title),
        y=alt.Y("norm:Q", scale=alt.Scale(type="log"), title="‖w_k‖ (log)"),
        color=alt.Color("method:N", scale=color_scale(labels), title=None, legend=alt.Legend(orient="bottom",
                                                                                             columns=2)),
        tooltip=["method:N", alt.Tooltip("x:Q", title=title), alt.Tooltip("norm:Q", format=".3e")],
    ).properties(height=height, width="container"))


def lyapunov_chart(records: Sequence[Any], *, height: int = 240) -> alt.Chart:
    """LEAD's Lyapunov function ``V_k = 2 ||w_k - w_{k-1}||^2 + 7.7 ||w_k||^2`` on a log scale.

    Parameters
    ----------
    records : sequence of Record
        Records of a ``lead`` run with LEAD enabled.
    height : int

    Returns
    -------
    altair.Chart
    """
    df = pd.DataFrame([{"step": r.step, "V": float(r.metrics[LYAPUNOV])} for r in records
                       if r.metrics.get(LYAPUNOV, 0.0) > 0], columns=["step", "V"])
    return legible(alt.Chart(_data(df), title="LEAD's Lyapunov function V_k").mark_line(
        color="#D55E00", strokeWidth=2).encode(
        x=alt.X("step:Q"), y=alt.Y("V:Q", scale=alt.Scale(type="log"), title="V_k (log)"),
        tooltip=["step:Q", alt.Tooltip("V:Q", format=".3e")],
    ).properties(height=height, width="container"))


def _contour_points(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, level: float) -> pd.DataFrame:
    """Points where ``z`` (shape (len(xs), len(ys))) crosses ``level``, by linear interpolation along both axes."""
    pts = []
    d = z - level
    i, j = np.nonzero(d[:-1, :] * d[1:, :] < 0)  # crossings along x
    t = d[i, j] / (d[i, j] - d[i + 1, j])
    pts.append(np.stack([xs[i] + t * (xs[i + 1] - xs[i]), ys[j]], axis=1))
    i, j = np.nonzero(d[:, :-1] * d[:, 1:] < 0)  # crossings along y
    t = d[i, j] / (d[i, j] - d[i, j + 1])
    pts.append(np.stack([xs[i], ys[j] + t * (ys[j + 1] - ys[j])], axis=1))
    p = np.concatenate(pts)
    return pd.DataFrame({"x": p[:, 0], "y": p[:, 1]})


def rho_colour_domain(rho: np.ndarray) -> list[float]:
    """Colour domain of the ρ map: ``[min, 1, max]`` of the map (a diverging scale with its middle at ρ = 1).

    Every cell gets its own shade (nothing is clamped at a cut-off), the converging cells (ρ < 1) use one half of
    the colour ramp however few they are, and the diverging ones the other half.

    Parameters
    ----------
    rho : ndarray
        Finite spectral radii.

    Returns
    -------
    list of float
        ``[lo, 1.0, hi]`` with ``lo < 1 < hi`` (widened by 1e-3 where the map lies on one side of 1).
    """
    r = np.asarray(rho, dtype=float)
    r = r[np.isfinite(r)]
    lo = float(r.min()) if r.size else 0.999
    hi = float(r.max()) if r.size else 1.001
    return [min(lo, 0.999), 1.0, max(hi, 1.001)]


def rho_heatmap(eta: np.ndarray, alpha: np.ndarray, rho: np.ndarray, *, point: tuple[float, float] | None = None,
                max_cells: int = 120, height: int = 400, title: str | None = None) -> alt.LayerChart:
    """Heat map of LEAD's spectral radius over (eta, alpha) with the rho = 1 contour and a marked point.

    Colours: a diverging blue (ρ < 1, converges) to orange (ρ > 1, diverges) scale over the map's whole range
    (:func:`rho_colour_domain`), white at ρ = 1.

    Parameters
    ----------
    eta : ndarray of shape (n_eta,)
    alpha : ndarray of shape (n_alpha,)
    rho : ndarray of shape (n_eta, n_alpha)
        E.g. ``spectral_radius("lead", game, lr=eta[:, None], beta=b, alpha=alpha[None, :])``.
    point : (eta, alpha), optional
        The current slider point, marked with its rho in the tooltip.
    max_cells : int
        The grid is subsampled to at most this many cells per axis for drawing (the contour uses the full grid).
    height : int
    title : str, optional

    Returns
    -------
    altair.LayerChart
    """
    eta, alpha, rho = np.asarray(eta, float), np.asarray(alpha, float), np.asarray(rho, float)
    if rho.shape != (eta.size, alpha.size):
        raise ValueError(f"rho must have shape ({eta.size}, {alpha.size}), got {rho.shape}")
    si, sj = max(1, -(-eta.size // max_cells)), max(1, -(-alpha.size // max_cells))
    e, a, r = eta[::si], alpha[::sj], rho[::si, ::sj]
    de = np.diff(e).mean() if e.size > 1 else 1.0
    da = np.diff(a).mean() if a.size > 1 else 1.0
    E, A = np.meshgrid(e, a, indexing="ij")
    he, ha = 0.75 * de, 0.75 * da  # cells overlap: no antialiasing seams between rects
    df = pd.DataFrame({"eta": E.ravel() - he, "eta2": E.ravel() + he, "alpha": A.ravel() - ha,
                       "alpha2": A.ravel() + ha, "rho": r.ravel()})
    sx = alt.Scale(domain=[float(e.min() - de / 2), float(e.max() + de / 2)], nice=False)
    sy = alt.Scale(domain=[float(a.min() - da / 2), float(a.max() + da / 2)], nice=False)
    heat = alt.Chart(_data(df)).mark_rect().encode(
        x=alt.X("eta:Q", scale=sx, title="step size η"), x2="eta2:Q",
        y=alt.Y("alpha:Q", scale=sy, title="coupling α"), y2="alpha2:Q",
        color=alt.Color("rho:Q", scale=alt.Scale(scheme="blueorange", domain=rho_colour_domain(rho)),
                        title="ρ", legend=alt.Legend(gradientLength=200)),
        tooltip=[alt.Tooltip("rho:Q", title="ρ", format=".4f")],
    )
    cont = _contour_points(eta, alpha, rho, 1.0)
    line = alt.Chart(_data(cont)).mark_circle(size=8, color="black", opacity=0.9).encode(
        x=alt.X("x:Q", scale=sx), y=alt.Y("y:Q", scale=sy))
    layers = [heat, line]
    if point is not None:
        i = int(np.abs(eta - point[0]).argmin())
        j = int(np.abs(alpha - point[1]).argmin())
        pt = pd.DataFrame({"x": [point[0]], "y": [point[1]], "rho": [float(rho[i, j])]})
        layers.append(alt.Chart(_data(pt)).mark_point(shape="diamond", size=200, filled=True, color="#111111",
                                                      stroke="white", strokeWidth=1.5).encode(
            x=alt.X("x:Q", scale=sx), y=alt.Y("y:Q", scale=sy),
            tooltip=[alt.Tooltip("x:Q", title="η"), alt.Tooltip("y:Q", title="α"),
                     alt.Tooltip("rho:Q", title="ρ", format=".4f")]))
    return legible(alt.layer(*layers).properties(height=height, width="container",
                                                 title=title or "LEAD spectral radius ρ (black dots: ρ = 1)"))


def rho_lines(eta: np.ndarray, rhos: Mapping[str, np.ndarray], *, height: int = 300) -> alt.LayerChart:
    """Spectral radius against eta for several methods (e.g. GDA, EG, OGDA, heavy ball), with a rho = 1 rule.

    Drawn unclipped on a log axis spanning every curve, so that both the region below 1 and how fast each method
    diverges above it show.

    Parameters
    ----------
    eta : ndarray of shape (n,)
    rhos : mapping of method name to ndarray of shape (n,)

    height : int

    Returns
    -------
    altair.LayerChart
    """
    df = pd.concat([pd.DataFrame({"eta": np.asarray(eta, float), "rho": np.asarray(v, float),
                                  "method": METHOD_LABELS.get(m, m)}) for m, v in rhos.items()], ignore_index=True)
    df = df[np.isfinite(df["rho"]) & (df["rho"] > 0)]
    lo, hi = float(min(df["rho"].min(), 0.99)), float(max(df["rho"].max(), 1.01))
    labels = _domain(list(dict.fromkeys(df["method"])))
    ys = alt.Scale(type="log", domain=[lo, hi], nice=False)
    lines = alt.Chart(_data(df)).mark_line(strokeWidth=2).encode(
        x=alt.X("eta:Q", title="step size η"), y=alt.Y("rho:Q", title="ρ (log scale)", scale=ys),
        color=alt.Color("method:N", scale=color_scale(labels), title=None),
        tooltip=["method:N", alt.Tooltip("eta:Q", format=".3f"), alt.Tooltip("rho:Q", format=".4f")])
    rule = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4], color="#444444").encode(
        y=alt.Y("y:Q", scale=ys))
    return legible(alt.layer(lines, rule).properties(height=height, width="container", title="ρ against η"))


def best_rho_chart(rows: Sequence[Mapping[str, Any]], *, height: int = 320) -> alt.LayerChart:
    """Best spectral radius against maximal adversarialness, one line per method (``docs/papers/lead.md`` §6).

    Parameters
    ----------
    rows : sequence of dict
        Output of :func:`neurodyn.lead.spectral.best_rho_vs_adversarialness`.
    height : int

    Returns
    -------
    altair.LayerChart
    """
    df = pd.DataFrame(list(rows))
    df["method"] = df["method"].map(lambda m: METHOD_LABELS.get(m, m))
    labels = _domain(list(dict.fromkeys(df["method"])))
    lines = alt.Chart(_data(df)).mark_line(point=True, strokeWidth=2).encode(
        x=alt.X("gamma_max:Q", title="max adversarialness γ_max"),
        y=alt.Y("rho:Q", title="best ρ", scale=alt.Scale(zero=False)),
        color=alt.Color("method:N", scale=color_scale(labels), title=None),
        tooltip=["method:N", alt.Tooltip("gamma_max:Q", format=".2f"), alt.Tooltip("rho:Q", format=".4f"),
                 alt.Tooltip("lr:Q", title="η", format=".3f"), alt.Tooltip("beta:Q", title="β", format=".2f"),
                 alt.Tooltip("alpha:Q", title="α", format=".3f")])
    rule = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4], color="#444444").encode(y="y:Q")
    return legible(alt.layer(lines, rule).properties(height=height, width="container",
                                                     title="Best spectral radius against adversarialness"))


def gan_samples_chart(records: Sequence[Any], optimizer: str, *, step: int | None = None, extent: float = 2.0,
                      height: int = 340) -> alt.LayerChart:
    """Scatter of one optimizer's generated samples (seed 0), with the 8 centres marked.

    Parameters
    ----------
    records : sequence of Record
        Records of the ``lead_gan`` experiment.
    optimizer : {"adam", "lead"}
    step : int, optional
        Use the last sample artifact at or before this step (default: the latest).
    extent : float
        Half-width of the square view.
    height : int

    Returns
    -------
    altair.LayerChart
    """
    from neurodyn.lead.games import gaussian_centres  # light: numpy only at call time

    key = samples_key(optimizer)
    k, pts = 0, np.zeros((0, 2))
    for r in records:
        if step is not None and r.step > step:
            break
        if key in r.artifacts:
            k, pts = r.step, np.asarray(r.artifacts[key], float).reshape(-1, 2)
    sc = alt.Scale(domain=[-extent, extent], nice=False)
    c = gaussian_centres()
    centres = alt.Chart(pd.DataFrame({"x": c[:, 0], "y": c[:, 1]})).mark_point(
        shape="cross", size=120, color="#333333", strokeWidth=2).encode(x=alt.X("x:Q", scale=sc),
                                                                         y=alt.Y("y:Q", scale=sc))
    df = pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1]})
    dots = alt.Chart(_data(df)).mark_circle(size=9, opacity=0.5, color=OPTIMIZER_COLOURS[optimizer], clip=True).encode(
        x=alt.X("x:Q", scale=sc, title="x"), y=alt.Y("y:Q", scale=sc, title="y"))
    return legible(alt.layer(dots, centres).properties(
        height=height, width="container", title=f"{OPTIMIZER_NAMES[optimizer]}, seed 0, step {k}"))


def gan_metric_chart(records: Sequence[Any], config: GanConfig, metric: str = "modes", *,
                     height: int = 260) -> alt.Chart:
    """A per-seed GAN metric (``modes``, ``hq``, ``d_loss``, ``g_loss``) against the step, Adam vs LEAD-Adam.

    Colour is the optimizer; one line per seed (dashes tell seeds apart).

    Parameters
    ----------
    records : sequence of Record
        Records of a ``lead_gan`` run.
    config : GanConfig
        The run's config (its ``n_seeds`` names the metrics).
    metric : {"modes", "hq", "d_loss", "g_loss"}
    height : int

    Returns
    -------
    altair.Chart
    """
    titles = {"modes": "modes covered (of 8)", "hq": "high-quality fraction", "d_loss": "D loss (nats)",
              "g_loss": "G loss (nats)"}
    if metric not in titles:
        raise ValueError(f"metric must be modes, hq, d_loss or g_loss, got {metric!r}")
    names = {(o, i): gan_metric(o, metric, i) for o in OPTIMIZERS for i in range(config.n_seeds)}
    rows = [{"step": r.step, "optimizer": OPTIMIZER_NAMES[o], "seed": str(i), "value": float(r.metrics[name])}
            for r in records for (o, i), name in names.items()]
    df = pd.DataFrame(rows, columns=["step", "optimizer", "seed", "value"])
    order = [OPTIMIZER_NAMES[o] for o in OPTIMIZERS]
    y = alt.Y("value:Q", title=titles[metric])
    if metric == "modes":
        y = alt.Y("value:Q", title=titles[metric], scale=alt.Scale(domain=[0, 8]))
    return legible(alt.Chart(_data(df), title=titles[metric]).mark_line(opacity=0.85, strokeWidth=1.8).encode(
        x=alt.X("step:Q", title="training step"), y=y,
        color=alt.Color("optimizer:N", scale=alt.Scale(domain=order, range=[OPTIMIZER_COLOURS[o] for o in OPTIMIZERS]),
                        title=None),
        strokeDash=alt.StrokeDash("seed:N", title="seed"),
        detail="seed:N",
        tooltip=["optimizer:N", "seed:N", "step:Q", alt.Tooltip("value:Q", format=".3g")],
    ).properties(height=height, width="container"))
