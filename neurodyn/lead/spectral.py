"""Spectral radii of LEAD and the baselines on quadratic games (arXiv:2010.13846, docs/papers/lead.md §6).

On a quadratic game every method is a linear recurrence around the equilibrium ``w* = 0``; its linear rate is the
spectral radius ``rho`` of the update operator. Two routes:

``route="modes"`` (fast, vectorised over hyperparameter grids, no eig calls for the simultaneous methods)
    When ``J_v`` and the coupling ``C`` share 2x2 mode blocks (see :meth:`QuadraticGame.modes`), each mode has
    Jacobian eigenvalue ``lam = s + i a`` and coupling eigenvalue ``c = i a`` and every method's multipliers are the
    roots of a small polynomial: GDA ``mu = 1 - eta lam``; EG ``1 - eta lam + eta^2 lam^2``; CO
    ``1 - eta (lam + gamma |lam|^2)``; OGDA ``mu^2 - (1 - 2 eta lam) mu - eta lam``; heavy ball
    ``mu^2 - (1 + beta - eta lam) mu + beta``; LEAD ``mu^2 - (1 + beta - eta lam - alpha c) mu + (beta - alpha c)``;
    alternating GDA ``mu^2 - (2 - 2 eta s - eta^2 a^2) mu + (1 - eta s)^2``; alternating momentum
    ``p(mu)^2 + eta^2 a^2 mu^3`` and alternating LEAD ``p(mu)^2 + a^2 (eta mu + alpha (mu - 1))(eta mu^2 + alpha
    (mu - 1))`` with ``p(mu) = mu^2 - (1 + beta - eta s) mu + beta`` (quartics, solved by batched companion eigvals).
``route="matrix"``
    The full update matrix built from ``J_v``, ``C``, ``S_x``, ``A``, ``S_y`` as docs/papers/lead.md §6 writes it, e.g.
    LEAD's ``T = [[(1 + beta) I - eta J_v - alpha C, -beta I + alpha C], [I, 0]]`` on ``(w_k, w_{k-1})``. This is
    *not* the reference toy_quad.py matrix, whose lag block carries an extra ``+alpha J_v`` (docs/papers/lead.md §8).

``per_gradient=True`` reports ``rho ** (1 / cost)`` with ``cost`` gradient-equivalents per step
(:data:`GRAD_COST`: EG, CO and LEAD 2, alternating LEAD 3, others 1).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from neurodyn.lead.games import QuadraticGame, adversarial_gammas

__all__ = ["METHODS", "GRAD_COST", "spectral_radius", "update_matrix", "best_rho_vs_adversarialness"]

METHODS = ("gda", "altgda", "eg", "ogda", "momentum", "altmomentum", "co", "lead", "altlead")
GRAD_COST = {"gda": 1, "altgda": 1, "eg": 2, "ogda": 1, "momentum": 1, "altmomentum": 1, "co": 2, "lead": 2,
             "altlead": 3}
_HYPER = {
    "gda": ("lr",), "altgda": ("lr",), "eg": ("lr",), "ogda": ("lr",), "momentum": ("lr", "beta"),
    "altmomentum": ("lr", "beta"), "co": ("lr", "gamma"), "lead": ("lr", "beta", "alpha"),
    "altlead": ("lr", "beta", "alpha"),
}


def _check(method: str, hyper: dict[str, Any]) -> dict[str, np.ndarray]:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    unknown = set(hyper) - set(_HYPER[method])
    if unknown:
        raise ValueError(f"{method} takes hyperparameters {_HYPER[method]}, got unknown {sorted(unknown)}")
    if "lr" not in hyper:
        raise ValueError(f"{method} needs lr")
    out = {k: np.asarray(hyper.get(k, 0.0), dtype=np.float64) for k in _HYPER[method]}
    for k, v in out.items():
        if not np.isfinite(v).all():
            raise ValueError(f"{k} must be finite, got {v}")
    return out


def _quad_rho(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Largest |root| of ``mu^2 - b mu + c = 0`` (complex arrays, broadcast)."""
    disc = np.sqrt(b * b - 4.0 * c + 0j)
    return np.maximum(np.abs(0.5 * (b + disc)), np.abs(0.5 * (b - disc)))


