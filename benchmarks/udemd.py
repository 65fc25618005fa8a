"""UDEMD against exact POT EMD and the reference DiffusionCheb (arXiv:2107.12334; ``docs/papers/udemd.md §10``).

Workload (``docs/papers/udemd.md §9``, check 9): random geometric 10-NN graph, N = 500 nodes, m = 200
geodesic-bump signals, seed 0.

- ours: ``UnbalancedDiffusionEMD`` fit + transform + all 19,900 pairwise L1 distances, end to end (median of runs);
- exact: ``ot.emd2`` on hop-distance costs for a random sample of pairs, scaled to all pairs (one thread);
- reference: ``DiffusionEMD.DiffusionCheb`` at its defaults (pip package ``diffusionemd==0.5.0``, installed with
  ``requirements-dev.txt`` for the tests), when importable. 0.5.0 imports ``DistanceMetric`` from
  ``sklearn.neighbors``, which scikit-learn >= 1.3 moved to ``sklearn.metrics``; we alias it before the import.

Prints wall times, speed-up ratios and the Spearman correlation of each embedding's distances with the exact ones.
Goal: >= 100x faster than exact at Spearman >= 0.94, and faster than DiffusionCheb at its defaults.

Usage: ``python benchmarks/udemd.py [--pairs 200] [--repeats 5] [--unbalanced] [--device cpu]``
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from scipy.stats import spearmanr

from neurodyn.core.seeding import resolve_device
from neurodyn.udemd import UnbalancedDiffusionEMD, exact, udemd_distances
from neurodyn.udemd.datasets import geometric_bumps


def _reference():
    """DiffusionEMD module or None (the DistanceMetric alias makes 0.5.0 importable on new scikit-learn)."""
    try:
        import sklearn.metrics
        import sklearn.neighbors

        if not hasattr(sklearn.neighbors, "DistanceMetric"):
            sklearn.neighbors.DistanceMetric = sklearn.metrics.DistanceMetric
        import DiffusionEMD
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        print(f"reference DiffusionCheb: not importable ({type(exc).__name__}: {exc}); "
              "pip install -r requirements-dev.txt")
        return None
    return DiffusionEMD


def _time(fn, repeats: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--signals", type=int, default=200)
    ap.add_argument("--pairs", type=int, default=200, help="exact-EMD pairs timed and scaled to all pairs")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--unbalanced", action="store_true", help="masses U[0.5, 2]; exact = dummy-node LP, lambda = diam")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)

    data = geometric_bumps(args.nodes, args.signals, unbalanced=args.unbalanced, seed=0)
    adj, x = data.adjacency, data.signals
    m = len(x)
    n_all = m * (m - 1) // 2
    cost = exact.geodesic_costs(adj)
    lam = float(cost.max())
    print(f"graph: N={adj.shape[0]} nodes, {adj.nnz // 2} edges, hop diameter {lam:.0f}; m={m} signals "
          f"({'unbalanced' if args.unbalanced else 'balanced'}), {n_all} pairs; device {device}, "
          f"{args.threads} torch thread(s)")

    rng = np.random.default_rng(0)
    ii, jj = np.triu_indices(m, 1)
    sel = rng.choice(n_all, size=min(args.pairs, n_all), replace=False)
    pairs = np.stack([ii[sel], jj[sel]], axis=1)
    t0 = time.perf_counter()
    ref = exact.pairwise_exact(x, pairs, cost, lam=lam if args.unbalanced else None)
    per_pair = (time.perf_counter() - t0) / len(pairs)
    t_exact = per_pair * n_all
    print(f"exact POT ({'dummy-node LP' if args.unbalanced else 'ot.emd2'}): {per_pair * 1e3:.1f} ms/pair on "
          f"{len(pairs)} pairs -> {t_exact:.1f} s for all {n_all} pairs (extrapolated)")

    results = {}
    for label, kw in [("ours float32", {"dtype": "float32"}), ("ours float64", {"dtype": "float64"}),
                      ("ours float32 cheb J=128", {"dtype": "float32", "method": "cheb"})]:
        def run(kw=kw):
            est = UnbalancedDiffusionEMD(max_scale=10, device=str(device), **kw).fit(adj)
            return udemd_distances(est.transform(x))
        t, d = _time(run, args.repeats)
        results[label] = (t, spearmanr(ref, d[pairs[:, 0], pairs[:, 1]])[0])

    demd = _reference()
    if demd is not None:
        y = x.T.copy()  # the reference takes nodes x signals

        def run_ref():
            e = demd.DiffusionCheb().fit_transform(adj.toarray(), y)  # defaults: K=10, S=6, J=32, no self-loops
            return udemd_distances(e)
        t, d = _time(run_ref, args.repeats)
        results["DiffusionCheb (reference, defaults)"] = (t, spearmanr(ref, d[pairs[:, 0], pairs[:, 1]])[0])

    print(f"{'method':38s} {'seconds':>9s} {'x faster than exact':>20s} {'Spearman vs exact':>18s}")
    for label, (t, rho) in results.items():
        print(f"{label:38s} {t:9.3f} {t_exact / t:20.0f} {rho:18.3f}")
    ours_t, ours_rho = results["ours float32"]
    print(f"goal >= 100x faster than exact at Spearman >= 0.94: {t_exact / ours_t:.0f}x at {ours_rho:.3f} -> "
          f"{'met' if t_exact / ours_t >= 100 and ours_rho >= 0.94 else 'NOT met'}")
    if "DiffusionCheb (reference, defaults)" in results:
        t_ref = results["DiffusionCheb (reference, defaults)"][0]
        print(f"ours vs DiffusionCheb: {t_ref / ours_t:.2f}x faster ({'met' if t_ref > ours_t else 'NOT met'})")


if __name__ == "__main__":
    main()
