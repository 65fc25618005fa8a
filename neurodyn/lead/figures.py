"""Figures for the LEAD page (arXiv:2010.13846): paths over f, ||w|| curves, spectral-radius maps, GAN samples.

Pure altair builders from the records of the ``lead`` / ``lead_gan`` experiments and from the arrays of
:mod:`neurodyn.games.spectral`; nothing here imports streamlit.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.viz.theme import color_scale

__all__ = [
    "METHOD_LABELS",
    "path_frame",
    "paths_chart",
    "norm_chart",
    "lyapunov_chart",
    "rho_heatmap",
    "rho_lines",
    "best_rho_chart",
    "gan_samples_chart",
    "gan_metric_chart",
]

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


def _methods(records: Sequence[Any]) -> list[str]:
    if not records:
        return []
    return [k[len("norm_"):] for k in records[0].metrics if k.startswith("norm_")]


def _domain(labels: Sequence[str]) -> list[str]:
    return [m for m in _ORDER if m in labels] + [m for m in labels if m not in _ORDER]


def path_frame(records: Sequence[Any]) -> pd.DataFrame:
    """Concatenate the ``path_<method>`` artifact segments into columns ``method, i, x, y``.

    Parameters
    ----------
    records : sequence of Record
        Records of the ``lead`` experiment, in order.

    Returns
    -------
    pandas.DataFrame
    """
    parts: dict[str, list[np.ndarray]] = {}
    for r in records:
        for key, val in r.artifacts.items():
            if key.startswith("path_"):
                parts.setdefault(key[5:], []).append(np.asarray(val, dtype=float).reshape(-1, 2))
    frames = []
    for m, segs in parts.items():
        pts = np.concatenate(segs) if segs else np.zeros((0, 2))
        frames.append(pd.DataFrame({"method": METHOD_LABELS.get(m, m), "i": np.arange(len(pts)),
                                    "x": pts[:, 0], "y": pts[:, 1]}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["method", "i", "x", "y"])


def _plane(records: Sequence[Any]) -> tuple[float, float, float]:
    for r in records:
        if "plane" in r.artifacts:
            sx, a, sy = np.asarray(r.artifacts["plane"], dtype=float).ravel()[:3]
            return float(sx), float(a), float(sy)
    return 0.0, 1.0, 0.0


def paths_chart(records: Sequence[Any], *, extent: float | None = None, n_grid: int = 61, n_levels: int = 14,
                height: int = 420) -> alt.LayerChart:
    """2-D paths of every method over banded contours of f on the (x_1, y_1) plane.

    Parameters
    ----------
    records : sequence of Record
        Records of the ``lead`` experiment (paths are artifacts; the first record carries ``plane``).
    extent : float, optional
        Half-width of the square view; default 1.5 x the start's largest coordinate. Paths leaving it are clipped.
    n_grid : int
        Grid points per axis for the contour background.
    n_levels : int
        Number of colour bands of f (a filled contour plot).
    height : int

    Returns
    -------
    altair.LayerChart
    """
    df = path_frame(records)
    if extent is None:
        start = df[df["i"] == 0][["x", "y"]].abs().to_numpy()
        extent = 1.5 * float(start.max()) if start.size else 1.5
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
    contour = alt.Chart(_data(bg)).mark_rect(opacity=0.55).encode(
        x=alt.X("x:Q", scale=sc_x, title="x₁ (min player)"), x2="x2:Q",
        y=alt.Y("y:Q", scale=sc_y, title="y₁ (max player)"), y2="y2:Q",
        color=alt.Color("f:Q", scale=alt.Scale(scheme="blueorange", domainMid=0.0), title="f(x, y)",
                        legend=alt.Legend(orient="right", gradientLength=120)),
    )
    labels = _domain(list(dict.fromkeys(df["method"])))
    col = alt.Color("method:N", scale=color_scale(labels), title=None, legend=alt.Legend(orient="bottom", columns=4))
    lines = alt.Chart(_data(df)).mark_line(clip=True, strokeWidth=1.8).encode(
        x=alt.X("x:Q", scale=sc_x), y=alt.Y("y:Q", scale=sc_y), order="i:Q", color=col,
        tooltip=["method:N", alt.Tooltip("i:Q", title="step"), alt.Tooltip("x:Q", format=".3g"),
                 alt.Tooltip("y:Q", format=".3g")],
    )
    ends = df.loc[df.groupby("method")["i"].idxmax()] if len(df) else df
    heads = alt.Chart(_data(ends)).mark_point(clip=True, filled=True, size=40).encode(
        x=alt.X("x:Q", scale=sc_x), y=alt.Y("y:Q", scale=sc_y),
        color=alt.Color("method:N", scale=color_scale(labels), legend=None))
    star = alt.Chart(pd.DataFrame({"x": [0.0], "y": [0.0]})).mark_point(shape="cross", size=120, color="black").encode(
        x=alt.X("x:Q", scale=sc_x), y=alt.Y("y:Q", scale=sc_y))
    return alt.layer(contour, lines, heads, star).resolve_scale(color="independent").properties(
        height=height, width=height, title="Paths on the (x₁, y₁) plane over f")


def norm_chart(records: Sequence[Any], *, against: str = "step", height: int = 300) -> alt.Chart:
    """||w_k|| of every method on a log scale, against steps or gradient-equivalents.

    Parameters
    ----------
    records : sequence of Record
    against : {"step", "grad_evals"}
    height : int

    Returns
    -------
    altair.Chart
    """
    if against not in ("step", "grad_evals"):
        raise ValueError(f"against must be 'step' or 'grad_evals', got {against!r}")
    rows = []
    for r in records:
        for m in _methods([r]):
            v = float(r.metrics[f"norm_{m}"])
            if v > 0:
                x = r.step if against == "step" else float(r.metrics[f"grad_evals_{m}"])
                rows.append({"x": x, "method": METHOD_LABELS.get(m, m), "norm": v})
    df = pd.DataFrame(rows, columns=["x", "method", "norm"])
    labels = _domain(list(dict.fromkeys(df["method"])))
    title = "steps" if against == "step" else "gradient-equivalents"
    return alt.Chart(_data(df), title=f"‖w‖ against {title}").mark_line().encode(
        x=alt.X("x:Q", title=title),
        y=alt.Y("norm:Q", scale=alt.Scale(type="log"), title="‖w_k‖ (log)"),
        color=alt.Color("method:N", scale=color_scale(labels), title=None),
        tooltip=["method:N", alt.Tooltip("x:Q", title=title), alt.Tooltip("norm:Q", format=".3e")],
    ).properties(height=height)


def lyapunov_chart(records: Sequence[Any], *, height: int = 220) -> alt.Chart:
    """LEAD's Lyapunov function ``V_k = 2 ||w_k - w_{k-1}||^2 + 7.7 ||w_k||^2`` on a log scale."""
    df = pd.DataFrame([{"step": r.step, "V": float(r.metrics["lyapunov_lead"])} for r in records
                       if r.metrics.get("lyapunov_lead", 0.0) > 0], columns=["step", "V"])
    return alt.Chart(_data(df), title="LEAD's Lyapunov function V_k").mark_line(color="#D55E00").encode(
        x=alt.X("step:Q"), y=alt.Y("V:Q", scale=alt.Scale(type="log"), title="V_k (log)"),
        tooltip=["step:Q", alt.Tooltip("V:Q", format=".3e")],
    ).properties(height=height)


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