def _poly_rho(coeffs: Sequence[np.ndarray]) -> np.ndarray:
    """Largest |root| of monic ``mu^4 + c1 mu^3 + c2 mu^2 + c3 mu + c4`` via batched companion matrices."""
    c = np.broadcast_arrays(*[np.asarray(x, dtype=np.complex128) for x in coeffs])
    shape = c[0].shape
    comp = np.zeros(shape + (4, 4), dtype=np.complex128)
    for k in range(4):
        comp[..., 0, k] = -c[k]
    comp[..., 1, 0] = comp[..., 2, 1] = comp[..., 3, 2] = 1.0
    return np.abs(np.linalg.eigvals(comp)).max(axis=-1)


def _modes_rho(method: str, s: np.ndarray, a: np.ndarray, h: dict[str, np.ndarray]) -> np.ndarray:
    """Per-mode spectral radius; hyperparameter arrays broadcast, modes on a new last axis."""
    eta = h["lr"][..., None]
    lam = s + 1j * a  # (n_modes,)
    if method == "gda":
        mu = np.abs(1.0 - eta * lam)
    elif method == "eg":
        mu = np.abs(1.0 - eta * lam + (eta * lam) ** 2)
    elif method == "co":
        mu = np.abs(1.0 - eta * (lam + h["gamma"][..., None] * np.abs(lam) ** 2))
    elif method == "ogda":
        mu = _quad_rho(1.0 - 2.0 * eta * lam, -eta * lam)
    elif method == "momentum":
        beta = h["beta"][..., None]
        mu = _quad_rho(1.0 + beta - eta * lam, beta + 0j)
    elif method == "lead":
        beta, alpha, c = h["beta"][..., None], h["alpha"][..., None], 1j * a
        mu = _quad_rho(1.0 + beta - eta * lam - alpha * c, beta - alpha * c)
    elif method == "altgda":
        mu = _quad_rho(2.0 - 2.0 * eta * s - (eta * a) ** 2 + 0j, (1.0 - eta * s) ** 2 + 0j)
    else:  # altmomentum, altlead: p(mu)^2 + a^2 q(mu) = 0
        beta = h["beta"][..., None]
        alpha = h["alpha"][..., None] if method == "altlead" else 0.0 * beta
        b1 = -(1.0 + beta - eta * s)  # p(mu) = mu^2 + b1 mu + beta
        a2 = a * a
        # a^2 (eta mu + alpha (mu - 1)) (eta mu^2 + alpha (mu - 1)) = q3 mu^3 + q2 mu^2 + q1 mu + q0
        q3 = a2 * eta * (eta + alpha)
        q2 = a2 * alpha * alpha
        q1 = -a2 * alpha * (eta + 2.0 * alpha)
        q0 = a2 * alpha * alpha
        mu = _poly_rho([2 * b1 + q3, b1 * b1 + 2 * beta + q2, 2 * b1 * beta + q1, beta * beta + q0])
    return mu.max(axis=-1)


def update_matrix(method: str, game: QuadraticGame, **hyper: float) -> np.ndarray:
    """The full linear update operator of ``method`` on ``game`` (docs/papers/lead.md §6).

    Simultaneous methods act on ``w_k`` (GDA, EG, CO) or ``(w_k, w_{k-1})`` (OGDA, momentum, LEAD); alternating
    ones are the product ``T_y T_x`` of the x-step and the y-step on ``(x_k, y_k, x_{k-1}, y_{k-1})``.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    game : QuadraticGame
    **hyper : float
        ``lr`` and, as the method needs, ``beta``, ``alpha``, ``gamma``.

    Returns
    -------
    ndarray, square
    """
    h = {k: float(v) for k, v in _check(method, hyper).items()}
    eta = h["lr"]
    J, C = game.jacobian(), game.coupling_matrix()
    d = J.shape[0]
    Id, Z = np.eye(d), np.zeros((d, d))
    if method == "gda":
        return Id - eta * J
    if method == "eg":
        return Id - eta * J + eta**2 * J @ J
    if method == "co":
        return Id - eta * (J + h["gamma"] * J.T @ J)
    if method == "ogda":
        return np.block([[Id - 2 * eta * J, eta * J], [Id, Z]])
    if method == "momentum":
        beta = h["beta"]
        return np.block([[(1 + beta) * Id - eta * J, -beta * Id], [Id, Z]])
    if method == "lead":
        beta, alpha = h["beta"], h["alpha"]
        return np.block([[(1 + beta) * Id - eta * J - alpha * C, -beta * Id + alpha * C], [Id, Z]])
    # alternating: state (x_k, y_k, x_{k-1}, y_{k-1}); first x, then y at the new x
    beta = h.get("beta", 0.0)
    alpha = h.get("alpha", 0.0)
    n, m = game.n, game.m
    A, Sx, Sy = game.A, game.Sx, game.Sy
    In, Im = np.eye(n), np.eye(m)
    Znm, Zmn, Znn, Zmm = np.zeros((n, m)), np.zeros((m, n)), np.zeros((n, n)), np.zeros((m, m))
    # x_{k+1} = ((1+b) I - eta Sx) x_k - (eta + alpha) A y_k - b x_{k-1} + alpha A y_{k-1}
    row_x = np.block([[(1 + beta) * In - eta * Sx, -(eta + alpha) * A, -beta * In, alpha * A]])
    # y_{k+1} = ((1+b) I - eta Sy) y_k - b y_{k-1} + eta A^T x_{k+1} + alpha A^T (x_k - x_{k-1})
    row_y = eta * A.T @ row_x + np.block([[alpha * A.T, (1 + beta) * Im - eta * Sy, -alpha * A.T, -beta * Im]])
    return np.block([
        [row_x],
        [row_y],
        [In, Znm, Znn, Znm],
        [Zmn, Im, Zmn, Zmm],
    ])


