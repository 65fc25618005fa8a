"""Spectral Decoupling and the small exact pieces of the Gradient Starvation paper (``docs/papers/starvation.md``).

* :func:`spectral_decoupling_loss`: cross-entropy plus an L2 penalty on the logits (the method, card §2.2), binary
  (one logit, targets 0/1) or multi-class (DomainBed's "SD"), in the practical mean form or the paper's sum form.
* :func:`per_class_decoupling_loss`: the per-class-target variant of the CelebA run (card §2.2, mode "spw3").
* :func:`sd_fixed_point` / :func:`lambert_w_margin`: the per-example margin ``u*`` with ``λ u* = σ(−u*)`` reached
  under SD, and its small-λ approximation ``W(1/λ)``.
* :func:`two_moons`: the two-moons data with a controllable margin (card §2.3).
* :func:`linear_toy`: the exact two-feature linear toy of the paper's Figure 6 (card §5, Panel C).
* :func:`feature_responses`: ``|Uᵀ ŷ|`` from the eigenvectors of a tangent kernel (card §2.4, check 7).

Conventions (card §8): the paper's theory sums over examples and writes ``(λ/2)||ŷ||²``; the practical form averages,
``c · mean(ŷ²)``. For one logit per example the mean form with ``c`` is the sum form with the same ``c`` divided by
the batch size, so its stationary points are those of the paper's loss with ``λ = 2c``.

Examples
--------
>>> round(sd_fixed_point(0.002), 5)
4.66512
>>> round(lambert_w_margin(0.002), 4)
4.6728
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import brentq
from scipy.special import expit, lambertw
from torch import Tensor

__all__ = ["spectral_decoupling_loss", "per_class_decoupling_loss", "sd_fixed_point", "lambert_w_margin",
           "two_moons", "linear_toy", "ToyResult", "feature_responses", "CELEBA_COEF", "CELEBA_GAMMAS",
           "TOY_SEED", "TOY_SINE"]

Reduction = Literal["mean", "sum"]
CELEBA_COEF = 0.1  # c of the CelebA run (card §3, mode "spw3")
#: Per-class logit targets of the CelebA run, indexed by class: (γ_0, γ_1) = (0.44, 2.5).
CELEBA_GAMMAS: tuple[float, float] = (0.44, 2.5)
TOY_SEED = 1235  # numpy RandomState seed of the linear toy's random 2x2 matrix (card §4 Panel C)
TOY_SINE = 0.5  # sine of the toy's rotation U


# ---------------------------------------------------------------------------------------------------------------
# validation helpers


def _check_coef(coef: float, name: str = "coef") -> float:
    if isinstance(coef, bool) or not isinstance(coef, Real) or not math.isfinite(coef) or coef < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {coef!r}")
    return float(coef)


def _check_logits(logits: Tensor) -> None:
    if not isinstance(logits, Tensor) or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating-point tensor, got {type(logits).__name__}"
                         + (f" of dtype {logits.dtype}" if isinstance(logits, Tensor) else ""))
    if logits.ndim not in (1, 2):
        raise ValueError(f"logits must have shape (B,) (binary) or (B, C) (multi-class), got {tuple(logits.shape)}")
    if logits.shape[0] == 0 or (logits.ndim == 2 and logits.shape[1] == 0):
        raise ValueError(f"logits must hold at least one example and one class, got shape {tuple(logits.shape)}")
    if not bool(torch.isfinite(logits.detach()).all()):
        raise ValueError("logits must be finite, found NaN or inf")


def _check_binary_targets(logits: Tensor, targets: Tensor) -> None:
    if not isinstance(targets, Tensor):
        raise ValueError(f"targets must be a tensor, got {type(targets).__name__}")
    if targets.shape != logits.shape:
        raise ValueError(f"binary targets must have the shape of the logits {tuple(logits.shape)}, "
                         f"got {tuple(targets.shape)}")
    t = targets.detach()
    if not bool(((t == 0) | (t == 1)).all()):
        raise ValueError("binary targets must be 0 or 1, found other values")


def _check_class_targets(logits: Tensor, targets: Tensor) -> None:
    if not isinstance(targets, Tensor):
        raise ValueError(f"targets must be a tensor, got {type(targets).__name__}")
    if targets.dtype != torch.int64:
        raise ValueError(f"multi-class targets must be int64 class indices, got dtype {targets.dtype}")
    if targets.shape != logits.shape[:1]:
        raise ValueError(f"multi-class targets must have shape (B,) = ({logits.shape[0]},), got {tuple(targets.shape)}")
    n_classes = logits.shape[1]
    t = targets.detach()
    if bool(((t < 0) | (t >= n_classes)).any()):
        raise ValueError(f"multi-class targets must lie in [0, {n_classes}) (C = {n_classes} classes), "
                         f"found values in [{int(t.min())}, {int(t.max())}]")


# ---------------------------------------------------------------------------------------------------------------
# losses


def spectral_decoupling_loss(logits: Tensor, targets: Tensor, coef: float, *,
                             reduction: Reduction = "mean") -> Tensor:
    """Cross-entropy plus Spectral Decoupling's L2 penalty on the logits (card §2.2).

    Parameters
    ----------
    logits : Tensor
        (B,) one logit per example (binary, logistic loss) or (B, C) (multi-class, softmax cross-entropy); finite.
    targets : Tensor
        Binary: (B,), values 0 or 1 (any real or integer dtype; a sign label s in {−1, +1} maps to ``(s + 1)/2``).
        Multi-class: (B,) int64 class indices in [0, C).
    coef : float
        The penalty weight c, finite and >= 0.
    reduction : {"mean", "sum"}, default "mean"
        ``"mean"``: ``mean_i CE_i + c · mean(logits²)``, the mean over all B (binary) or B·C (multi-class) entries:
        DomainBed's "SD" with ``sd_reg = c``, and the paper's practical form with ``c = λ/2`` (card §2.2).
        ``"sum"``: ``Σ_i CE_i + c · Σ logits²``, the paper's theory form ``1ᵀ log(1 + exp(−Y ŷ)) + (λ/2)||ŷ||²``
        exactly when ``c = λ/2``. For one logit, mean form(c) = sum form(c) / B; for C classes,
        mean form(c) = sum form(c / C) / B.

    Returns
    -------
    Tensor
        0-d, differentiable w.r.t. ``logits``. The binary loss is ``F.binary_cross_entropy_with_logits`` (i.e.
        ``softplus(−(2t − 1)·ŷ)`` per example), the multi-class one ``F.cross_entropy``; with ``coef = 0`` the result
        is exactly theirs (bit for bit: the penalty is not added at all).

    Raises
    ------
    ValueError
        Logits not (B,) / (B, C) floating point, empty, NaN or inf; targets of the wrong shape, outside {0, 1}
        (binary), not int64 or outside [0, C) (multi-class); a negative or non-finite ``coef``; an unknown
        ``reduction``.

    Notes
    -----
    The penalty's gradient w.r.t. the logits is ``2 c ŷ / N`` in the mean form (N = B or B·C entries) and ``2 c ŷ``
    in the sum form. SD is meant to replace weight decay, not to be combined with it (card §2.2).

    Examples
    --------
    >>> import torch
    >>> from torch.nn.functional import binary_cross_entropy_with_logits as bce
    >>> logits, t = torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])
    >>> bool(spectral_decoupling_loss(logits, t, 0.0) == bce(logits, t))
    True
    """
    coef = _check_coef(coef)
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    _check_logits(logits)
    if logits.ndim == 1:
        _check_binary_targets(logits, targets)
        base = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), reduction=reduction)
    else:
        _check_class_targets(logits, targets)
        base = F.cross_entropy(logits, targets, reduction=reduction)
    if coef == 0.0:
        return base
    sq = logits ** 2
    return base + coef * (sq.mean() if reduction == "mean" else sq.sum())


def per_class_decoupling_loss(logits: Tensor, targets: Tensor, coef: float, gammas: Sequence[float]) -> Tensor:
    """Logistic loss plus a per-class logit target: the CelebA run's SD variant (card §2.2, mode "spw3").

    ``mean_i softplus(−(2t_i − 1)·ŷ_i) + c · Σ_k mean_{i: t_i = k} (ŷ_i − γ_k)²`` for a single-logit binary model:
    each class's squared deviation is averaged over that class's examples, then the two class means are summed.
    The CelebA defaults are ``c = 0.1`` (:data:`CELEBA_COEF`) and ``(γ_0, γ_1) = (0.44, 2.5)``
    (:data:`CELEBA_GAMMAS`).

    Parameters
    ----------
    logits : Tensor
        (B,) one logit per example, finite.
    targets : Tensor
        (B,) values 0 or 1.
    coef : float
        c, finite and >= 0.
    gammas : sequence of two floats
        ``(γ_0, γ_1)``, the logit targets of class 0 and class 1, finite.

    Returns
    -------
    Tensor
        0-d. A class absent from the batch contributes nothing (the reference's empty mean would be NaN).

    Raises
    ------
    ValueError
        As :func:`spectral_decoupling_loss` (binary), and for logits that are not (B,) or ``gammas`` that are not
        two finite numbers.

    Notes
    -----
    What γ = 0 recovers: ``c · (mean_{class 0} ŷ² + mean_{class 1} ŷ²)``, which for a batch with exactly B/2
    examples of each class equals ``2c · mean(ŷ²)``, i.e. ``per_class_decoupling_loss(ŷ, t, c, (0, 0))`` equals
    ``spectral_decoupling_loss(ŷ, t, 2c)``. With unbalanced classes it weights the rarer class's logits more (each
    class counts as a whole). In the general form ``Σ_k (λ_k/2) · mean_{i ∈ k} (ŷ_i − γ_k)²`` this is ``λ_k = 2c``.
    """
    coef = _check_coef(coef)
    _check_logits(logits)
    if logits.ndim != 1:
        raise ValueError(f"the per-class variant needs one logit per example, shape (B,), got {tuple(logits.shape)}")
    _check_binary_targets(logits, targets)
    g = tuple(gammas)
    if len(g) != 2 or not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v)
                              for v in g):
        raise ValueError(f"gammas must be two finite numbers (γ_0, γ_1), got {gammas!r}")
    loss = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
    for k, gamma_k in enumerate(g):
        members = targets == k
        if bool(members.any()):
            loss = loss + coef * ((logits[members] - gamma_k) ** 2).mean()
    return loss


# ---------------------------------------------------------------------------------------------------------------
# fixed point


def _check_lam(lam: float) -> float:
    if isinstance(lam, bool) or not isinstance(lam, Real) or not math.isfinite(lam) or lam <= 0:
        raise ValueError(f"lam (λ) must be a finite number > 0, got {lam!r}")
    return float(lam)


def sd_fixed_point(lam: float) -> float:
    """The margin ``u* > 0`` with ``λ u* = σ(−u*)``: every example's ``y·ŷ`` at SD's equilibrium (card §2.2).

    Parameters
    ----------
    lam : float
        λ of the sum form ``(λ/2)||ŷ||²``, finite and > 0 (the mean form's ``c`` is ``λ/2``).

    Returns
    -------
    float
        Card values: λ = 0.002 → 4.66512, 0.006 → 3.76689, 0.02 → 2.81799, 0.2 → 1.17751.

    Notes
    -----
    ``λu − σ(−u)`` increases strictly from −1/2 at u = 0 and is positive at u = 1/λ, so the root is unique;
    Brent's method brackets it in (0, 1/λ] to an absolute tolerance of 1e-13.
    """
    lam = _check_lam(lam)
    return float(brentq(lambda u: lam * u - expit(-u), 0.0, 1.0 / lam, xtol=1e-13, rtol=4 * np.finfo(float).eps,
                        maxiter=500))


def lambert_w_margin(lam: float) -> float:
    """``W(1/λ)``, Lambert W's principal branch: the small-λ approximation of :func:`sd_fixed_point`.

    From ``log(1 + e^{−u}) ≈ e^{−u}`` the stationarity condition becomes ``λ u = e^{−u}``, i.e. ``u e^u = 1/λ``.
    λ = 0.002 gives 4.6728 (the exact fixed point is 4.66512).

    Parameters
    ----------
    lam : float
        Finite and > 0.

    Returns
    -------
    float
    """
    lam = _check_lam(lam)
    return float(lambertw(1.0 / lam).real)


# ---------------------------------------------------------------------------------------------------------------
# data


def _random_state(generator: int | np.random.RandomState | np.random.Generator | torch.Generator
                  ) -> int | np.random.RandomState:
    if isinstance(generator, np.random.RandomState):
        return generator
    if isinstance(generator, np.random.Generator):
        return int(generator.integers(2**32 - 1))
    if isinstance(generator, torch.Generator):
        return int(torch.randint(2**31 - 1, (1,), generator=generator))
    if isinstance(generator, bool) or not isinstance(generator, (int, np.integer)) or not 0 <= generator < 2**32:
        raise ValueError(f"generator must be a seed in [0, 2**32), a numpy RandomState or Generator, or a "
                         f"torch.Generator, got {generator!r}")
    return int(generator)


def two_moons(n: int = 300, margin: float = 0.1, *, noise: float = 0.1, rotation: float = 0.0,
              generator: int | np.random.RandomState | np.random.Generator | torch.Generator = 0
              ) -> tuple[Tensor, Tensor]:
    """Two moons with a controllable linear margin (card §2.3).

    Construction, with ``(X, label) = sklearn.datasets.make_moons(n_samples=n, noise=noise, random_state=rs)``
    and ``s = 2·label − 1``:

    1. ``X[:, 0] −= 0.5``; ``X[:, 1] −= 0.3·s``;
    2. centre the second column: ``X[:, 1] −= mean(X[:, 1])``;
    3. fold: ``X[:, 1] = −s·|X[:, 1]|`` (class +1 on the negative side, class −1 on the positive side);
    4. margin Δ: ``X[:, 1] −= s·Δ``;
    5. swap the columns, so the separable direction is the horizontal axis and the moons run vertically;
    6. rotate by ``rotation`` degrees: ``X ← X R``, ``R = [[cos, −sin], [sin, cos]]``.

    Parameters
    ----------
    n : int, default 300
        Number of points, >= 2 (make_moons puts ``n // 2`` in class −1 and the rest in class +1).
    margin : float, default 0.1
        Δ, finite. Δ > 0: before rotation every class +1 point has ``x <= −Δ`` and every class −1 point ``x >= Δ``
        (gap 2Δ); Δ < 0: the classes overlap in the band ``|x| < |Δ|``.
    noise : float, default 0.1
        Gaussian noise of make_moons, finite and >= 0.
    rotation : float, default 0.0
        Angle in degrees (45 in the paper's Fig. 3), finite.
    generator : int, numpy RandomState or Generator, or torch.Generator, default 0
        The randomness of make_moons: an int seed or a ``RandomState`` is its ``random_state`` as is (seed 0 is the
        authors' ``random_state=0``); a numpy ``Generator`` or a ``torch.Generator`` gives it a seed drawn from them.

    Returns
    -------
    X : Tensor
        (n, 2) float32.
    s : Tensor
        (n,) float32 sign labels in {−1, +1} (not 0/1: use ``(s + 1)/2`` as targets of the losses above).
    """
    from sklearn.datasets import make_moons

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    for name, value in (("margin", margin), ("noise", noise), ("rotation", rotation)):
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    x, label = make_moons(n_samples=int(n), noise=noise, random_state=_random_state(generator))
    s = 2.0 * label - 1.0
    x[:, 0] -= 0.5
    x[:, 1] -= 0.3 * s
    x[:, 1] -= x[:, 1].mean()
    x[:, 1] = -s * np.abs(x[:, 1])
    x[:, 1] -= s * margin
    x = x[:, ::-1]
    if rotation != 0.0:
        a = math.radians(rotation)
        c, sn = math.cos(a), math.sin(a)
        x = x @ np.array([[c, -sn], [sn, c]])
    return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32), torch.as_tensor(s, dtype=torch.float32)


# ---------------------------------------------------------------------------------------------------------------
# the linear two-feature toy


@dataclass(frozen=True)
class ToyResult:
    """Feature responses of the linear toy: ``z`` (2,) final ``|z|``; ``path`` (steps + 1, 2) ``|z|`` after
    0, 1, ..., steps gradient steps (row 0 is θ = 0, the last row equals ``z``), numpy float64."""

    z: np.ndarray
    path: np.ndarray


def _sigmoid_neg(v: float) -> float:
    """``σ(−v)`` for a Python float, without overflow for large |v|."""
    if v >= 0:
        e = math.exp(-v)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(v))


def _toy_features(s1: float, s2: float) -> tuple[np.ndarray, np.ndarray]:
    """``(φ, U)`` of the toy: ``φ = U diag(s1, s2) Vh``."""
    rng = np.random.RandomState(TOY_SEED)
    _, _, vh = np.linalg.svd(rng.randn(2, 2))
    cos = math.sqrt(1.0 - TOY_SINE ** 2)
    u = np.array([[cos, -TOY_SINE], [TOY_SINE, cos]])
    return u @ np.diag([s1, s2]) @ vh, u


def linear_toy(s1: float, s2: float = 2.0, *, reg: Literal["wd", "sd"] = "wd", steps: int = 5000, lr: float = 0.05,
               C: float = 100.0) -> ToyResult:
    """Gradient starvation (``reg="wd"``) and its absence under SD (``reg="sd"``) in the paper's linear toy.

    Exact construction (the paper's Figure 6, card §4 Panel C):

    * ``A = numpy.random.RandomState(1235).randn(2, 2)``; ``Vh`` = the third output of ``numpy.linalg.svd(A)``
      (rows = right singular vectors, i.e. Vᵀ of ``A = U_A S_A Vᵀ``);
    * ``U = [[√0.75, −0.5], [0.5, √0.75]]`` (a rotation by +30°, sine 0.5);
    * ``φ = U diag(s1, s2) Vh`` (2 examples x 2 parameters), labels ``y = (+1, +1)`` (so Y = I, and Y φ = U S Vh is
      already the SVD of §2.1 with V = Vhᵀ);
    * loss ``Σ_i log(1 + exp(−y_i ŷ_i))`` with ``ŷ = φ θ``, plus ``(1/(2C))·||θ||²`` (``"wd"``, λ = 1/C) or
      ``(0.1/C)·Σ ŷ²`` (``"sd"``, i.e. ``(λ/2)||ŷ||²`` with λ = 0.2/C = 0.002 for C = 100);
    * full-batch gradient descent from θ = 0, ``steps`` steps of rate ``lr`` (closed-form gradients, float64);
    * feature responses ``z = diag(s1, s2) Vh θ = Uᵀ Y ŷ``, returned as ``|z|``.

    With the defaults this gives, for s1 = 2, 3, 4, 5, 6: ``"wd"`` |z| = (6.1204, 1.6400), (7.0682, 1.5831),
    (7.8123, 1.4664), (8.4669, 1.3270), (9.0764, 1.1802), the published 6.12 ... 9.08 and 1.64 ... 1.18 (z2 falls as
    s1 grows: starvation); ``"sd"`` |z| = (6.3727, 1.7075) for every s1, i.e. ``u*(0.002) · Uᵀ1``.
    The reference records z before each of its float32 steps (5000 rows, the last after 4999 steps); here the path
    holds θ = 0 and all ``steps`` updates.

    Parameters
    ----------
    s1, s2 : float
        Feature strengths, finite and > 0.
    reg : {"wd", "sd"}, default "wd"
    steps : int, default 5000
        >= 0.
    lr : float, default 0.05
        Finite, > 0.
    C : float, default 100.0
        Finite, > 0.

    Returns
    -------
    ToyResult
    """
    for name, value in (("s1", s1), ("s2", s2), ("lr", lr), ("C", C)):
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if reg not in ("wd", "sd"):
        raise ValueError(f"reg must be 'wd' (weight decay) or 'sd' (spectral decoupling), got {reg!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    phi, u = _toy_features(float(s1), float(s2))
    # y = (+1, +1), so Y = I. The 2x2 algebra runs on Python floats: numpy's per-call overhead would dominate.
    (a, b), (c, d) = phi.tolist()
    (r11, r12), (r21, r22) = u.T.tolist()  # z = Uᵀ Y ŷ
    if reg == "wd":  # ∇ (1/(2C))||θ||² = θ / C
        p11, p12, p21, p22 = 1.0 / C, 0.0, 0.0, 1.0 / C
    else:  # ∇ (0.1/C) Σ ŷ² = (0.2/C) φᵀφ θ
        k = 0.2 / C
        p11, p12, p22 = k * (a * a + c * c), k * (a * b + c * d), k * (b * b + d * d)
        p21 = p12
    t1 = t2 = 0.0
    rows = []
    for i in range(steps + 1):
        y1, y2 = a * t1 + b * t2, c * t1 + d * t2
        rows.append((r11 * y1 + r12 * y2, r21 * y1 + r22 * y2))
        if i == steps:
            break
        e1, e2 = -_sigmoid_neg(y1), -_sigmoid_neg(y2)  # ∂ log(1 + e^{−ŷ}) / ∂ŷ = −σ(−ŷ)
        g1 = a * e1 + c * e2 + p11 * t1 + p12 * t2
        g2 = b * e1 + d * e2 + p21 * t1 + p22 * t2
        t1, t2 = t1 - lr * g1, t2 - lr * g2
    path = np.abs(np.array(rows, dtype=np.float64))
    return ToyResult(z=path[-1].copy(), path=path)


# ---------------------------------------------------------------------------------------------------------------
# feature responses


def feature_responses(K: Tensor, yhat: Tensor, k: int) -> Tensor:
    """``|Uᵀ ŷ|`` for the top-k eigenvectors U of a symmetric PSD kernel (card §2.4, Fig. 2).

    Parameters
    ----------
    K : Tensor
        (n, n) symmetric, e.g. the tangent kernel ``J Jᵀ`` at initialisation (positive semi-definiteness is assumed,
        not checked).
    yhat : Tensor
        (n,) or (T, n) outputs (one row per recorded step).
    k : int
        Number of components, 1 <= k <= n.

    Returns
    -------
    Tensor
        (k,) or (T, k), in the dtype of ``torch.linalg.eigh`` on ``K``; column j belongs to the j-th largest
        eigenvalue.

    Notes
    -----
    Sign convention: an eigenvector is defined only up to sign, so the absolute value is returned, which does not
    depend on it. If ``Y J = U_paper S Vᵀ`` (Y = diag(y) the labels, card §2.1) then ``K = J Jᵀ`` has eigenvectors
    ``Y U_paper`` and ``Uᵀ ŷ = U_paperᵀ Y ŷ = z`` up to per-component sign (card check 7), for eigenvalues without
    ties (a repeated eigenvalue leaves only its eigenspace, not its vectors, defined).
    """
    if not isinstance(K, Tensor) or K.ndim != 2 or K.shape[0] != K.shape[1] or not K.is_floating_point():
        raise ValueError(f"K must be a square floating-point (n, n) tensor, got "
                         f"{tuple(K.shape) if isinstance(K, Tensor) else type(K).__name__}")
    n = K.shape[0]
    if not bool(torch.isfinite(K).all()):
        raise ValueError("K must be finite, found NaN or inf")
    scale = K.abs().max().item()
    tol = math.sqrt(torch.finfo(K.dtype).eps) * scale  # lenient: J Jᵀ from a matmul is symmetric only to rounding
    if (K - K.T).abs().max().item() > tol:
        raise ValueError(f"K must be symmetric, max |K − Kᵀ| = {(K - K.T).abs().max().item():.3g}")
    if not isinstance(yhat, Tensor) or yhat.ndim not in (1, 2) or yhat.shape[-1] != n:
        raise ValueError(f"yhat must have shape ({n},) or (T, {n}) to match K, got "
                         f"{tuple(yhat.shape) if isinstance(yhat, Tensor) else type(yhat).__name__}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer in [1, {n}], got {k!r}")
    _, vecs = torch.linalg.eigh(K)  # ascending eigenvalues
    top = vecs[:, -k:].flip(-1)  # descending
    return (yhat.to(top.dtype) @ top).abs()