def rho_heatmap(eta: np.ndarray, alpha: np.ndarray, rho: np.ndarray, *, point: tuple[float, float] | None = None,
                vmax: float = 1.25, max_cells: int = 120, height: int = 360, title: str | None = None
                ) -> alt.LayerChart:
    """Heat map of LEAD's spectral radius over (eta, alpha) with the rho = 1 contour and a marked point.

    Parameters
    ----------
    eta : ndarray of shape (n_eta,)
    alpha : ndarray of shape (n_alpha,)
    rho : ndarray of shape (n_eta, n_alpha)
        E.g. ``spectral_radius("lead", game, lr=eta[:, None], beta=b, alpha=alpha[None, :])``.
    point : (eta, alpha), optional
        The current slider point, marked with its rho in the tooltip.
    vmax : float
        Colour scale clipped at this rho.
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
                       "alpha2": A.ravel() + ha, "rho": np.minimum(r.ravel(), vmax), "rho_true": r.ravel()})
    sx = alt.Scale(domain=[float(e.min() - de / 2), float(e.max() + de / 2)], nice=False)
    sy = alt.Scale(domain=[float(a.min() - da / 2), float(a.max() + da / 2)], nice=False)
    heat = alt.Chart(_data(df)).mark_rect().encode(
        x=alt.X("eta:Q", scale=sx, title="step size η"), x2="eta2:Q",
        y=alt.Y("alpha:Q", scale=sy, title="coupling α"), y2="alpha2:Q",
        color=alt.Color("rho:Q", scale=alt.Scale(scheme="viridis", domain=[min(float(np.nanmin(r)), 0.999), vmax],
                                                 reverse=True),
                        title="ρ"),
        tooltip=[alt.Tooltip("rho_true:Q", title="ρ", format=".4f")],
    )
    cont = _contour_points(eta, alpha, rho, 1.0)
    line = alt.Chart(_data(cont)).mark_circle(size=6, color="white", opacity=0.9).encode(
        x=alt.X("x:Q", scale=sx), y=alt.Y("y:Q", scale=sy))
    layers = [heat, line]
    if point is not None:
        i = int(np.abs(eta - point[0]).argmin())
        j = int(np.abs(alpha - point[1]).argmin())
        pt = pd.DataFrame({"x": [point[0]], "y": [point[1]], "rho": [float(rho[i, j])]})
        layers.append(alt.Chart(_data(pt)).mark_point(shape="diamond", size=160, filled=True, color="#D55E00",
                                               stroke="white").encode(
            x=alt.X("x:Q", scale=sx), y=alt.Y("y:Q", scale=sy),
            tooltip=[alt.Tooltip("x:Q", title="η"), alt.Tooltip("y:Q", title="α"),
                     alt.Tooltip("rho:Q", title="ρ", format=".4f")]))
    return alt.layer(*layers).properties(height=height, title=title or "LEAD spectral radius ρ (white: ρ = 1)")


def rho_lines(eta: np.ndarray, rhos: Mapping[str, np.ndarray], *, height: int = 260, ylim: float = 1.5) -> alt.Chart:
    """Spectral radius against eta for several methods (e.g. GDA, EG, OGDA, heavy ball), with a rho = 1 rule.

    Parameters
    ----------
    eta : ndarray of shape (n,)
    rhos : mapping of method name to ndarray of shape (n,)
    height : int
    ylim : float
        Values are clipped at this rho.

    Returns
    -------
    altair.LayerChart
    """
    df = pd.concat([pd.DataFrame({"eta": np.asarray(eta, float), "rho": np.minimum(np.asarray(v, float), ylim),
                                  "method": METHOD_LABELS.get(m, m)}) for m, v in rhos.items()], ignore_index=True)
    labels = _domain(list(dict.fromkeys(df["method"])))
    lines = alt.Chart(_data(df)).mark_line().encode(
        x=alt.X("eta:Q", title="step size η"), y=alt.Y("rho:Q", title="ρ", scale=alt.Scale(zero=False)),
        color=alt.Color("method:N", scale=color_scale(labels), title=None),
        tooltip=["method:N", alt.Tooltip("eta:Q", format=".3f"), alt.Tooltip("rho:Q", format=".4f")])
    rule = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="y:Q")
    return alt.layer(lines, rule).properties(height=height, title="ρ against η")


def best_rho_chart(rows: Sequence[Mapping[str, Any]], *, height: int = 300) -> alt.Chart:
    """Best spectral radius against maximal adversarialness, one line per method (card figure 2).

    Parameters
    ----------
    rows : sequence of dict
        Output of :func:`neurodyn.games.spectral.best_rho_vs_adversarialness`.

    Returns
    -------
    altair.LayerChart
    """
    df = pd.DataFrame(list(rows))
    df["method"] = df["method"].map(lambda m: METHOD_LABELS.get(m, m))
    labels = _domain(list(dict.fromkeys(df["method"])))
    lines = alt.Chart(_data(df)).mark_line(point=True).encode(
        x=alt.X("gamma_max:Q", title="max adversarialness γ_max"),
        y=alt.Y("rho:Q", title="best ρ", scale=alt.Scale(zero=False)),
        color=alt.Color("method:N", scale=color_scale(labels), title=None),
        tooltip=["method:N", alt.Tooltip("gamma_max:Q", format=".2f"), alt.Tooltip("rho:Q", format=".4f"),
                 alt.Tooltip("lr:Q", title="η", format=".3f"), alt.Tooltip("beta:Q", title="β", format=".2f"),
                 alt.Tooltip("alpha:Q", title="α", format=".3f")])
    rule = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="y:Q")
    return alt.layer(lines, rule).properties(height=height, title="Best spectral radius against adversarialness")


def gan_samples_chart(records: Sequence[Any], *, step: int | None = None, extent: float = 2.0,
                      size: int = 260) -> alt.HConcatChart:
    """Scatter of generated samples (seed 0) for Adam and LEAD-Adam side by side, with the 8 centres marked.

    Parameters
    ----------
    records : sequence of Record
        Records of the ``lead_gan`` experiment.
    step : int, optional
        Use the last sample artifact at or before this step (default: the latest).
    extent : float
        Half-width of the square view.
    size : int

    Returns
    -------
    altair.HConcatChart
    """
    from neurodyn.games.games import gaussian_centres  # light: numpy only at call time

    latest: dict[str, tuple[int, np.ndarray]] = {}
    for r in records:
        if step is not None and r.step > step:
            break
        for o in ("adam", "lead"):
            if f"samples_{o}" in r.artifacts:
                latest[o] = (r.step, np.asarray(r.artifacts[f"samples_{o}"], float).reshape(-1, 2))
    sc = alt.Scale(domain=[-extent, extent], nice=False)
    c = gaussian_centres()
    centres = alt.Chart(pd.DataFrame({"x": c[:, 0], "y": c[:, 1]})).mark_point(
        shape="cross", size=80, color="gray").encode(x=alt.X("x:Q", scale=sc), y=alt.Y("y:Q", scale=sc))
    panels = []
    for o, name, colour in (("adam", "Adam", "#0072B2"), ("lead", "LEAD-Adam", "#D55E00")):
        k, pts = latest.get(o, (0, np.zeros((0, 2))))
        df = pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1]})
        dots = alt.Chart(_data(df)).mark_circle(size=6, opacity=0.5, color=colour, clip=True).encode(
            x=alt.X("x:Q", scale=sc, title=None), y=alt.Y("y:Q", scale=sc, title=None))
        panels.append(alt.layer(dots, centres).properties(width=size, height=size, title=f"{name}, step {k}"))
    return alt.hconcat(*panels)


def gan_metric_chart(records: Sequence[Any], metric: str = "modes", *, height: int = 240) -> alt.Chart:
    """A per-seed GAN metric (``modes``, ``hq``, ``d_loss``, ``g_loss``) against the step, Adam vs LEAD-Adam.

    Colour is the optimizer; one line per seed (dashes tell seeds apart).

    Returns
    -------
    altair.Chart
    """
    if metric not in ("modes", "hq", "d_loss", "g_loss"):
        raise ValueError(f"metric must be modes, hq, d_loss or g_loss, got {metric!r}")
    rows = []
    for r in records:
        for key, v in r.metrics.items():
            o, _, rest = key.partition("_")
            if o in ("adam", "lead") and rest.startswith(metric + "_s"):
                rows.append({"step": r.step, "optimizer": "Adam" if o == "adam" else "LEAD-Adam",
                             "seed": rest[len(metric) + 2:], "value": float(v)})
    df = pd.DataFrame(rows, columns=["step", "optimizer", "seed", "value"])
    titles = {"modes": "modes covered", "hq": "high-quality fraction", "d_loss": "D loss", "g_loss": "G loss"}
    return alt.Chart(_data(df), title=titles[metric]).mark_line(opacity=0.85).encode(
        x=alt.X("step:Q"), y=alt.Y("value:Q", title=titles[metric]),
        color=alt.Color("optimizer:N", scale=alt.Scale(domain=["Adam", "LEAD-Adam"], range=["#0072B2", "#D55E00"]),
                        title=None),
        strokeDash=alt.StrokeDash("seed:N", title="seed"),
        detail="seed:N",
        tooltip=["optimizer:N", "seed:N", "step:Q", alt.Tooltip("value:Q", format=".3g")],
    ).properties(height=height)
