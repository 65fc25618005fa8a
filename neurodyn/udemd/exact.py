"""Exact optimal-transport oracles for (U)DEMD on graphs (``docs/papers/udemd.md §9``, checks 7 and 11).

- ``geodesic_costs``: shortest-path (hop or weighted-length) cost matrix C, optionally snowflaked C^(2 alpha).
- ``exact_emd``: balanced EMD with POT's network simplex ``ot.emd2`` on C.
- ``unbalanced_emd``: the total-variation unbalanced OT UOT_lambda through the dummy-node LP: one extra node on each
  side carrying the other side's total mass, cost lambda between a dummy and every real node, 0 dummy-dummy.
  Destroying or creating a unit of mass costs lambda.
- ``path_emd`` / ``tree_emd``: closed forms on a unit path (sum |cumsum(a - b)|) and a unit-edge tree
  (sum over edges of |a(subtree) - b(subtree)|).
"""
from __future__ import annotations

import numpy as np
import ot
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, shortest_path

__all__ = [
    "geodesic_costs",
    "exact_emd",
    "unbalanced_emd",
    "pairwise_exact",
    "path_emd",
    "tree_emd",
    "tree_parents",
]


def geodesic_costs(adjacency, *, weighted: bool = False, power: float = 1.0) -> np.ndarray:
    """All-pairs shortest-path costs (N, N).

    Parameters
    ----------
    adjacency : (N, N) affinities; with ``weighted`` the entries are read as edge lengths, else every edge has length 1.
    power : float
        Snowflake exponent 2 alpha; returns C^power.
    """
    a = sp.csr_matrix(adjacency, dtype=np.float64)
    a = a - sp.diags(a.diagonal())
    a.eliminate_zeros()
    c = shortest_path(a, directed=False, unweighted=not weighted)
    if not np.all(np.isfinite(c)):
        raise ValueError("graph is disconnected: some geodesic costs are infinite")
    return c**power if power != 1.0 else c


def _vec(x) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64).ravel())  # POT needs C-contiguous float64


def exact_emd(a, b, cost: np.ndarray) -> float:
    """Balanced EMD min_pi <C, pi> with marginals a, b of equal mass (ot.emd2, network simplex)."""
    a, b = _vec(a), _vec(b)
    if abs(a.sum() - b.sum()) > 1e-9 * max(a.sum(), 1.0):
        raise ValueError(f"balanced EMD needs equal masses, got {a.sum():g} and {b.sum():g}")
    return float(ot.emd2(a, b, np.ascontiguousarray(cost), numItermax=10_000_000))


def unbalanced_emd(a, b, cost: np.ndarray, lam: float) -> float:
    """TV-unbalanced OT by the dummy-node LP (``docs/papers/udemd.md §2``, checked in §9 check 11).

    UOT_lambda(a, b) = min_{pi >= 0, pi 1 <= a, pi^T 1 <= b} <C, pi> + lambda (m_a - |pi|) + lambda (m_b - |pi|).

    Parameters
    ----------
    a, b : (N,) non-negative masses (any totals).
    cost : (N, N) ground cost C.
    lam : float > 0, price per unit of created or destroyed mass.
    """
    a, b = _vec(a), _vec(b)
    n = len(a)
    aa = np.append(a, b.sum())  # dummy source absorbs b's mass
    bb = np.append(b, a.sum())  # dummy sink absorbs a's mass
    c = np.empty((n + 1, n + 1))
    c[:n, :n] = cost
    c[:n, n] = lam
    c[n, :n] = lam
    c[n, n] = 0.0
    if aa.sum() <= 0:
        return 0.0
    return float(ot.emd2(aa, bb, c, numItermax=10_000_000))


def pairwise_exact(signals: np.ndarray, pairs: np.ndarray, cost: np.ndarray, *, lam: float | None = None) -> np.ndarray:
    """Exact (balanced when ``lam`` is None, else dummy-node unbalanced) EMD for each (i, j) row of ``pairs``.

    signals : (m, N); pairs : (P, 2) int. Returns (P,).
    """
    out = np.empty(len(pairs))
    for p, (i, j) in enumerate(pairs):
        out[p] = exact_emd(signals[i], signals[j], cost) if lam is None else unbalanced_emd(
            signals[i], signals[j], cost, lam
        )
    return out


def path_emd(a, b) -> float:
    """EMD on the unit path 0-1-...-(N-1) between equal masses: sum_i |cumsum(a - b)_i|."""
    return float(np.abs(np.cumsum(_vec(a) - _vec(b))).sum())


def tree_parents(adjacency, root: int = 0) -> np.ndarray:
    """Parent of each node in a BFS tree from ``root`` (root's parent is -1)."""
    _, pred = breadth_first_order(sp.csr_matrix(adjacency), root, directed=False, return_predecessors=True)
    pred = pred.astype(np.int64)
    pred[root] = -1
    pred[pred < 0] = -1
    return pred


def tree_emd(a, b, parents: np.ndarray) -> float | np.ndarray:
    """EMD on a unit-edge tree: sum over non-root nodes v of |a(subtree v) - b(subtree v)|.

    ``a``/``b`` may be (N,) or (m, N) (then row-wise against the same-shaped b). ``parents`` from
    :func:`tree_parents`.
    """
    diff = np.atleast_2d(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))  # (m, N)
    sub = _subtree_sums(diff, parents)
    nonroot = parents >= 0
    res = np.abs(sub[:, nonroot]).sum(axis=1)
    return float(res[0]) if np.ndim(a) == 1 else res


def _subtree_sums(x: np.ndarray, parents: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(parents), dtype=np.int64)
    for v in range(len(parents)):  # depth by walking up (trees here are small)
        u, d = v, 0
        while parents[u] >= 0:
            u, d = parents[u], d + 1
        depth[v] = d
    sub = x.copy()
    for v in np.argsort(-depth, kind="stable"):
        p = parents[v]
        if p >= 0:
            sub[:, p] += sub[:, v]
    return sub
