"""Games for LEAD (arXiv:2010.13846): bilinear and quadratic games, and the 8-Gaussian mixture GAN.

Quadratic game (docs/papers/lead.md §2)::

    f(x, y) = 1/2 x^T S_x x + x^T A y - 1/2 y^T S_y y,    min over x in R^n, max over y in R^m

with joint field ``v = (grad_x f, -grad_y f)``, its Jacobian ``J_v = [[S_x, A], [-A^T, S_y]]`` and interaction part
``C = [[0, A], [-A^T, 0]]``. Bilinear games are the case ``S_x = S_y = 0``. A game with adversarialness
``gamma_j`` per mode has ``S_x = S_y = diag((1 - gamma_j) s_j)`` and ``A = diag(gamma_j a_j)``, so the Jacobian's
eigenvalues are ``(1 - gamma_j) s_j +/- i gamma_j a_j`` (the reference toy_quad.py's mixture
``gamma * adversarial + (1 - gamma) * cooperative``).

8-Gaussian GAN (docs/papers/lead.md §7): eight centres at radius 2 in the directions ``k pi / 4``, standard deviation
0.05, all points divided by 1.414. Generator and discriminator are ReLU MLPs; several seeds are trained at once by
stacking their weights along a leading axis (one batched matmul per layer). Mode coverage is the project's own
definition (docs/papers/lead.md §7), not the paper's (the paper shows density plots).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from neurodyn.core.seeding import numpy_generator

__all__ = [
    "QuadraticGame",
    "xy_game",
    "bilinear_game",
    "random_bilinear_game",
    "adversarial_gammas",
    "quadratic_game",
    "GAUSS_RADIUS",
    "GAUSS_STD",
    "GAUSS_SCALE",
    "gaussian_centres",
    "sample_eight_gaussians",
    "StackedMLP",
    "gan_losses",
    "mode_stats",
]


@dataclass(frozen=True, eq=False)
class QuadraticGame:
    """``f(x, y) = 1/2 x^T S_x x + x^T A y - 1/2 y^T S_y y`` (float64 numpy matrices).

    Parameters
    ----------
    A : ndarray of shape (n, m)
        Interaction matrix.
    Sx : ndarray of shape (n, n)
        Minimiser's curvature (symmetric).
    Sy : ndarray of shape (m, m)
        Maximiser's curvature (symmetric).
    """

    A: np.ndarray
    Sx: np.ndarray
    Sy: np.ndarray

    def __post_init__(self) -> None:
        A, Sx, Sy = (np.atleast_2d(np.asarray(M, dtype=np.float64)) for M in (self.A, self.Sx, self.Sy))
        n, m = A.shape
        if Sx.shape != (n, n) or Sy.shape != (m, m):
            raise ValueError(f"Sx must be ({n}, {n}) and Sy ({m}, {m}) for A of shape {A.shape}; "
                             f"got {Sx.shape}, {Sy.shape}")
        if not (np.isfinite(A).all() and np.isfinite(Sx).all() and np.isfinite(Sy).all()):
            raise ValueError("game matrices must be finite")
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "Sx", Sx)
        object.__setattr__(self, "Sy", Sy)

    @property
    def n(self) -> int:
        """Dimension of x."""
        return self.A.shape[0]

    @property
    def m(self) -> int:
        """Dimension of y."""
        return self.A.shape[1]

    def value(self, x: Any, y: Any) -> Any:
        """``f(x, y)`` for tensors (differentiable) or arrays; ``x`` of shape (n,), ``y`` of shape (m,)."""
        if isinstance(x, Tensor):
            A, Sx, Sy = (torch.as_tensor(M, dtype=x.dtype, device=x.device) for M in (self.A, self.Sx, self.Sy))
        else:
            A, Sx, Sy = self.A, self.Sx, self.Sy
        return 0.5 * (x @ (Sx @ x)) + x @ (A @ y) - 0.5 * (y @ (Sy @ y))

    def jacobian(self) -> np.ndarray:
        """``J_v = [[S_x, A], [-A^T, S_y]]``, shape (n + m, n + m)."""
        return np.block([[self.Sx, self.A], [-self.A.T, self.Sy]])

    def coupling_matrix(self) -> np.ndarray:
        """``C = [[0, A], [-A^T, 0]]``, shape (n + m, n + m)."""
        return np.block([[np.zeros_like(self.Sx), self.A], [-self.A.T, np.zeros_like(self.Sy)]])

    def plane(self, i: int = 0, j: int = 0) -> tuple[float, float, float]:
        """Coefficients ``(s_x, a, s_y)`` of f restricted to the (x_i, y_j) plane (other coordinates 0)."""
        return float(self.Sx[i, i]), float(self.A[i, j]), float(self.Sy[j, j])

    def modes(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-mode ``(s, a)``: the Jacobian eigenvalues are ``s_j +/- i a_j``, the coupling's ``+/- i a_j``.

        Available when ``J_v`` and ``C`` are diagonalised together by 2x2 mode blocks: bilinear games (``a`` = the
        singular values of A, with ``|n - m|`` extra still modes ``s = a = 0``) and games with ``S_x = S_y`` diagonal
        and A diagonal square.

        Returns
        -------
        s, a : ndarray of shape (n_modes,)

        Raises
        ------
        ValueError
            If the game has no such mode decomposition (use the full-matrix route).
        """
        A, Sx, Sy = self.A, self.Sx, self.Sy
        if not Sx.any() and not Sy.any():
            sv = np.linalg.svd(A, compute_uv=False)
            extra = abs(self.n - self.m)
            return np.zeros(len(sv) + extra), np.concatenate([sv, np.zeros(extra)])
        def diag(M: np.ndarray) -> bool:
            return np.array_equal(M, np.diag(np.diag(M)))

        if self.n == self.m and diag(A) and diag(Sx) and diag(Sy) and np.array_equal(np.diag(Sx), np.diag(Sy)):
            return np.diag(Sx).copy(), np.abs(np.diag(A))
        raise ValueError("this game has no per-mode decomposition (needs S_x = S_y diagonal and A diagonal, or S = 0);"
                         " use route='matrix'")


