"""Pure update rules of LEAD and its baselines (Hemmat, Mitra, Lajoie, Mitliagkas, arXiv:2010.13846).

Every function here is one line of arithmetic on tensors (or numpy arrays) and takes its hyperparameters as
keyword-only arguments, as ``torch.optim``'s functional kernels do. The classes in :mod:`neurodyn.lead.optim`
gather gradients and state and call these.

All rules are written for one player in the *descent convention*: ``v`` is the gradient of the player's own loss
(``grad_x f`` for the minimiser, ``-grad_y f`` for the maximiser of a zero-sum game ``f``), so each player steps
along ``-v``. Stacking both players gives the joint field ``v(w) = (grad_x f, -grad_y f)`` (docs/papers/lead.md §2).

Symbols -> code names

==========================  =======================================================================
paper                       code
==========================  =======================================================================
``eta``                     ``lr``
``beta`` (momentum)         ``beta``
``alpha`` (coupling)        ``alpha``
``gamma`` (consensus)       ``gamma``
``w_k``, ``w_{k-1}``        ``w``, ``w_prev``
``v(w_k)``                  ``v``
``C(w_k)(w_k - w_{k-1})``   ``coupling``: for x, ``H_xy dy``; for y, ``-H_yx dx`` (see :func:`lead_update`)
``J_v^T v``                 ``jtv``
==========================  =======================================================================
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = [
    "check_lr",
    "check_finite",
    "gda_update",
    "extragradient_update",
    "ogda_update",
    "momentum_update",
    "lead_update",
    "lead_direction",
    "consensus_update",
    "adam_update",
    "gda_update_",
    "lead_update_",
    "adam_update_",
]


def check_lr(lr: Any, name: str = "lr") -> float:
    """Return ``lr`` as a float, or raise ``ValueError`` if it is negative or not finite."""
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative finite number, got {lr!r}") from None
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{name} must be a non-negative finite number, got {lr!r}")
    return value


def check_finite(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` if it is not a finite number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return out


def gda_update(w: Any, v: Any, *, lr: float) -> Any:
    """Gradient descent(-ascent) step ``w - lr * v``.

    Parameters
    ----------
    w : Tensor or ndarray
        Parameters of one player (any shape).
    v : same shape as ``w``
        Descent-convention gradient at ``w`` (sign already flipped for a maximiser).
    lr : float
        Step size ``eta``.

    Returns
    -------
    Tensor or ndarray, same shape as ``w``
    """
    return w - lr * v


def extragradient_update(w: Any, v_lookahead: Any, *, lr: float) -> Any:
    """Extragradient correction ``w - lr * v(w - lr v(w))``; the extrapolation itself is :func:`gda_update`.

    Parameters
    ----------
    w : Tensor or ndarray
        Parameters before the extrapolation.
    v_lookahead : same shape as ``w``
        Descent-convention gradient evaluated at the extrapolated point.
    lr : float

    Returns
    -------
    Tensor or ndarray
    """
    return w - lr * v_lookahead


def ogda_update(w: Any, v: Any, v_prev: Any, *, lr: float) -> Any:
    """Optimistic GDA ``w_{k+1} = w_k - 2 lr v(w_k) + lr v(w_{k-1})``.

    Parameters
    ----------
    w, v, v_prev : Tensor or ndarray, same shape
        Current parameters, current and previous descent-convention gradients (``v_prev = v`` at the start).
    lr : float

    Returns
    -------
    Tensor or ndarray
    """
    return w - 2.0 * lr * v + lr * v_prev


def momentum_update(w: Any, w_prev: Any, v: Any, *, lr: float, beta: float) -> Any:
    """Heavy-ball step ``w_{k+1} = w_k + beta (w_k - w_{k-1}) - lr v(w_k)`` (``beta < 0``: negative momentum).

    The operation order matches :func:`lead_update`, so that ``alpha = 0`` gives bit-identical iterates.

    Parameters
    ----------
    w, w_prev, v : Tensor or ndarray, same shape
    lr, beta : float

    Returns
    -------
    Tensor or ndarray
    """
    return w + beta * (w - w_prev) - lr * v


def lead_update(w: Any, w_prev: Any, v: Any, coupling: Any, *, lr: float, beta: float, alpha: float) -> Any:
    """LEAD step of one player (docs/papers/lead.md §3).

    ``w_{k+1} = w_k + beta (w_k - w_{k-1}) - lr v(w_k) - alpha * coupling``

    For the zero-sum game ``min_x max_y f``:

    - minimiser x: ``v = grad_x f``, ``coupling = H_xy (y_k - y_{k-1})``;
    - maximiser y: ``v = -grad_y f``, ``coupling = -H_yx (x_k - x_{k-1})``;

    which is ``x + beta dx - eta grad_x f - alpha H_xy dy`` and ``y + beta dy + eta grad_y f + alpha H_yx dx``.
    In the general-sum form (player i minimising ``L_i``) ``coupling = -grad_i <grad_j L_j, stopgrad(dtheta_j)>``.

    Parameters
    ----------
    w, w_prev : Tensor or ndarray
        Current and previous parameters of the player (``w_prev = w`` at the start: zero velocity).
    v : same shape
        Descent-convention gradient at ``w_k``.
    coupling : same shape
        Mixed second derivative times the *other* player's last displacement, sign as above.
    lr, beta, alpha : float
        ``eta``, ``beta``, ``alpha``.

    Returns
    -------
    Tensor or ndarray
    """
    return w + beta * (w - w_prev) - lr * v - alpha * coupling


def lead_direction(g: Any, cross: Any, *, alpha: float) -> Any:
    """General-sum LEAD direction fed to Adam: ``g_i - alpha * grad_i <grad_j L_j, stopgrad(dtheta_j)>``.

    Parameters
    ----------
    g : Tensor
        ``grad_i L_i``, the player's own gradient.
    cross : Tensor, same shape
        ``grad_i <grad_j L_j, stopgrad(theta_j - theta_j_prev)>``.
    alpha : float

    Returns
    -------
    Tensor
    """
    return g - alpha * cross


def consensus_update(w: Any, v: Any, jtv: Any, *, lr: float, gamma: float) -> Any:
    """Consensus optimisation ``w - lr (v + gamma J_v^T v)`` (``J_v^T v = grad 1/2 ||v||^2``).

    Parameters
    ----------
    w, v, jtv : Tensor or ndarray, same shape
    lr, gamma : float

    Returns
    -------
    Tensor or ndarray
    """
    return w - lr * (v + gamma * jtv)


def adam_update(
    w: Any,
    g: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    step: int,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
) -> tuple[Any, Any, Any]:
    """Adam step (Kingma & Ba), arithmetic ordered as in ``torch.optim.Adam`` (single-tensor path).

    Parameters
    ----------
    w, g : Tensor
        Parameter and the direction used as its gradient (LEAD-Adam passes :func:`lead_direction`).
    exp_avg, exp_avg_sq : Tensor
        First and second moment estimates before this step.
    step : int
        Step count *after* incrementing (1 on the first step).
    lr, beta1, beta2, eps : float

    Returns
    -------
    w_new, exp_avg_new, exp_avg_sq_new : Tensor
    """
    exp_avg = exp_avg + (g - exp_avg) * (1.0 - beta1)  # torch: exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq = exp_avg_sq * beta2 + g * g * (1.0 - beta2)
    bias1 = 1.0 - beta1**step
    bias2_sqrt = math.sqrt(1.0 - beta2**step)
    denom = exp_avg_sq.sqrt() / bias2_sqrt + eps
    return w - (lr / bias1) * (exp_avg / denom), exp_avg, exp_avg_sq


def gda_update_(ws: list[Any], vs: list[Any], *, lr: float) -> None:
    """In-place :func:`gda_update` on lists of tensors: ``w += -lr * v`` (one ``torch._foreach`` call)."""
    torch._foreach_add_(ws, vs, alpha=-lr)


def lead_update_(ws: list[Any], w_prevs: list[Any], velocities: list[Any], vs: list[Any],
                 couplings: list[Any] | None, *, lr: float, beta: float, alpha: float) -> None:
    """In-place :func:`lead_update` on lists of tensors (heavy ball when ``couplings`` is None or ``alpha = 0``).

    ``w_prev <- w``, then ``w += beta * velocity - lr * v - alpha * coupling`` with ``velocity = w - w_prev``
    computed by the caller (LEAD needs it for the coupling anyway), using ``torch._foreach`` kernels as
    ``torch.optim`` does. A zero ``beta`` or ``alpha`` skips its term, so ``beta = alpha = 0`` is bit-identical to
    :func:`gda_update_` and ``alpha = 0`` to heavy ball.

    Parameters
    ----------
    ws, w_prevs, velocities, vs : list of Tensor
        Parameters, previous parameters, ``w - w_prev`` and descent-convention gradients, matched by position.
    couplings : list of Tensor or None
    lr, beta, alpha : float
    """
    torch._foreach_copy_(w_prevs, ws)
    if beta != 0.0:
        torch._foreach_add_(ws, velocities, alpha=beta)
    torch._foreach_add_(ws, vs, alpha=-lr)
    if couplings is not None and alpha != 0.0:
        torch._foreach_add_(ws, couplings, alpha=-alpha)


def adam_update_(
    w: Any,
    g: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    step: int,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
) -> None:
    """In-place :func:`adam_update` (tensors only): updates ``w``, ``exp_avg`` and ``exp_avg_sq``.

    Same operations as ``torch.optim.Adam``'s single-tensor path, so the iterates agree with it to rounding.
    """
    exp_avg.lerp_(g, 1.0 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
    bias1 = 1.0 - beta1**step
    bias2_sqrt = math.sqrt(1.0 - beta2**step)
    denom = (exp_avg_sq.sqrt() / bias2_sqrt).add_(eps)
    w.addcdiv_(exp_avg, denom, value=-(lr / bias1))
