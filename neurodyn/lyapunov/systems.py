"""Small dynamical systems with known Lyapunov exponents, as batched ``step(x_t, s)`` callables.

They exercise the generic-callable path of :func:`neurodyn.lyapunov.lyapunov_spectrum` (``docs/papers/lyapunov.md
§3``) in the tests and in ``benchmarks/lyapunov.py``. Each step maps inputs (B, I) (ignored: these systems are
autonomous) and states (B, D) to the next states (B, D), row by row.

Known values (``docs/papers/lyapunov.md §5``): the logistic map at r = 4 has λ = ln 2 per step; the Lorenz system
(σ = 10, ρ = 28, β = 8/3) has λ ≈ (0.9056, 0, −14.5723) per unit time, whose sum is exactly −(σ + 1 + β).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

__all__ = ["LORENZ_EXPONENTS", "logistic_step", "lorenz_rk4_step", "lorenz_field"]

#: Published Lyapunov exponents of the Lorenz system at σ = 10, ρ = 28, β = 8/3, per unit time.
LORENZ_EXPONENTS = (0.9056, 0.0, -14.5723)


def logistic_step(r: float = 4.0) -> Callable[[Tensor, Tensor], Tensor]:
    """The logistic map ``s -> r s (1 - s)`` as a batched step.

    Parameters
    ----------
    r : float, default 4.0
        Growth parameter; at r = 4 the exponent is ln 2 per step.

    Returns
    -------
    callable
        ``step(x, s)`` with ``x`` (B, I) ignored and ``s`` (B, 1) -> (B, 1).
    """

    def step(x: Tensor, s: Tensor) -> Tensor:
        return r * s * (1.0 - s)

    return step


def lorenz_field(s: Tensor, sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0) -> Tensor:
    """The Lorenz vector field ``(σ(y − x), x(ρ − z) − y, xy − βz)``.

    Parameters
    ----------
    s : Tensor, shape (B, 3)
    sigma, rho, beta : float

    Returns
    -------
    Tensor, shape (B, 3)
    """
    x, y, z = s.unbind(1)
    return torch.stack((sigma * (y - x), x * (rho - z) - y, x * y - beta * z), dim=1)


def lorenz_rk4_step(dt: float = 0.01, sigma: float = 10.0, rho: float = 28.0,
                    beta: float = 8.0 / 3.0) -> Callable[[Tensor, Tensor], Tensor]:
    """One classical Runge-Kutta (RK4) step of the Lorenz system as a batched step.

    Parameters
    ----------
    dt : float, default 0.01
        Time step; exponents per step divided by ``dt`` are per unit time.
    sigma, rho, beta : float
        Lorenz parameters (defaults: the classical chaotic values).

    Returns
    -------
    callable
        ``step(x, s)`` with ``x`` (B, I) ignored and ``s`` (B, 3) -> (B, 3).
    """

    def f(s: Tensor) -> Tensor:
        return lorenz_field(s, sigma, rho, beta)

    def step(x: Tensor, s: Tensor) -> Tensor:
        k1 = f(s)
        k2 = f(s + 0.5 * dt * k1)
        k3 = f(s + 0.5 * dt * k2)
        k4 = f(s + dt * k3)
        return s + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    return step