def xy_game() -> QuadraticGame:
    """The scalar bilinear game ``f(x, y) = x y``."""
    return bilinear_game(np.ones((1, 1)))


def bilinear_game(A: np.ndarray) -> QuadraticGame:
    """Bilinear game ``f(x, y) = x^T A y``.

    Parameters
    ----------
    A : ndarray of shape (n, m)
    """
    A = np.atleast_2d(np.asarray(A, dtype=np.float64))
    return QuadraticGame(A, np.zeros((A.shape[0],) * 2), np.zeros((A.shape[1],) * 2))


def random_bilinear_game(
    dim: int, rng: np.random.Generator | int = 0, *, sigma_min: float = 0.5, sigma_max: float = 2.0
) -> QuadraticGame:
    """Bilinear game with ``A = U diag(sigma) V^T``: random rotations, singular values uniform in a range.

    Parameters
    ----------
    dim : int
        Dimension of each player (A is dim x dim).
    rng : numpy Generator or int seed
    sigma_min, sigma_max : float
        Range of the singular values (docs/papers/lead.md §10: [0.5, 2]).
    """
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    if not 0.0 <= sigma_min <= sigma_max:
        raise ValueError(f"need 0 <= sigma_min <= sigma_max, got {sigma_min}, {sigma_max}")
    rng = numpy_generator(rng) if isinstance(rng, (int, np.integer)) else rng
    sigma = rng.uniform(sigma_min, sigma_max, size=dim)
    U, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    V, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return bilinear_game((U * sigma) @ V.T)


