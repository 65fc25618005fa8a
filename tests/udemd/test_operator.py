"""Checks 1, 3-6, 12, 13 of ``docs/papers/udemd.md §9``, the lazy walk (§3) and the estimator contract."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from neurodyn.udemd import UnbalancedDiffusionEMD, exact, knn_affinity, knn_l1, udemd_distances
from neurodyn.udemd import operator as ops
from neurodyn.udemd.datasets import geometric_bumps, geometric_graph, grid_with_shortcuts, tree_with_cross_links

torch.set_num_threads(1)


def _path(n: int) -> sp.csr_matrix:
    return sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1]).tocsr()


@pytest.fixture(scope="module")
def geo100():
    adj, _ = geometric_graph(100, 10, seed=0)
    y = np.random.default_rng(1).random((12, 100))
    return adj, y


def test_dense_squaring_equals_sparse_iteration(geo100):  # §9 check 1
    adj, y = geo100
    e = {
        m: UnbalancedDiffusionEMD(max_scale=8, method=m, dtype="float64", device="cpu").fit(adj).transform(y)
        for m in ("dense", "sparse")
    }
    assert np.max(np.abs(e["dense"] - e["sparse"])) <= 1e-12  # prototype: 1.5e-15


def test_walk_transpose_conserves_mass(geo100):  # §9 check 3
    adj, y = geo100
    est = UnbalancedDiffusionEMD(max_scale=10, dtype="float64", device="cpu").fit(adj)
    for snap in est.snapshots(y):  # (N, m) columns are signals
        rel = np.abs(snap.sum(0).numpy() - y.sum(1)) / y.sum(1)
        assert rel.max() <= 1e-10


def test_embedding_is_linear_and_distance_homogeneous(geo100):  # §9 check 4
    adj, y = geo100
    est = UnbalancedDiffusionEMD(max_scale=8, dtype="float64", device="cpu").fit(adj)
    a, b = 0.7, 2.5
    lhs = est.transform(a * y[:1] + b * y[1:2])
    rhs = a * est.transform(y[:1]) + b * est.transform(y[1:2])
    assert np.max(np.abs(lhs - rhs)) <= 1e-12
    e1, e2 = est.transform(3.0 * y[:2]), est.transform(y[:2])
    assert abs(np.abs(e1[0] - e1[1]).sum() - 3.0 * np.abs(e2[0] - e2[1]).sum()) <= 1e-12 * 3 * np.abs(e2).sum()


def test_lowpass_block_prices_only_mass_difference(geo100):  # §9 check 5
    adj, y = geo100
    est = UnbalancedDiffusionEMD(max_scale=14, n_scales=6, lazy=True, dtype="float64", device="cpu").fit(adj)
    n = adj.shape[0]
    x = y[0]
    z = y[1] * x.sum() / y[1].sum()  # equal mass, different shape
    e = est.transform(np.stack([x, z, 2.5 * x]))
    low = e[:, -n:]
    assert np.abs(low[0] - low[1]).sum() <= 1e-8 * x.sum()  # measured 7e-15
    assert abs(np.abs(low[0] - low[2]).sum() - 1.5 * x.sum()) <= 1e-8  # |1 - c| m_x, measured 1e-11


def test_path_diracs_ordered_by_hop_distance_only_with_self_loops():  # §9 check 6
    n = 100
    i = np.arange(20, 80)
    rho = {}
    for lazy in (True, False):
        e = UnbalancedDiffusionEMD(max_scale=12, lazy=lazy, dtype="float64", device="cpu").fit(_path(n)).transform(
            np.eye(n)
        )
        d = np.abs(e - e[50]).sum(1)
        rho[lazy] = spearmanr(d[i], np.abs(i - 50))[0]
        if lazy:
            assert np.all(np.diff(d[50:80]) > 0) and np.all(np.diff(d[20:51]) < 0)
    assert rho[True] >= 0.999  # prototype: 0.9996
    assert rho[False] < 0.9  # bipartite trap: without self-loops the ordering breaks


def _walk_min_eigenvalue(adj, lazy: bool) -> float:
    op = ops.build_operator(ops.validate_adjacency(adj), lazy=lazy)
    return float(np.linalg.eigvalsh(op.sym.to_dense().numpy())[0])


NEARLY_BIPARTITE = {"tree with cross-links": lambda: tree_with_cross_links(3, 5, n_links=5, seed=0),
                    "grid with shortcuts": lambda: grid_with_shortcuts(20, n_shortcuts=5, seed=0)}


@pytest.mark.parametrize("kind", list(NEARLY_BIPARTITE))
def test_default_walk_is_lazy_on_nearly_bipartite_graphs_and_ranks_like_exact_emd(kind):
    # docs/papers/udemd.md §3: a tree with a few same-depth cross-links or a grid with a few shortcuts is not
    # bipartite, but its plain walk nearly oscillates (eigenvalue just above -1), so balanced DEMD then ranks pairs
    # badly against exact EMD. Measured (seed 0, 120 bags of 10 random nodes, 300 pairs): tree 0.919 lazy vs 0.659
    # plain, grid 0.844 vs 0.432.
    adj = NEARLY_BIPARTITE[kind]()
    n = adj.shape[0]
    rng = np.random.default_rng(0)
    y = np.zeros((120, n))
    for s in range(120):
        np.add.at(y[s], rng.choice(n, size=10), 1.0)
    y /= y.sum(1, keepdims=True)
    ii, jj = np.triu_indices(120, 1)
    sel = rng.choice(len(ii), 300, replace=False)
    pairs = np.stack([ii[sel], jj[sel]], axis=1)
    ref = exact.pairwise_exact(y, pairs, exact.geodesic_costs(adj))
    rho = {}
    for lazy in ("auto", False):
        est = UnbalancedDiffusionEMD(lazy=lazy, dtype="float64", device="cpu").fit(adj)
        e = est.transform(y)
        rho[lazy] = spearmanr(ref, np.abs(e[pairs[:, 0]] - e[pairs[:, 1]]).sum(1))[0]
        assert est.lazy_ is (lazy == "auto")
    assert rho["auto"] >= 0.8
    assert rho[False] <= 0.7 and rho["auto"] - rho[False] >= 0.2


@pytest.mark.parametrize("kind", list(NEARLY_BIPARTITE))
def test_self_loops_move_the_near_minus_one_eigenvalue_of_nearly_bipartite_walks(kind):
    adj = NEARLY_BIPARTITE[kind]()
    assert _walk_min_eigenvalue(adj, lazy=False) < -0.99  # nearly oscillating: the mode survives ~ 2^7 steps
    assert _walk_min_eigenvalue(adj, lazy=True) > -0.65  # lazy: it decays like a fine-scale mode (0.65^32 < 1e-5)


def test_default_walk_is_lazy_everywhere_and_plain_walk_stays_available(geo100):
    assert UnbalancedDiffusionEMD(device="cpu").fit(_path(30)).lazy_ is True
    assert UnbalancedDiffusionEMD(device="cpu").fit(geo100[0]).lazy_ is True
    assert UnbalancedDiffusionEMD(lazy=False, device="cpu").fit(geo100[0]).lazy_ is False
    assert ops.resolve_lazy(None) is True and ops.resolve_lazy("auto") is True and ops.resolve_lazy(False) is False
    with pytest.raises(ValueError, match="lazy"):
        UnbalancedDiffusionEMD(lazy="sometimes", device="cpu").fit(_path(5))


def test_chebyshev_exact_up_to_order_and_accurate_at_order_128(geo100):  # §9 check 12
    adj, y = geo100
    kw = dict(dtype="float64", device="cpu", lazy=True)
    ex = UnbalancedDiffusionEMD(max_scale=5, method="dense", **kw).fit(adj).snapshots(y)
    ch = UnbalancedDiffusionEMD(max_scale=5, method="cheb", cheb_order=32, **kw).fit(adj).snapshots(y)
    for a, b in zip(ex, ch):  # all scales <= 32 = J: a polynomial of degree <= J is represented exactly
        assert torch.max(torch.abs(a - b)).item() <= 1e-10
    # per-block error on the 500-node graph of check 9 (on 100 nodes the K=10 bands are ~1e-9: all mixed)
    data = geometric_bumps(500, 20, seed=0)
    adj, y = data.adjacency, data.signals
    est_e = UnbalancedDiffusionEMD(max_scale=10, method="dense", **kw).fit(adj)
    est_c = UnbalancedDiffusionEMD(max_scale=10, method="cheb", cheb_order=128, **kw).fit(adj)
    ee, ec = est_e.transform(y), est_c.transform(y)
    n = adj.shape[0]
    for blk in range(6):
        sl = slice(blk * n, (blk + 1) * n)
        rel = np.abs(ee[:, sl] - ec[:, sl]).sum() / np.abs(ee[:, sl]).sum()
        assert rel <= 1e-2, (blk, rel)


def test_distances_invariant_to_node_permutation(geo100):  # §9 check 13a
    adj, y = geo100
    perm = np.random.default_rng(3).permutation(adj.shape[0])
    d0 = udemd_distances(UnbalancedDiffusionEMD(max_scale=8, dtype="float64", device="cpu").fit(adj).transform(y))
    adj_p = adj[perm][:, perm]
    d1 = udemd_distances(
        UnbalancedDiffusionEMD(max_scale=8, dtype="float64", device="cpu").fit(adj_p).transform(y[:, perm])
    )
    assert np.max(np.abs(d0 - d1)) <= 1e-10  # measured 5e-15


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_float32_distances_within_1e4_of_float64(method):  # §9 check 13b
    data = geometric_bumps(200, 40, seed=0)
    d = {}
    for dt in ("float32", "float64"):
        e = UnbalancedDiffusionEMD(max_scale=10, method=method, dtype=dt, device="cpu").fit(data.adjacency)
        d[dt] = udemd_distances(e.transform(data.signals))
    off = ~np.eye(len(d["float64"]), dtype=bool)
    rel = np.abs(d["float32"] - d["float64"])[off] / d["float64"][off]
    assert rel.max() <= 1e-4  # measured 3.6e-5 (squaring), 2.8e-6 (iteration)


@pytest.mark.parametrize(
    "adj, fragment",
    [
        (np.ones((3, 4)), "square"),
        (np.array([[0, -1.0], [-1.0, 0]]), "negative"),
        (np.array([[0, np.nan], [np.nan, 0]]), "NaN"),
        (sp.block_diag([_path(3), _path(4)]), "disconnected"),
        (sp.block_diag([_path(3), sp.csr_matrix((1, 1))]), "isolated"),
    ],
)
def test_fit_rejects_bad_adjacency_with_named_problem(adj, fragment):
    with pytest.raises(ValueError, match=fragment):
        UnbalancedDiffusionEMD(device="cpu").fit(adj)


@pytest.mark.parametrize(
    "signals, fragment",
    [
        (-np.ones((2, 5)), "non-negative"),
        (np.full((2, 5), np.nan), "NaN"),
        (np.ones((2, 4)), "shape"),
    ],
)
def test_transform_rejects_bad_signals_with_named_problem(signals, fragment):
    est = UnbalancedDiffusionEMD(device="cpu").fit(_path(5))
    with pytest.raises(ValueError, match=fragment):
        est.transform(signals)


def test_estimator_contract_clone_fit_returns_self_and_not_fitted_error():
    est = UnbalancedDiffusionEMD(n_scales=4, alpha=0.3, device="cpu")
    cl = clone(est)
    assert cl.get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        est.transform(np.ones((1, 5)))
    assert est.fit(_path(5)) is est
    assert est.transform(np.ones((2, 5))).shape == (2, est.n_features_out_) == (2, 5 * 4)
    assert est.transform(np.ones((2, 5))).dtype == np.float32
    with pytest.raises(ValueError, match="alpha"):
        UnbalancedDiffusionEMD(alpha=-1).fit(_path(5))
    with pytest.raises(ValueError, match="balanced mode"):
        UnbalancedDiffusionEMD(balanced=True, device="cpu").fit(_path(5)).transform(np.zeros((1, 5)))


def test_chunked_knn_matches_full_distance_matrix():
    e = np.random.default_rng(0).random((130, 20))
    idx, dist = knn_l1(e, 5, chunk=17)
    full = udemd_distances(e)
    np.fill_diagonal(full, np.inf)
    ref = np.sort(full, axis=1)[:, :5]
    assert np.allclose(dist, ref, atol=1e-9)
    assert np.all(idx != np.arange(130)[:, None])
    idx_s, dist_s = knn_l1(e, 5, include_self=True)
    assert np.all(idx_s[:, 0] == np.arange(130)) and np.all(dist_s[:, 0] == 0)
    w = knn_affinity(idx, dist)
    assert w.shape == (130, 130) and abs(w - w.T).max() < 1e-12 and w.data.max() <= 1 + 1e-12