def spectral_radius(method: str, game: QuadraticGame | tuple[Any, Any], *, route: str = "modes",
                    per_gradient: bool = False, **hyper: Any) -> np.ndarray:
    """Spectral radius of ``method``'s update on ``game``, vectorised over hyperparameter grids.

    Parameters
    ----------
    method : str
        One of ``gda, altgda, eg, ogda, momentum, altmomentum, co, lead, altlead``.
    game : QuadraticGame or (s, a)
        The game, or its per-mode ``(s, a)`` arrays (eigenvalues ``s +/- i a``).
    route : {"modes", "matrix"}
        Closed form per mode, or eigenvalues of the full update matrix (slow; a Python loop over the grid).
    per_gradient : bool, default False
        Return ``rho ** (1 / GRAD_COST[method])``, the rate per gradient-equivalent.
    **hyper : float or array
        ``lr`` (eta) and as needed ``beta``, ``alpha``, ``gamma``; arrays broadcast against each other
        (e.g. ``lr=eta[:, None], alpha=alpha[None, :]`` gives a (n_eta, n_alpha) map).

    Returns
    -------
    ndarray of the broadcast hyperparameter shape (0-d for scalars)

    Examples
    --------
    >>> from neurodyn.lead.games import xy_game
    >>> round(float(spectral_radius("lead", xy_game(), lr=0.1, beta=0.5, alpha=0.51)), 5)
    0.87766
    >>> round(float(spectral_radius("ogda", xy_game(), lr=0.5)), 5)
    0.70711
    """
    h = _check(method, hyper)
    if route == "modes":
        if isinstance(game, QuadraticGame):
            s, a = game.modes()
        else:
            s, a = np.asarray(game[0], float), np.asarray(game[1], float)
        rho = _modes_rho(method, np.atleast_1d(s), np.atleast_1d(a), dict(zip(h, np.broadcast_arrays(*h.values()))))
    elif route == "matrix":
        if not isinstance(game, QuadraticGame):
            raise ValueError("route='matrix' needs a QuadraticGame, not (s, a) arrays")
        arrays = np.broadcast_arrays(*h.values())
        rho = np.empty(arrays[0].shape)
        for idx in np.ndindex(rho.shape):
            T = update_matrix(method, game, **{k: arr[idx] for k, arr in zip(h, arrays)})
            rho[idx] = np.abs(np.linalg.eigvals(T)).max()
    else:
        raise ValueError(f"route must be 'modes' or 'matrix', got {route!r}")
    return rho ** (1.0 / GRAD_COST[method]) if per_gradient else rho


