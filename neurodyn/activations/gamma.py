"""The adaptive activation family γ(x; n, s) between softplus/ReLU and sigmoid/step (``docs/papers/activations.md §2``).

``γ(x; n, s) = (1 − s)·softplus(n x)/n + s·σ(n x)``: the gain n > 0 sharpens the curve, the saturation s moves it
from non-saturating (s = 0: softplus, ReLU as n → ∞) to saturating (s = 1: sigmoid, step as n → ∞). Named members:
(1, 0) softplus, (1, 1) logistic sigmoid, (2, 1) = (1 + tanh x)/2.

Plain tensor operations (no custom autograd Function): autograd's derivatives equal the closed forms of
:func:`gamma_derivatives` to 1e-10 where n x <= 20 (above it softplus switches to its linear regime, whose exact
slope 1 differs from σ(n x) by about e^-20), and the ops stay fusable.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["gamma", "gamma_derivatives", "max_slope", "value_at_zero", "check_shape", "AdaptiveActivation", "MODES",
           "N_MIN", "NAMED_MEMBERS"]

Mode = Literal["static", "homogeneous", "heterogeneous"]
MODES: tuple[str, ...] = ("static", "homogeneous", "heterogeneous")
N_MIN = 1e-2  # the forward pass clamps the gain at this floor (card §8); clamped units are counted, never hidden
#: Named members of the family: label -> (n, s); n = inf means the limit n → ∞.
NAMED_MEMBERS: dict[str, tuple[float, float]] = {
    "softplus": (1.0, 0.0), "ReLU (n → ∞)": (math.inf, 0.0), "sigmoid": (1.0, 1.0), "(1 + tanh x)/2": (2.0, 1.0),
    "step (n → ∞)": (math.inf, 1.0),
}


def gamma(x: Tensor, n: Tensor | float, s: Tensor | float) -> Tensor:
    """The activation ``γ(x; n, s) = (1 − s)·softplus(n x)/n + s·σ(n x)``, elementwise.

    Parameters
    ----------
    x : Tensor, any shape
    n : Tensor or float
        Gain, > 0; broadcasts against ``x`` (a scalar, or one value per unit along the last axis).
    s : Tensor or float
        Saturation; broadcasts against ``x``. Not restricted to [0, 1].

    Returns
    -------
    Tensor
        The broadcast shape of ``x``, ``n`` and ``s``.

    Notes
    -----
    ``softplus`` is ``torch.nn.functional.softplus`` with its linear regime above ``n x = 20`` (the reference's
    guard), which keeps γ finite for any gain.

    Examples
    --------
    >>> import torch
    >>> gamma(torch.tensor([0.0]), 1.0, 1.0)
    tensor([0.5000])
    """
    nx = n * x
    return (1 - s) * F.softplus(nx) / n + s * torch.sigmoid(nx)


def gamma_derivatives(x: Tensor, n: Tensor | float, s: Tensor | float) -> tuple[Tensor, Tensor, Tensor]:
    """Closed-form partial derivatives of γ (card §2.1), elementwise.

    Parameters
    ----------
    x, n, s : Tensor or float
        As in :func:`gamma`.

    Returns
    -------
    dx : Tensor
        ``∂γ/∂x = (1 − s)·σ(nx) + s·n·σ(nx)(1 − σ(nx))``.
    dn : Tensor
        ``∂γ/∂n = ((1 − s)/n)·(x·σ(nx) − softplus(nx)/n) + s·x·σ(nx)(1 − σ(nx))``.
    ds : Tensor
        ``∂γ/∂s = σ(nx) − softplus(nx)/n``.
    """
    nx = n * x
    sig = torch.sigmoid(nx)
    g1 = F.softplus(nx) / n
    bump = sig * (1 - sig)
    dx = (1 - s) * sig + s * n * bump
    dn = (1 - s) / n * (x * sig - g1) + s * x * bump
    ds = sig - g1
    return dx, dn, ds


def max_slope(n: float, s: float) -> float:
    """``sup_x ∂γ/∂x``: ``(1 + s(n − 1))² / (4 n s)`` if ``s > 1/(n + 1)`` (reached at a finite x), else ``1 − s``.

    Parameters
    ----------
    n : float
        Gain, > 0.
    s : float
        Saturation in [0, 1].

    Returns
    -------
    float
    """
    if s > 1.0 / (n + 1.0):
        return (1.0 + s * (n - 1.0)) ** 2 / (4.0 * n * s)
    return 1.0 - s


def value_at_zero(n: float, s: float) -> float:
    """``γ(0; n, s) = (1 − s)·ln 2 / n + s / 2``."""
    return (1.0 - s) * math.log(2.0) / n + s / 2.0


def check_shape(n: float, s: float) -> None:
    """Refuse a gain that is not a positive finite number, or a saturation that is not finite.

    Raises
    ------
    ValueError
        Naming the value and what was expected.
    """
    if not (isinstance(n, (int, float)) and math.isfinite(n) and n > 0):
        raise ValueError(f"the gain n must be a finite number > 0, got {n!r}")
    if not (isinstance(s, (int, float)) and math.isfinite(s)):
        raise ValueError(f"the saturation s must be a finite number, got {s!r}")


class AdaptiveActivation(nn.Module):
    """γ(x; n, s) with a fixed, a shared or a per-unit learned shape.

    Parameters
    ----------
    num_units : int
        Units N along the last axis of the input.
    n : float, default 1.0
        Initial gain, finite and > 0.
    s : float, default 0.0
        Initial saturation, finite.
    mode : {"static", "homogeneous", "heterogeneous"}
        ``static``: (n, s) are buffers; ``homogeneous``: two scalar parameters shared by every unit;
        ``heterogeneous``: two parameter vectors of length N, one (n_i, s_i) per unit (truly per unit: the
        reference's one-element tensors would broadcast to a shared pair, card §2.4.1).

    Notes
    -----
    The forward pass uses ``max(n, N_MIN)`` (card §8: a gain near 0 divides by zero, a negative one turns softplus into
    a soft-min); :attr:`clamped` counts the units held at the floor. s is never clipped.
    """

    def __init__(self, num_units: int, n: float = 1.0, s: float = 0.0, mode: Mode = "static") -> None:
        super().__init__()
        check_shape(n, s)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if num_units < 1:
            raise ValueError(f"num_units must be >= 1, got {num_units}")
        self.num_units, self.mode = int(num_units), mode
        shape = (num_units,) if mode == "heterogeneous" else ()
        n_t = torch.full(shape, float(n))
        s_t = torch.full(shape, float(s))
        if mode == "static":
            self.register_buffer("n", n_t)
            self.register_buffer("s", s_t)
        else:
            self.n = nn.Parameter(n_t)
            self.s = nn.Parameter(s_t)

    def forward(self, x: Tensor) -> Tensor:
        """γ of ``x`` (..., N) with this module's shape; same shape out."""
        return gamma(x, self.n.clamp_min(N_MIN), self.s)

    @property
    def clamped(self) -> int:
        """Units whose gain sits below ``N_MIN`` (held at the floor in the forward pass)."""
        below = int((self.n.detach() < N_MIN).sum())
        return below * (self.num_units if self.n.dim() == 0 else 1)

    def extra_repr(self) -> str:
        return f"num_units={self.num_units}, mode={self.mode}"
