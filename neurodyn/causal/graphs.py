"""Causal graphs of the Chemistry environment (``docs/papers/causal.md``, card §2.3).

Every graph is an (n, n) int8 adjacency matrix with ``A[child, parent] = 1``. All graphs here are strictly
lower-triangular, so the index order ``0, 1, ..., n - 1`` is a topological order: a node's parents always have
smaller indices.

* :func:`make_graph`: the named families ``chain`` (i - 1 -> i), ``collider`` (every j < n - 1 -> n - 1), ``full``
  (every j < i -> i) and ``random`` (each j < i is a parent of i with probability ``p_edge``).
* :func:`reference_random_dag`: the reference code's random DAG, ``p_i = min(0.5 i, 5) / (i + 1)`` for row i.
* :func:`descendants`: the nodes reachable from a node along parent -> child edges.

Examples
--------
>>> make_graph("chain", 3)
array([[0, 0, 0],
       [1, 0, 0],
       [0, 1, 0]], dtype=int8)
>>> sorted(descendants(make_graph("collider", 4), 1))
[3]
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

__all__ = ["FAMILIES", "make_graph", "reference_random_dag", "descendants"]

FAMILIES = ("chain", "collider", "full", "random")


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n (number of nodes) must be an integer >= 2, got {n!r}")
    return int(n)


def _check_p_edge(p_edge: float) -> float:
    if isinstance(p_edge, bool) or not isinstance(p_edge, Real) or not math.isfinite(p_edge) or not 0 <= p_edge <= 1:
        raise ValueError(f"p_edge must be a finite probability in [0, 1], got {p_edge!r}")
    return float(p_edge)


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy Generator, a seed >= 0 or None, got {rng!r}")


def make_graph(family: str, n: int, *, p_edge: float = 0.5,
               rng: np.random.Generator | int | None = None) -> np.ndarray:
    """A causal graph of a named family.

    Parameters
    ----------
    family : {"chain", "collider", "full", "random"}
        ``chain``: i - 1 -> i (n - 1 edges); ``collider``: every j < n - 1 -> n - 1 (n - 1 edges, all into the
        last node); ``full``: every j < i -> i (n (n - 1) / 2 edges); ``random``: each j < i is a parent of i
        independently with probability ``p_edge`` (Erdos-Renyi over the topological order 0, ..., n - 1).
    n : int
        Number of nodes, >= 2.
    p_edge : float, default 0.5
        Edge probability of the ``random`` family, in [0, 1] (checked for every family).
    rng : numpy Generator, int seed or None
        Randomness of the ``random`` family (unused by the others; the global RNG is never used).

    Returns
    -------
    numpy.ndarray
        (n, n) int8, ``A[child, parent] = 1``, strictly lower-triangular.

    Raises
    ------
    ValueError
        ``n < 2``, an unknown family, ``p_edge`` outside [0, 1] or not finite, an invalid ``rng``.
    """
    n = _check_n(n)
    p_edge = _check_p_edge(p_edge)
    if family not in FAMILIES:
        raise ValueError(f"unknown graph family {family!r}, expected one of {FAMILIES}")
    a = np.zeros((n, n), dtype=np.int8)
    if family == "chain":
        idx = np.arange(1, n)
        a[idx, idx - 1] = 1
    elif family == "collider":
        a[n - 1, : n - 1] = 1
    elif family == "full":
        a[np.tril_indices(n, -1)] = 1
    else:
        draws = _generator(rng).random((n, n)) < p_edge
        a[:] = np.tril(draws, -1)
    return a


def reference_random_dag(n: int, rng: np.random.Generator | int | None) -> np.ndarray:
    """The reference code's random DAG: row i draws each j < i as a parent with ``p_i = min(0.5 i, 5) / (i + 1)``.

    The expected number of parents of node i is ``i min(i / 2, 5) / (i + 1)`` (card §2.3).

    Parameters
    ----------
    n : int
        Number of nodes, >= 2.
    rng : numpy Generator, int seed or None

    Returns
    -------
    numpy.ndarray
        (n, n) int8, ``A[child, parent] = 1``, strictly lower-triangular.
    """
    n = _check_n(n)
    i = np.arange(n, dtype=np.float64)
    p = np.minimum(0.5 * i, 5.0) / (i + 1.0)
    draws = _generator(rng).random((n, n)) < p[:, None]
    return np.tril(draws, -1).astype(np.int8)


def descendants(adjacency: np.ndarray, i: int) -> set[int]:
    """All nodes reachable from node ``i`` along parent -> child edges (``i`` itself excluded).

    Parameters
    ----------
    adjacency : numpy.ndarray
        (n, n), ``A[child, parent] != 0`` for an edge parent -> child (any DAG, not only lower-triangular ones).
    i : int
        A node in [0, n).

    Returns
    -------
    set of int
    """
    a = np.asarray(adjacency)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency must be a square (n, n) matrix, got shape {a.shape}")
    n = a.shape[0]
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
        raise ValueError(f"node i must be an integer in [0, {n}), got {i!r}")
    children = [np.flatnonzero(a[:, p]).tolist() for p in range(n)]
    seen: set[int] = set()
    stack = [int(i)]
    while stack:
        for ch in children[stack.pop()]:
            if ch not in seen:
                seen.add(ch)
                stack.append(ch)
    seen.discard(int(i))
    return seen
