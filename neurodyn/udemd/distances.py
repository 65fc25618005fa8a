"""L1 distances, chunked L1 k-nearest neighbours and the kNN affinity between UDEMD embeddings.

UDEMD (arXiv:2107.12334): once every signal is embedded, the (unbalanced) EMD between two signals is the L1 norm
of the difference of their embeddings, so nearest neighbours need only a brute-force L1 search. For large m the
search runs over row chunks and never holds the full m x m matrix.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.spatial.distance import cdist, pdist, squareform

__all__ = ["udemd_distances", "knn_l1", "knn_affinity", "knn_accuracy", "cosine_distances"]


def udemd_distances(embeddings: np.ndarray, other: np.ndarray | None = None, *, chunk: int = 256) -> np.ndarray:
    """Pairwise L1 distances between embedding rows.

    Parameters
    ----------
    embeddings : ndarray of shape (m, D)
    other : ndarray of shape (n, D), optional (default: ``embeddings``)

    Returns
    -------
    ndarray of shape (m, n), float64.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    y = x if other is None else np.asarray(other, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"embeddings must be 2-D with equal widths, got {x.shape} and {y.shape}")
    if other is None:  # scipy's pdist visits each pair once: ~5x faster than torch.cdist(p=1) on CPU
        return squareform(pdist(x, "cityblock"))
    out = np.empty((x.shape[0], y.shape[0]))
    for i in range(0, x.shape[0], chunk):
        out[i : i + chunk] = cdist(x[i : i + chunk], y, "cityblock")
    return out


def knn_l1(
    embeddings: np.ndarray, k: int, *, chunk: int = 512, include_self: bool = False, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """Exact L1 k-nearest neighbours by chunked brute force (memory O(chunk * m), never m x m).

    Parameters
    ----------
    embeddings : ndarray of shape (m, D)
    k : int, neighbours per row (1 <= k < m, or <= m with ``include_self``).
    include_self : bool
        Keep each point as its own first neighbour (the umap-learn ``precomputed_knn`` convention).

    Returns
    -------
    indices : ndarray of shape (m, k), int64
    distances : ndarray of shape (m, k), float64, ascending per row.
    """
    on_gpu = torch.device(device).type == "cuda"
    e = torch.as_tensor(np.asarray(embeddings), device=device) if on_gpu else np.asarray(embeddings, np.float64)
    m = e.shape[0]
    k_max = m if include_self else m - 1
    if not 1 <= k <= k_max:
        raise ValueError(f"k must be in [1, {k_max}] for {m} signals, got {k}")
    kk = k if include_self else k + 1
    idx = np.empty((m, k), dtype=np.int64)
    dist = np.empty((m, k))
    for i in range(0, m, chunk):
        if on_gpu:
            d = torch.cdist(e[i : i + chunk], e, p=1)  # (chunk, m)
        else:
            d = torch.from_numpy(cdist(e[i : i + chunk], e, "cityblock"))  # (chunk, m)
        rows = torch.arange(i, min(i + chunk, m), device=d.device)
        d[rows - i, rows] = -1.0  # self first, always
        val, ind = torch.topk(d, kk, dim=1, largest=False, sorted=True)
        val[:, 0] = 0.0
        if not include_self:
            val, ind = val[:, 1:], ind[:, 1:]
        idx[i : i + chunk] = ind.cpu().numpy()
        dist[i : i + chunk] = val.double().cpu().numpy()
    return idx, dist


def knn_affinity(indices: np.ndarray, distances: np.ndarray) -> sp.csr_matrix:
    """UMAP-style fuzzy kNN affinity from a kNN table (self excluded).

    w_ij = exp(-(d_ij - rho_i) / sigma_i) with rho_i the nearest-neighbour distance and sigma_i chosen so that
    sum_j w_ij = log2(k); symmetrised by the fuzzy union W + W^T - W o W^T.

    Parameters
    ----------
    indices, distances : ndarray of shape (m, k)

    Returns
    -------
    scipy.sparse.csr_matrix of shape (m, m)
    """
    m, k = indices.shape
    d = np.asarray(distances, dtype=np.float64)
    rho = d[:, 0]
    target = np.log2(max(k, 2))
    lo, hi = np.zeros(m), np.full(m, np.inf)
    sigma = np.ones(m) * max(float(np.mean(d)), 1e-12)
    gap = np.maximum(d - rho[:, None], 0.0)
    for _ in range(64):  # bisection on sigma per row
        s = np.exp(-gap / sigma[:, None]).sum(axis=1)
        high = s > target
        hi = np.where(high, sigma, hi)
        lo = np.where(high, lo, sigma)
        sigma = np.where(np.isinf(hi), sigma * 2, (lo + hi) / 2)
    w = np.exp(-gap / np.maximum(sigma[:, None], 1e-12))
    mat = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(m), k), indices.ravel())), shape=(m, m))
    prod = mat.multiply(mat.T)
    return (mat + mat.T - prod).tocsr()


def cosine_distances(x: np.ndarray) -> np.ndarray:
    """1 - cosine similarity between rows of x (m, N); zero rows get distance 1 to everything."""
    x = np.asarray(x, dtype=np.float64)
    nrm = np.linalg.norm(x, axis=1, keepdims=True)
    u = np.divide(x, nrm, out=np.zeros_like(x), where=nrm > 0)
    d = 1.0 - u @ u.T
    np.fill_diagonal(d, 0.0)
    return np.clip(d, 0.0, 2.0)


def knn_accuracy(distances: np.ndarray, labels, k: int = 10) -> float:
    """Leave-one-out k-NN majority-vote accuracy from an (m, m) distance matrix (ties -> nearest label)."""
    d = np.array(distances, dtype=np.float64, copy=True)
    lab = np.asarray(labels)
    m = len(lab)
    if d.shape != (m, m):
        raise ValueError(f"distances must be ({m}, {m}) for {m} labels, got {d.shape}")
    np.fill_diagonal(d, np.inf)
    k = min(k, m - 1)
    nn = np.argsort(d, axis=1, kind="stable")[:, :k]  # (m, k)
    _, codes = np.unique(lab, return_inverse=True)
    votes = codes[nn]  # (m, k)
    correct = 0
    for i in range(m):
        counts = np.bincount(votes[i], minlength=codes.max() + 1)
        best = np.flatnonzero(counts == counts.max())
        pred = best[0] if len(best) == 1 else next(v for v in votes[i] if v in best)
        correct += int(pred == codes[i])
    return correct / m