def best_rho_vs_adversarialness(
    gamma_max: Iterable[float] = tuple(np.linspace(0.0, 1.0, 11)),
    methods: Sequence[str] = ("gda", "eg", "ogda", "momentum", "lead"),
    *,
    s: Any = None,
    a: Any = None,
    rng: Any = 0,
    lr_grid: Any = None,
    beta_grid: Any = None,
    alpha_grid: Any = None,
    gamma_grid: Any = None,
    per_gradient: Sequence[str] | bool = ("eg",),
) -> list[dict[str, float]]:
    """Best spectral radius over a hyperparameter grid against maximal adversarialness (docs/papers/lead.md §6).

    For each ``gamma_max`` the quadratic game with per-mode adversarialness :func:`adversarial_gammas` (mode scales
    ``s = a = linspace(1/4, 4, 7)`` by default) is built; each method's rho is minimised over the grid with the
    per-mode closed form. One game for all methods (unlike toy_quad.py, which gives LEAD a different system).

    Parameters
    ----------
    gamma_max : iterable of float in [0, 1]
    methods : sequence of str
    s, a : array, optional
        Mode scales.
    rng : Generator, RandomState or int
        Source of the per-mode adversarialness draws (``np.random.RandomState(0)`` for toy_quad's).
    lr_grid, beta_grid, alpha_grid, gamma_grid : array, optional
        Grids; defaults: lr 120 points in [0.005, 1.5], beta 38 in [-0.9, 0.95] (``altmomentum``: its negative
        half), alpha 61 in [0, 1.5], gamma 41 in [0, 2].
    per_gradient : bool or sequence of str
        Methods reported per gradient-equivalent (default EG only, as the table of docs/papers/lead.md §6).

    Returns
    -------
    list of dict
        One row per (gamma_max, method): ``gamma_max, method, rho, lr, beta, alpha, gamma`` (best point).
    """
    s = np.linspace(0.25, 4.0, 7) if s is None else np.asarray(s, dtype=np.float64)
    a = s if a is None else np.asarray(a, dtype=np.float64)
    lr_grid = np.linspace(0.005, 1.5, 120) if lr_grid is None else np.asarray(lr_grid, dtype=np.float64)
    beta_grid = np.linspace(-0.9, 0.95, 38) if beta_grid is None else np.asarray(beta_grid, dtype=np.float64)
    alpha_grid = np.linspace(0.0, 1.5, 61) if alpha_grid is None else np.asarray(alpha_grid, dtype=np.float64)
    gamma_grid = np.linspace(0.0, 2.0, 41) if gamma_grid is None else np.asarray(gamma_grid, dtype=np.float64)
    per = set(methods) if per_gradient is True else set(per_gradient or ())
    if isinstance(rng, (int, np.integer)):
        from neurodyn.core.seeding import numpy_generator

        rng = numpy_generator(int(rng))
    base = rng.uniform(0.0, 1.0, size=len(s))  # the same draws scaled by each gamma_max (toy_quad reseeds)
    rows = []
    for gmax in gamma_max:
        gam = adversarial_gammas(float(gmax), len(s), _Fixed(base))
        ms, ma = (1.0 - gam) * s, gam * a
        for method in methods:
            _check(method, {"lr": 0.1})
            names = _HYPER[method]
            grids = {"lr": lr_grid, "beta": beta_grid if method != "altmomentum" else beta_grid[beta_grid <= 0],
                     "alpha": alpha_grid, "gamma": gamma_grid}
            best = {"rho": np.inf}
            # loop over the first grid axis after lr to bound memory (lr x alpha x modes per slice)
            extra = [k for k in names if k != "lr"]
            outer = grids[extra[0]] if extra else [None]
            for val in outer:
                hyper = {"lr": lr_grid[:, None]}
                if extra:
                    hyper[extra[0]] = val
                if len(extra) > 1:
                    hyper[extra[1]] = grids[extra[1]][None, :]
                rho = spectral_radius(method, (ms, ma), per_gradient=method in per, **hyper)
                rho = np.broadcast_to(rho, np.broadcast_shapes(rho.shape, (len(lr_grid), 1)))
                i, j = np.unravel_index(np.argmin(rho), rho.shape)
                if rho[i, j] < best["rho"]:
                    best = {"rho": float(rho[i, j]), "lr": float(lr_grid[i])}
                    if extra:
                        best[extra[0]] = float(val)
                    if len(extra) > 1:
                        best[extra[1]] = float(grids[extra[1]][j])
            rows.append({"gamma_max": float(gmax), "method": method, "rho": best["rho"], "lr": best["lr"],
                         "beta": best.get("beta", 0.0), "alpha": best.get("alpha", 0.0),
                         "gamma": best.get("gamma", 0.0)})
    return rows


class _Fixed:
    """An rng stand-in that returns pre-drawn uniforms scaled to ``[low, high)``."""

    def __init__(self, u: np.ndarray) -> None:
        self.u = u

    def uniform(self, low: float, high: float, size: int) -> np.ndarray:
        return low + (high - low) * self.u[:size]
