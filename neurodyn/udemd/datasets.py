"""Offline, seeded graph-signal datasets for the UDEMD page (``docs/papers/udemd.md §5``; arXiv:2107.12334).

- :func:`ontology_patients` (Tab B): a rooted b-ary is-a tree (SNOMED-CT substitute; SNOMED is licensed) and
  patients as concept-count vectors; 4 disease areas x 2 severities = 8 ground-truth groups.
- :func:`pbmc_genes` (Tab A): genes as signals on the 700-cell kNN graph of ``scanpy.datasets.pbmc68k_reduced()``
  (shipped inside the scanpy wheel), using ``.raw.X`` (log1p, non-negative) because ``.X`` is z-scored.
- :func:`geometric_bumps` (Tab C): random geometric symmetrised kNN graph with geodesic Gaussian bump signals.
- :func:`gene_modules` (synthetic substitute for the lymphoblast-on-gene-graph data): a stochastic-block gene graph
  with modules chained like a pathway, cells as type-specific module activity plus Poisson noise.

Every function takes a ``numpy.random.Generator`` or a seed and never touches global RNG state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, shortest_path

__all__ = [
    "GraphSignals",
    "tree_adjacency",
    "tree_with_cross_links",
    "grid_with_shortcuts",
    "ontology_patients",
    "geometric_graph",
    "geometric_bumps",
    "gene_modules",
    "pbmc_genes",
]


@dataclass
class GraphSignals:
    """A graph and signals on it.

    adjacency : scipy.sparse.csr_matrix (N, N); signals : ndarray (m, N) non-negative; labels : (m,) str
    (ground truth for kNN accuracy); node_names / signal_names : lists of str; extra : dataset-specific arrays.
    """

    name: str
    adjacency: sp.csr_matrix
    signals: np.ndarray
    labels: np.ndarray
    node_names: list[str]
    signal_names: list[str]
    extra: dict = field(default_factory=dict)


def _rng(seed_or_rng) -> np.random.Generator:
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    return np.random.default_rng(int(seed_or_rng))


# ------------------------------------------------------------------------------------------------ trees
def tree_adjacency(branching: int, depth: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Complete b-ary tree with ``depth`` levels below the root, nodes in BFS order.

    Returns adjacency (N, N), parents (N,) with -1 at the root, and node depths (N,).
    """
    if branching < 1 or depth < 1:
        raise ValueError(f"branching and depth must be >= 1, got {branching}, {depth}")
    n = sum(branching**d for d in range(depth + 1))
    child = np.arange(1, n)
    parents = np.concatenate([[-1], (child - 1) // branching])
    depths = np.zeros(n, dtype=np.int64)
    for v in child:
        depths[v] = depths[parents[v]] + 1
    a = sp.coo_matrix((np.ones(n - 1), (child, parents[1:])), shape=(n, n))
    return (a + a.T).tocsr(), parents, depths


def tree_with_cross_links(branching: int = 3, depth: int = 5, n_links: int = 5, seed=0) -> sp.csr_matrix:
    """A complete b-ary tree plus ``n_links`` random edges between distinct nodes of the same depth (>= 2).

    An ontology whose concepts sometimes have two parents looks like this. Every cross-link closes an odd cycle, so
    the graph is not bipartite, yet its walk still nearly oscillates (eigenvalue near -1): the case of
    ``docs/papers/udemd.md §3``.

    Parameters
    ----------
    branching, depth : int
        The tree (see :func:`tree_adjacency`).
    n_links : int, default 5
    seed : int or numpy.random.Generator

    Returns
    -------
    scipy.sparse.csr_matrix of shape (N, N)
    """
    adj, _, depths = tree_adjacency(branching, depth)
    rng = _rng(seed)
    a = adj.tolil()
    levels = [np.flatnonzero(depths == d) for d in range(2, depth + 1)]
    added = 0
    while added < n_links:
        level = levels[rng.integers(len(levels))]
        i, j = rng.choice(level, size=2, replace=False)
        if a[i, j] == 0:
            a[i, j] = a[j, i] = 1.0
            added += 1
    return a.tocsr()


def grid_with_shortcuts(side: int = 20, n_shortcuts: int = 5, seed=0) -> sp.csr_matrix:
    """A ``side`` x ``side`` 4-neighbour grid plus ``n_shortcuts`` random edges that each close an odd cycle.

    A shortcut joins two nodes of the same checkerboard colour (even Manhattan distance), so the grid stops being
    bipartite while its walk still nearly oscillates (``docs/papers/udemd.md §3``).

    Parameters
    ----------
    side : int, default 20
    n_shortcuts : int, default 5
    seed : int or numpy.random.Generator

    Returns
    -------
    scipy.sparse.csr_matrix of shape (side², side²)
    """
    n = side * side
    idx = np.arange(n).reshape(side, side)
    rows = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    cols = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    a = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    a = (a + a.T).tolil()
    rng = _rng(seed)
    r, c = np.divmod(np.arange(n), side)
    added = 0
    while added < n_shortcuts:
        u, v = rng.choice(n, size=2, replace=False)
        if (r[u] + c[u] + r[v] + c[v]) % 2 == 0 and a[u, v] == 0:
            a[u, v] = a[v, u] = 1.0
            added += 1
    return a.tocsr()


def ontology_patients(
    n_patients: int = 400,
    *,
    eps: float = 0.3,
    base: float = 6.0,
    severity: float = 3.0,
    min_depth: int = 4,
    branching: int = 3,
    depth: int = 6,
    n_areas: int = 4,
    seed=0,
) -> GraphSignals:
    """Synthetic ontology patients (page tab A, ``docs/papers/udemd.md §5``).

    Each patient belongs to one of ``n_areas`` disease areas (subtrees rooted at depth 2) and one of two
    severities (x1 and x``severity``). It has n ~ Poisson(base * sev) + 1 concept mentions; each is, with
    probability 1 - eps, a uniform descendant of its area root at depth >= ``min_depth``, else a uniform random
    node. The signal is the count vector (unbalanced by construction).

    Returns
    -------
    GraphSignals with labels "area a / sev s" (8 groups by default); extra holds area, severity, parents, depths.
    """
    if not 0 <= eps <= 1:
        raise ValueError(f"eps must be in [0, 1], got {eps}")
    if severity <= 0 or base <= 0:
        raise ValueError(f"severity and base must be > 0, got {severity}, {base}")
    if depth < 3:
        raise ValueError(f"depth must be >= 3 so that disease areas sit at depth 2, got {depth}")
    rng = _rng(seed)
    adj, parents, depths = tree_adjacency(branching, depth)
    n = adj.shape[0]
    level2 = np.flatnonzero(depths == 2)
    if n_areas > len(level2):
        raise ValueError(f"n_areas={n_areas} exceeds the {len(level2)} depth-2 subtrees")
    # areas spread evenly over the depth-2 subtrees (so over different depth-1 branches)
    roots = level2[np.linspace(0, len(level2) - 1, n_areas).round().astype(int)]
    anc = _ancestor_table(parents, depths)
    md = min(max(min_depth, 2), depth)
    pools = [np.flatnonzero((anc[:, 2] == r) & (depths >= md)) for r in roots]
    area = np.arange(n_patients) % n_areas
    sev = (np.arange(n_patients) // n_areas) % 2
    perm = rng.permutation(n_patients)
    area, sev = area[perm], sev[perm]
    x = np.zeros((n_patients, n))
    for p in range(n_patients):
        k = rng.poisson(base * (severity if sev[p] else 1.0)) + 1
        noise = rng.random(k) < eps
        nodes = np.where(noise, rng.integers(0, n, size=k), rng.choice(pools[area[p]], size=k))
        np.add.at(x[p], nodes, 1.0)
    labels = np.array([f"area {a} / sev {'high' if s else 'low'}" for a, s in zip(area, sev)])
    return GraphSignals(
        name="patients",
        adjacency=adj,
        signals=x,
        labels=labels,
        node_names=[f"C{v}" for v in range(n)],
        signal_names=[f"patient{p}" for p in range(n_patients)],
        extra={"area": area, "severity": sev, "parents": parents, "depths": depths, "area_roots": roots},
    )


def _ancestor_table(parents: np.ndarray, depths: np.ndarray) -> np.ndarray:
    """anc[v, d] = ancestor of v at depth d (v itself at its own depth, -1 below it)."""
    n, dmax = len(parents), int(depths.max())
    anc = -np.ones((n, dmax + 1), dtype=np.int64)
    for v in range(n):
        u = v
        while u >= 0:
            anc[v, depths[u]] = u
            u = parents[u]
    return anc


# ------------------------------------------------------------------------------------------------ geometric
def geometric_graph(n_nodes: int = 500, k: int = 10, seed=0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Uniform points in the unit square, symmetrised unweighted kNN graph (made connected by a chain of nearest
    cross-component edges if needed). Returns adjacency (N, N) and points (N, 2)."""
    from sklearn.neighbors import NearestNeighbors

    rng = _rng(seed)
    pts = rng.random((n_nodes, 2))
    nn = NearestNeighbors(n_neighbors=k + 1).fit(pts)
    _, ind = nn.kneighbors(pts)
    rows = np.repeat(np.arange(n_nodes), k)
    a = sp.coo_matrix((np.ones(n_nodes * k), (rows, ind[:, 1:].ravel())), shape=(n_nodes, n_nodes)).tocsr()
    a = ((a + a.T) > 0).astype(np.float64).tocsr()
    n_comp, lab = connected_components(a, directed=False)
    while n_comp > 1:  # join the smallest component to its nearest outside point
        small = np.flatnonzero(lab == np.argmin(np.bincount(lab)))
        other = np.flatnonzero(lab != lab[small[0]])
        d = ((pts[small, None, :] - pts[None, other, :]) ** 2).sum(-1)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        a = a.tolil()
        a[small[i], other[j]] = a[other[j], small[i]] = 1.0
        a = a.tocsr()
        n_comp, lab = connected_components(a, directed=False)
    return a, pts


def geometric_bumps(
    n_nodes: int = 500, n_signals: int = 200, *, k: int = 10, unbalanced: bool = False, seed=0
) -> GraphSignals:
    """Random geometric graph with mixtures of 1-3 geodesic Gaussian bumps (width 0.05-0.15), each normalised to
    mass 1; with ``unbalanced`` multiplied by a mass drawn from U[0.5, 2] (page tab C; ``docs/papers/udemd.md §9``,
    checks 9-10)."""
    rng = _rng(seed)
    adj, pts = geometric_graph(n_nodes, k, rng)
    coo = adj.tocoo()
    elen = np.sqrt(((pts[coo.row] - pts[coo.col]) ** 2).sum(1))
    lengths = sp.csr_matrix((elen, (coo.row, coo.col)), shape=adj.shape)
    x = np.zeros((n_signals, n_nodes))
    n_bumps = rng.integers(1, 4, size=n_signals)
    centres = [rng.choice(n_nodes, size=b, replace=False) for b in n_bumps]
    uniq = np.unique(np.concatenate(centres))
    geo = dict(zip(uniq, shortest_path(lengths, directed=False, indices=uniq)))
    for s in range(n_signals):
        for c in centres[s]:
            w = rng.uniform(0.05, 0.15)
            x[s] += rng.uniform(0.5, 1.0) * np.exp(-geo[c] ** 2 / (2 * w**2))
        x[s] /= x[s].sum()
    mass = rng.uniform(0.5, 2.0, size=n_signals) if unbalanced else np.ones(n_signals)
    x *= mass[:, None]
    first = pts[[c[0] for c in centres]]  # label: quadrant of the first bump centre
    labels = np.array([f"Q{int(p[0] >= 0.5) + 2 * int(p[1] >= 0.5) + 1}" for p in first])
    return GraphSignals(
        name="geometric",
        adjacency=adj,
        signals=x,
        labels=labels,
        node_names=[str(i) for i in range(n_nodes)],
        signal_names=[f"signal{s}" for s in range(n_signals)],
        extra={"points": pts, "mass": mass, "lengths": lengths, "n_bumps": n_bumps},
    )


# ------------------------------------------------------------------------------------------------ gene modules
def gene_modules(
    n_modules: int = 20,
    genes_per_module: int = 40,
    n_cells: int = 300,
    n_types: int = 5,
    *,
    p_in: float = 0.2,
    p_out: float = 0.005,
    activity: float = 0.3,
    seed=0,
) -> GraphSignals:
    """Synthetic gene graph (a synthetic substitute for lymphoblasts on a gene graph, ``docs/papers/udemd.md §5``).

    Stochastic-block graph: ``n_modules`` x ``genes_per_module`` genes, within-module edge probability ``p_in``,
    between consecutive modules (a pathway chain) ``p_out``, plus one guaranteed link between consecutive
    modules. Each cell type activates a random run of 3 consecutive modules; a cell's signal is
    Poisson(0.2 + activity * active * U[0.5, 1.5]) counts per gene (active: 1 on the type's modules).
    """
    rng = _rng(seed)
    n = n_modules * genes_per_module
    module = np.repeat(np.arange(n_modules), genes_per_module)
    r, c = np.triu_indices(n, 1)
    same = module[r] == module[c]
    chain = np.abs(module[r] - module[c]) == 1
    p = np.where(same, p_in, np.where(chain, p_out, 0.0))
    keep = rng.random(len(r)) < p
    rows, cols = list(r[keep]), list(c[keep])
    for mdl in range(n_modules - 1):  # guarantee the chain
        rows.append(mdl * genes_per_module)
        cols.append((mdl + 1) * genes_per_module)
    a = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    a = ((a + a.T) > 0).astype(np.float64).tocsr()
    a = a.tolil()
    n_comp, lab = connected_components(a, directed=False)
    for comp in range(n_comp):  # module starts are chained, so linking to them connects everything
        members = np.flatnonzero(lab == comp)
        if lab[0] == comp:
            continue
        v = int(members[0])
        u = int(module[v] * genes_per_module)
        a[v, u] = a[u, v] = 1.0
    a = a.tocsr()
    starts = rng.choice(n_modules - 2, size=n_types, replace=n_types > n_modules - 2)
    ctype = rng.integers(0, n_types, size=n_cells)
    x = np.empty((n_cells, n))
    for i in range(n_cells):
        act = np.isin(module, starts[ctype[i]] + np.arange(3)).astype(float)
        x[i] = rng.poisson(0.2 + activity * act * rng.uniform(0.5, 1.5))
    return GraphSignals(
        name="modules",
        adjacency=a.tocsr(),
        signals=x,
        labels=np.array([f"type {t}" for t in ctype]),
        node_names=[f"g{m}_{j}" for m in range(n_modules) for j in range(genes_per_module)],
        signal_names=[f"cell{i}" for i in range(n_cells)],
        extra={"module": module},
    )


# ------------------------------------------------------------------------------------------------ PBMC
def pbmc_genes(*, label_key: str = "bulk_labels", n_markers: int = 5) -> GraphSignals:
    """Genes as signals on the 700-cell kNN graph of scanpy's bundled ``pbmc68k_reduced`` (offline).

    Graph: ``obsp['connectivities']`` (symmetric UMAP kNN, one component). Signals: the 765 gene columns of
    ``.raw.X`` (log1p-normalised, >= 0). Label: each gene's preferred cell type, the argmax over types of its
    z-scored (over types) type-mean expression; extra["margin"] is the gap between the top two z-scores,
    extra["marker"] marks the top ``n_markers`` genes per type of ``uns['rank_genes_groups']``.
    """
    import scanpy as sc  # heavy; imported only here

    ad = sc.datasets.pbmc68k_reduced()
    adj = sp.csr_matrix(ad.obsp["connectivities"], dtype=np.float64)
    raw = sp.csr_matrix(ad.raw.X, dtype=np.float64)  # (cells, genes)
    genes = list(map(str, ad.raw.var_names))
    types = ad.obs[label_key].astype(str).to_numpy()
    cats = np.unique(types)
    means = np.stack([np.asarray(raw[types == t].mean(axis=0)).ravel() for t in cats])  # (types, genes)
    z = (means - means.mean(axis=0)) / (means.std(axis=0) + 1e-12)
    top2 = np.sort(z, axis=0)[-2:]
    pref = cats[np.argmax(z, axis=0)]
    margin = top2[1] - top2[0]
    marker = np.zeros(len(genes), dtype=bool)
    names = ad.uns["rank_genes_groups"]["names"]
    gene_pos = {g: i for i, g in enumerate(genes)}
    for grp in names.dtype.names:
        for g in names[grp][:n_markers]:
            if g in gene_pos:
                marker[gene_pos[g]] = True
    return GraphSignals(
        name="pbmc",
        adjacency=adj,
        signals=np.ascontiguousarray(raw.T.toarray()),  # (genes, cells)
        labels=pref.astype(str),
        node_names=list(map(str, ad.obs_names)),
        signal_names=genes,
        extra={"margin": margin, "marker": marker, "cell_type": types},
    )
