"""Causal graph families and random DAGs against the card's checks (``docs/papers/causal.md`` §6, "Graphs" and
"Random DAG")."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from neurodyn.causal.graphs import FAMILIES, descendants, make_graph, reference_random_dag


def _digraph(a: np.ndarray) -> nx.DiGraph:
    """Edges parent -> child from ``A[child, parent] = 1``."""
    g = nx.DiGraph()
    g.add_nodes_from(range(a.shape[0]))
    g.add_edges_from((int(p), int(ch)) for ch, p in zip(*np.nonzero(a)))
    return g


def _check_dag(a: np.ndarray, n: int) -> None:
    assert a.shape == (n, n) and a.dtype == np.int8
    assert set(np.unique(a).tolist()) <= {0, 1}
    assert not np.triu(a).any()  # strictly lower-triangular
    assert nx.is_directed_acyclic_graph(_digraph(a))


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_named_families_edge_counts(n):
    chain = make_graph("chain", n)
    assert chain.sum() == n - 1 and all(chain[i, i - 1] == 1 for i in range(1, n))
    collider = make_graph("collider", n)
    assert collider.sum() == n - 1 and collider[n - 1, : n - 1].all() and collider[: n - 1].sum() == 0
    full = make_graph("full", n)
    assert full.sum() == n * (n - 1) // 2
    for a in (chain, collider, full):
        _check_dag(a, n)


@pytest.mark.parametrize("p_edge", [0.0, 0.3, 1.0])
def test_random_family_is_a_dag(p_edge):
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = make_graph("random", 6, p_edge=p_edge, rng=rng)
        _check_dag(a, 6)
    if p_edge == 0.0:
        assert a.sum() == 0
    if p_edge == 1.0:
        assert np.array_equal(a, make_graph("full", 6))


def test_random_family_seeded():
    assert np.array_equal(make_graph("random", 7, rng=3), make_graph("random", 7, rng=np.random.default_rng(3)))


def test_random_dag_parent_counts():
    """Mean number of parents of node i over 20,000 draws within 3 % of i p_edge (card §2.3)."""
    n, p, draws = 6, 0.4, 20_000
    rng = np.random.default_rng(1)
    total = np.zeros(n)
    for _ in range(draws):
        total += make_graph("random", n, p_edge=p, rng=rng).sum(axis=1)
    mean = total / draws
    assert mean[0] == 0
    i = np.arange(1, n)
    np.testing.assert_allclose(mean[1:], i * p, rtol=0.03)


def test_reference_random_dag_law():
    """The reference law: E[#parents of i] = i min(i / 2, 5) / (i + 1) within 3 % (card §6)."""
    n, draws = 8, 20_000
    rng = np.random.default_rng(2)
    total = np.zeros(n)
    for _ in range(draws):
        a = reference_random_dag(n, rng)
        total += a.sum(axis=1)
    _check_dag(a, n)
    mean = total / draws
    i = np.arange(1, n)
    np.testing.assert_allclose(mean[1:], i * np.minimum(i / 2, 5) / (i + 1), rtol=0.03)


@pytest.mark.parametrize("family", FAMILIES)
def test_descendants_match_networkx(family):
    a = make_graph(family, 7, p_edge=0.3, rng=4)
    g = _digraph(a)
    for i in range(7):
        assert descendants(a, i) == nx.descendants(g, i)


@pytest.mark.parametrize("kwargs, match", [
    (dict(family="chain", n=1), "n"),
    (dict(family="chain", n=2.0), "n"),
    (dict(family="tree", n=4), "family"),
    (dict(family="random", n=4, p_edge=1.5), "p_edge"),
    (dict(family="random", n=4, p_edge=-0.1), "p_edge"),
    (dict(family="random", n=4, p_edge=float("nan")), "p_edge"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_graph(**kwargs)


def test_bad_descendants_input():
    with pytest.raises(ValueError, match="node"):
        descendants(make_graph("chain", 3), 3)
    with pytest.raises(ValueError, match="square"):
        descendants(np.zeros((2, 3)), 0)


def test_no_global_rng(rng_state):
    np_state, torch_state = rng_state
    make_graph("random", 5, rng=None)
    reference_random_dag(5, None)
    make_graph("random", 5, rng=1)
    import torch

    assert np.array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