def adversarial_gammas(
    gamma_max: float, n_modes: int = 7, rng: np.random.Generator | np.random.RandomState | int = 0
) -> np.ndarray:
    """Per-mode adversarialness as in toy_quad.py: ``gamma_j ~ U(0, gamma_max)``, ``gamma_0 = 0``,
    ``gamma_{n-1} = gamma_max``.

    The uniform draws are ``gamma_max * u_j`` with the same ``u`` for every ``gamma_max`` (toy_quad reseeds for
    each value). Pass ``np.random.RandomState(0)`` to get toy_quad's exact draws; an int seeds a PCG64 Generator.

    Parameters
    ----------
    gamma_max : float in [0, 1]
    n_modes : int
    rng : Generator, RandomState or int

    Returns
    -------
    ndarray of shape (n_modes,)
    """
    if not 0.0 <= gamma_max <= 1.0:
        raise ValueError(f"gamma_max must be in [0, 1], got {gamma_max}")
    rng = numpy_generator(rng) if isinstance(rng, (int, np.integer)) else rng
    gam = gamma_max * rng.uniform(0.0, 1.0, size=n_modes)
    gam[0] = 0.0
    gam[-1] = gamma_max
    return gam


def quadratic_game(gamma: Any, s: Any = None, a: Any = None) -> QuadraticGame:
    """Quadratic game with per-mode adversarialness (docs/papers/lead.md §2), toy_quad.py's minus its 28-dim LEAD.

    ``S_x = S_y = diag((1 - gamma_j) s_j)``, ``A = diag(gamma_j a_j)``; gamma 0 is a cooperative minimisation,
    gamma 1 a pure bilinear game.

    Parameters
    ----------
    gamma : float or array of shape (n_modes,)
        Adversarialness per mode, in [0, 1].
    s, a : array of shape (n_modes,), optional
        Cooperative and adversarial scales; default ``linspace(1/4, 4, 7)`` for both (toy_quad).

    Returns
    -------
    QuadraticGame with n = m = n_modes
    """
    s = np.linspace(0.25, 4.0, 7) if s is None else np.asarray(s, dtype=np.float64)
    a = s if a is None else np.asarray(a, dtype=np.float64)
    gamma = np.broadcast_to(np.asarray(gamma, dtype=np.float64), s.shape)
    if s.shape != a.shape:
        raise ValueError(f"s and a must have the same shape, got {s.shape} and {a.shape}")
    if ((gamma < 0) | (gamma > 1)).any():
        raise ValueError(f"adversarialness must be in [0, 1], got {gamma}")
    S = np.diag((1.0 - gamma) * s)
    return QuadraticGame(np.diag(gamma * a), S, S.copy())


# --------------------------------------------------------------------------- 8-Gaussian mixture GAN
GAUSS_RADIUS = 2.0
GAUSS_STD = 0.05
GAUSS_SCALE = 1.414  # the reference divides every point (centres and noise) by this


def gaussian_centres() -> np.ndarray:
    """The 8 mode centres after scaling, shape (8, 2)."""
    ang = np.arange(8) * (np.pi / 4)
    return GAUSS_RADIUS * np.stack([np.cos(ang), np.sin(ang)], axis=1) / GAUSS_SCALE


def sample_eight_gaussians(shape: tuple[int, ...], generator: torch.Generator, *, device: Any = "cpu",
                           dtype: torch.dtype = torch.float32) -> Tensor:
    """Draw points from the 8-Gaussian mixture.

    Parameters
    ----------
    shape : tuple of int
        Leading shape, e.g. ``(n_seeds, batch)``.
    generator : torch.Generator
        On ``device``.

    Returns
    -------
    Tensor of shape (*shape, 2)
    """
    centres = torch.as_tensor(gaussian_centres() * GAUSS_SCALE, dtype=dtype, device=device)  # (8, 2) unscaled
    idx = torch.randint(0, 8, shape, generator=generator, device=device)
    noise = torch.randn(*shape, 2, generator=generator, device=device, dtype=dtype)
    return (centres[idx] + GAUSS_STD * noise) / GAUSS_SCALE


