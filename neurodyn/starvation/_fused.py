"""Fused CPU kernels for G one-output ReLU networks ``w2 · relu(W1 x + b1) + b2`` (numba).

The two-moons page trains every (seed, regulariser) pair of the 2-500-1 network at once. Written as batched matrix
products, one training step streams the stacked hidden layer (G · n · hidden floats: 4.8 MB for 8 × 300 × 500)
through memory about six times (product, ReLU, output product, and three passes in the backward), which on one CPU
thread costs more than the arithmetic. These kernels never store the hidden layer: the forward accumulates each
point's output unit by unit, and the backward recomputes a point's pre-activations (``d_in`` multiply-adds per
unit, cheap for the 2-d input) and accumulates the weight gradients from them, so a step touches only the weights,
the points and one row of ``hidden`` scratch floats. ``benchmarks/starvation.py`` times the result against the same
networks trained one after the other.

The kernels are compiled on first use (about 2 s, cached in ``NUMBA_CACHE_DIR``; a worker's warm-up pays it).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["forward", "backward"]


@numba.njit(cache=True, fastmath=True, nogil=True)
def _pre_activation(x, i, W1t, b1, g, pre):  # pragma: no cover - compiled
    """pre[j] = b1[g, j] + Σ_k x[i, k] W1t[g, k, j] for every unit j (in place)."""
    d, hidden = W1t.shape[1], W1t.shape[2]
    for j in range(hidden):
        pre[j] = b1[g, j]
    for k in range(d):
        xv = x[i, k]
        for j in range(hidden):
            pre[j] += xv * W1t[g, k, j]


@numba.njit(cache=True, fastmath=True, nogil=True)
def _forward(x, W1t, b1, w2, b2, out):  # pragma: no cover - compiled
    G, n = out.shape
    pre = np.empty(W1t.shape[2], dtype=W1t.dtype)
    zero = pre.dtype.type(0.0)
    for g in range(G):
        xg = x[g if x.shape[0] > 1 else 0]
        for i in range(n):
            _pre_activation(xg, i, W1t, b1, g, pre)
            acc = zero
            for j in range(pre.shape[0]):
                acc += max(pre[j], zero) * w2[g, j]
            out[g, i] = acc + b2[g]


@numba.njit(cache=True, fastmath=True, nogil=True)
def _backward(x, W1t, b1, w2, grad_out, gW1t, gb1, gw2):  # pragma: no cover - compiled
    G, n = grad_out.shape
    d, hidden = W1t.shape[1], W1t.shape[2]
    pre = np.empty(hidden, dtype=W1t.dtype)
    zero = pre.dtype.type(0.0)
    gW1t[:] = zero
    gb1[:] = zero
    gw2[:] = zero
    for g in range(G):
        xg = x[g if x.shape[0] > 1 else 0]
        for i in range(n):
            _pre_activation(xg, i, W1t, b1, g, pre)
            go = grad_out[g, i]
            for j in range(hidden):
                p = pre[j]
                gw2[g, j] += go * max(p, zero)
                gp = go * w2[g, j] if p > zero else zero  # the gradient reaching unit j's pre-activation
                pre[j] = gp
                gb1[g, j] += gp
            for k in range(d):
                xv = xg[i, k]
                for j in range(hidden):
                    gW1t[g, k, j] += xv * pre[j]


def forward(x: np.ndarray, W1t: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """Outputs of G one-output ReLU networks.

    Parameters
    ----------
    x : ndarray, shape (G, n, d_in) or (1, n, d_in)
        The points; one set shared by every network when the leading axis is 1.
    W1t : ndarray, shape (G, d_in, hidden)
        First-layer weights, transposed (the unit axis last and contiguous, so the unit loops vectorise).
    b1, w2 : ndarray, shape (G, hidden)
    b2 : ndarray, shape (G,)

    Returns
    -------
    ndarray, shape (G, n)
        All arrays share one floating dtype (float32 or float64).
    """
    out = np.empty((W1t.shape[0], x.shape[1]), dtype=W1t.dtype)
    _forward(x, W1t, b1, w2, b2, out)
    return out


def backward(x: np.ndarray, W1t: np.ndarray, b1: np.ndarray, w2: np.ndarray,
             grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``Σ_{g,i} grad_out[g, i] · out[g, i]`` with respect to W1t, b1 and w2.

    Parameters
    ----------
    x, W1t, b1, w2 : ndarray
        As in :func:`forward`.
    grad_out : ndarray, shape (G, n)

    Returns
    -------
    grad_W1t : ndarray, shape (G, d_in, hidden)
    grad_b1, grad_w2 : ndarray, shape (G, hidden)
        (The gradient of b2 is ``grad_out.sum(1)``.)
    """
    gW1t, gb1, gw2 = np.empty_like(W1t), np.empty_like(b1), np.empty_like(w2)
    _backward(x, W1t, b1, w2, grad_out, gW1t, gb1, gw2)
    return gW1t, gb1, gw2