class StackedMLP(nn.Module):
    """``n_stack`` independent ReLU MLPs evaluated with one batched matmul per layer.

    Weights drawn from N(0, 0.02^2), biases zero (reference 8-Gaussian script).

    Parameters
    ----------
    n_stack : int
        Number of independent networks (one per seed).
    sizes : sequence of int
        Layer widths ``(in, hidden, ..., out)``.
    generator : torch.Generator
    device, dtype : torch device and dtype
    """

    def __init__(self, n_stack: int, sizes: tuple[int, ...], generator: torch.Generator, *, device: Any = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if n_stack < 1 or len(sizes) < 2:
            raise ValueError(f"need n_stack >= 1 and at least two layer sizes, got {n_stack}, {sizes}")
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            w = 0.02 * torch.randn(n_stack, d_in, d_out, generator=generator, device=device, dtype=dtype)
            self.weights.append(nn.Parameter(w))  # (S, d_in, d_out)
            self.biases.append(nn.Parameter(torch.zeros(n_stack, 1, d_out, device=device, dtype=dtype)))

    def forward(self, h: Tensor) -> Tensor:
        """Map ``h`` of shape (S, B, in) to (S, B, out)."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)  # (S, B, d_out)
            if i < last:
                h = torch.relu(h)
        return h


def gan_losses(G: StackedMLP, D: StackedMLP, real: Tensor, z: Tensor, *, per_seed: bool = False
               ) -> tuple[Tensor, Tensor]:
    """Non-saturating GAN losses (BCE with logits), summed over the stacked seeds.

    Parameters
    ----------
    G, D : StackedMLP
        Generator (z -> 2) and discriminator (2 -> 1 logit).
    real : Tensor of shape (S, B, 2)
    z : Tensor of shape (S, B, z_dim)
    per_seed : bool, default False
        Return the per-seed losses of shape (S,) instead of their sums.

    Returns
    -------
    loss_G, loss_D : Tensor
        ``sum_s mean_b softplus(-D(G(z)))`` and ``sum_s mean_b [softplus(-D(x)) + softplus(D(G(z)))]``; summing
        over seeds keeps each seed's gradient its own.
    """
    fake_logit = D(G(z))  # (S, B, 1)
    real_logit = D(real)
    sp = nn.functional.softplus
    loss_D = (sp(-real_logit) + sp(fake_logit)).mean(dim=(1, 2))  # (S,)
    loss_G = sp(-fake_logit).mean(dim=(1, 2))
    if per_seed:
        return loss_G, loss_D
    return loss_G.sum(), loss_D.sum()


def mode_stats(samples: np.ndarray, *, width: float = 1.0, min_fraction: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Modes covered and high-quality fraction (docs/papers/lead.md §7; our definition, not the paper's).

    Each sample is assigned to its nearest centre; it is high quality if within ``3 * std * width`` of it
    (``std = 0.05 / 1.414``); a mode is covered if its high-quality samples are at least ``min_fraction`` of all
    samples. (Counting only high-quality samples keeps a generator that
    sprays points everywhere from covering every mode.)

    Parameters
    ----------
    samples : ndarray of shape (..., n, 2)
    width : float
        Multiplier of the high-quality radius (widened 2x for the small models, docs/papers/lead.md §7).
    min_fraction : float

    Returns
    -------
    modes : ndarray of shape (...,), int
    hq_fraction : ndarray of shape (...,), float
    """
    samples = np.asarray(samples, dtype=np.float64)
    centres = gaussian_centres()
    dist = np.linalg.norm(samples[..., :, None, :] - centres, axis=-1)  # (..., n, 8)
    nearest = dist.argmin(axis=-1)
    hq = dist.min(axis=-1) <= 3.0 * GAUSS_STD / GAUSS_SCALE * width  # (..., n)
    n = samples.shape[-2]
    counts = np.stack([((nearest == k) & hq).sum(axis=-1) for k in range(8)], axis=-1)  # (..., 8)
    modes = (counts >= max(1, math.ceil(min_fraction * n))).sum(axis=-1)
    return modes, hq.mean(axis=-1)
