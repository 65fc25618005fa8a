"""Experiment "udemd": graph -> operator -> embeddings -> distances -> kNN accuracy -> UMAP -> exact-EMD check.

UDEMD (arXiv:2107.12334). There is no training loop: one run is a fixed pipeline, and one ``step()`` is one
stage of it, so the page can show progress and each stage stays short:

====  ==========  ==========================================================================================
step  stage       work
====  ==========  ==========================================================================================
0     data        build the dataset (ontology patients, PBMC genes, random-geometric bumps, gene modules)
1     operator    validate the graph, build P^T, precompute the dyadic powers (UnbalancedDiffusionEMD.fit)
2     udemd       embed the raw (unbalanced) signals, L1 distances, kNN accuracy
3     balanced    embed the mass-normalised signals (balanced Diffusion EMD), kNN accuracy
4     baselines   L1 and cosine distances on the raw signal vectors, kNN accuracy
5     umap        seeded UMAP of the shown embedding from its exact L1 kNN table (spectral layout fallback)
6...  exact       exact EMD on ``pairs_per_step`` random pairs per step (POT; the dummy-node unbalanced LP
                  at lambda = hop diameter, or balanced ``ot.emd2`` in balanced mode), Spearman with (U)DEMD
====  ==========  ==========================================================================================

Metrics are the same keys every step (values stay 0.0 until their stage has run). Timings are wall-clock, so
they are published once, at the UMAP stage, to keep the first records of two same-seed runs identical.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.spatial.distance import cdist
from scipy.stats import pearsonr, spearmanr

from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, numpy_generator, resolve_device
from neurodyn.udemd import datasets as ds
from neurodyn.udemd.distances import cosine_distances, knn_accuracy, knn_l1, udemd_distances
from neurodyn.udemd.transformer import UnbalancedDiffusionEMD

__all__ = [
    "Config",
    "PRESETS",
    "TITLE",
    "PAPER",
    "METHODS",
    "STAGES",
    "UdemdExperiment",
    "build",
    "make_dataset",
    "layout_2d",
    "warm_up",
    "timing_vs_signals",
    "TAB_OVERRIDES",
    "analyse",
]

TITLE = "UDEMD: unbalanced diffusion EMD embeddings of signals on graphs"
PAPER = "arXiv:2107.12334"
METHODS = ("udemd", "balanced", "l1", "cosine")
STAGES = ("data", "operator", "udemd", "balanced", "baselines", "umap")


@dataclass(frozen=True)
class Config:
    dataset: str = param("patients", choices=("patients", "pbmc", "geometric", "modules"),
                         help="signals and graph: ontology patients, PBMC genes on cells, geometric bumps, gene modules")
    n_signals: int = param(400, min=20, max=2000, help="patients / bump signals / cells (PBMC has 765 genes)")
    eps: float = param(0.3, min=0.0, max=1.0, step=0.05, label="ε", help="patients: share of random (noise) mentions")
    severity: float = param(3.0, min=1.0, max=6.0, step=0.25, help="patients: mention-count ratio high/low severity")
    base: float = param(6.0, min=1.0, max=20.0, step=0.5, help="patients: mean mentions of a low-severity patient")
    depth: int = param(6, min=3, max=7, help="patients: depth of the ontology tree")
    branching: int = param(3, min=2, max=5, help="patients: children per concept")
    graph_nodes: int = param(500, min=50, max=2000, help="geometric: nodes of the random geometric graph")
    unbalanced_masses: bool = param(True, help="geometric: scale each bump signal by a mass from U[0.5, 2]")
    max_scale: int = param(10, min=0, max=14, label="K", help="largest diffusion scale 2^K (0 = auto from diameter)")
    n_scales: int = param(6, min=1, max=15, label="S", help="retained dyadic scales (the S largest)")
    alpha: float = param(0.5, min=0.05, max=1.0, step=0.05, label="α", help="band weight; ground cost d^(2α)")
    anisotropy: float = param(1.0, min=0.0, max=1.0, step=0.1, label="a", help="density normalisation exponent")
    lowpass_weight: float = param(1.0, min=0.0, max=4.0, step=0.1, label="γ",
                                  help="weight of the low-pass (mass) block; an extension, 1 = reference")
    balanced: bool = param(False, help="show balanced DEMD (mass-normalised) instead of UDEMD in the UMAP/exact check")
    knn_k: int = param(10, min=1, max=30, help="k of the leave-one-out kNN accuracy")
    umap_neighbors: int = param(15, min=5, max=50, help="UMAP neighbours (exact L1 kNN of the embeddings)")
    umap_epochs: int = param(200, min=20, max=500, help="UMAP optimisation epochs")
    layout: str = param("umap", choices=("umap", "spectral"), help="2-D layout of the embedding")
    pairs_per_step: int = param(10, min=1, max=100, help="exact-EMD pairs per step after the pipeline")
    n_steps: int = param(16, min=6, max=60, help="steps: 6 pipeline stages, then exact-EMD batches")
    seed: int = param(0, min=0, max=2**31 - 1, help="random seed (data and UMAP)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), help="torch device")

    def __post_init__(self) -> None:
        if self.dataset == "patients" and self.branching**2 < 4 and self.depth >= 3:
            raise ValueError(f"branching={self.branching} gives fewer than 4 disease areas at depth 2; use >= 2")


PRESETS: dict[str, Config] = {
    # small: a 364-node tree and 300 patients, quick UMAP; a few seconds per run once numba is warm
    "small": Config(n_signals=300, depth=5, umap_epochs=100, n_steps=10, pairs_per_step=4),
    # paper: card Tab B (3-ary tree of depth 6 = 1093 concepts, 400 patients, eps 0.3, severity x3, K = 10);
    # the tree has more than 1000 nodes, so the exact-EMD stage is skipped (card size guard)
    "paper": Config(n_steps=6),
}

# Overrides that turn the sidebar config into the other tabs' runs (the page applies them with dataclasses.replace)
TAB_OVERRIDES: dict[str, dict[str, Any]] = {
    # Tab A of the card: 765 genes on the 700-cell PBMC graph, 5-NN accuracy on the clearly typed genes
    "pbmc": {"dataset": "pbmc", "knn_k": 5, "n_steps": 6},
    # Tab C: N = 500 random geometric graph, 200 bump signals, exact EMD on 300 pairs in batches of 10
    "geometric": {"dataset": "geometric", "graph_nodes": 500, "n_signals": 200, "pairs_per_step": 10,
                  "n_steps": 36},
    "modules": {"dataset": "modules", "n_signals": 300, "n_steps": 6},
}


def make_dataset(config: Config) -> ds.GraphSignals:
    """The dataset a config names, drawn from ``derive_seed(seed, "data")``."""
    rng = numpy_generator(derive_seed(config.seed, "data"))
    if config.dataset == "patients":
        return ds.ontology_patients(config.n_signals, eps=config.eps, base=config.base, severity=config.severity,
                                    branching=config.branching, depth=config.depth, seed=rng)
    if config.dataset == "pbmc":
        return ds.pbmc_genes()
    if config.dataset == "geometric":
        return ds.geometric_bumps(config.graph_nodes, config.n_signals, unbalanced=config.unbalanced_masses, seed=rng)
    if config.dataset == "modules":
        return ds.gene_modules(n_cells=config.n_signals, seed=rng)
    raise ValueError(f"unknown dataset {config.dataset!r}")


def _eval_mask(data: ds.GraphSignals) -> np.ndarray:
    """Signals scored by kNN accuracy: PBMC genes with a clear type preference (top half by margin), else all."""
    if data.name == "pbmc":
        margin = data.extra["margin"]
        return margin >= np.median(margin)
    return np.ones(len(data.signals), dtype=bool)


def _acc(dist: np.ndarray, labels: np.ndarray, mask: np.ndarray, k: int) -> float:
    sub = dist[np.ix_(mask, mask)]
    return float(knn_accuracy(sub, labels[mask], k))


def layout_2d(embeddings: np.ndarray, *, n_neighbors: int = 15, n_epochs: int = 200, seed: int = 0,
              method: str = "umap") -> np.ndarray:
    """2-D layout (m, 2) of L1 embeddings: UMAP from the exact chunked L1 kNN table, or a spectral layout.

    UMAP is seeded (``random_state=seed``, which also makes it single-threaded and deterministic). If umap-learn
    cannot be imported the spectral layout of the fuzzy kNN affinity is used.
    """
    m = len(embeddings)
    k = max(2, min(n_neighbors, m - 1))
    idx, dist = knn_l1(embeddings, k, include_self=True)  # (m, k) self first
    if method == "umap":
        try:
            import umap  # heavy: ~20 s of numba JIT on first use, see warm_up()
        except Exception:  # noqa: BLE001 - fall back to the spectral layout
            method = "spectral"
        else:
            reducer = umap.UMAP(n_neighbors=k, precomputed_knn=(idx, dist, None), random_state=seed,
                                n_epochs=n_epochs, metric="manhattan", init="spectral")
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.asarray(reducer.fit_transform(np.asarray(embeddings, dtype=np.float32)), dtype=np.float64)
    from scipy.sparse.linalg import eigsh

    from neurodyn.udemd.distances import knn_affinity

    w = knn_affinity(idx[:, 1:], dist[:, 1:])
    deg = np.asarray(w.sum(axis=1)).ravel() + 1e-12
    import scipy.sparse as sp

    sym = sp.diags(deg**-0.5) @ w @ sp.diags(deg**-0.5)
    v0 = np.ones(m) / math.sqrt(m)
    vals, vecs = eigsh(sym, k=3, which="LA", v0=v0)
    order = np.argsort(-vals)
    coords = vecs[:, order[1:3]] * (deg**-0.5)[:, None]
    return coords / (np.abs(coords).max(axis=0) + 1e-12)


def warm_up() -> None:
    """Pay umap-learn's import and numba JIT once (call at app start); safe to call again."""
    rng = np.random.default_rng(0)
    layout_2d(rng.random((60, 8)), n_neighbors=10, n_epochs=20, seed=0)


@dataclass
class _State:
    data: Any = None
    est: Any = None
    emb: dict = field(default_factory=dict)
    dist: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    pairs: Any = None
    exact: list = field(default_factory=list)
    approx: list = field(default_factory=list)


class UdemdExperiment:
    """The staged UDEMD pipeline; see the module docstring for the stages.

    Parameters
    ----------
    config : Config
    data : GraphSignals, optional
        Use these graph signals instead of ``make_dataset(config)`` (uploads); ``config.dataset`` is then ignored.
    emit_embedding : bool, default False
        Also return the shown method's full embedding, shape (m, N * S), as the layout stage's ``embedding``
        artifact (for the upload tab's download; off by default because it is large).
    """

    def __init__(self, config: Config, data: ds.GraphSignals | None = None, emit_embedding: bool = False) -> None:
        self.config = config
        self.emit_embedding = emit_embedding
        self.total_steps = int(config.n_steps)
        self.device = resolve_device(config.device)
        self._k = 0
        self._given = data
        self.state = _State()
        self.metrics: dict[str, float] = self._initial_metrics()

    @property
    def done(self) -> bool:
        """True once ``total_steps`` steps were taken."""
        return self._k >= self.total_steps

    def _initial_metrics(self) -> dict[str, float]:
        s = min(self.config.n_scales, (self.config.max_scale or 12) + 1)
        keys = ["stage", "n_nodes", "n_signals", "max_scale", "embedding_dim", "lowpass_share"]
        keys += [f"block{i}_l1" for i in range(s)]
        keys += [f"acc_{m}" for m in METHODS] + [f"coarse_acc_{m}" for m in METHODS]
        keys += ["time_operator_s", "time_embed_s", "time_distances_s", "time_layout_s",
                 "exact_pairs", "exact_spearman", "exact_pearson", "time_exact_per_pair_s"]
        return {k: 0.0 for k in keys}

    # ------------------------------------------------------------------------------------------ stages
    def _estimator(self, balanced: bool) -> UnbalancedDiffusionEMD:
        c = self.config
        return UnbalancedDiffusionEMD(
            n_scales=c.n_scales, max_scale="auto" if c.max_scale == 0 else c.max_scale, alpha=c.alpha,
            anisotropy=c.anisotropy, lowpass_weight=c.lowpass_weight, balanced=balanced, method="exact",
            dtype="float32", device=str(self.device),
        )

    def _stage_data(self) -> dict:
        st = self.state
        st.data = self._given if self._given is not None else make_dataset(self.config)
        d = st.data
        self.metrics.update(n_nodes=float(d.adjacency.shape[0]), n_signals=float(len(d.signals)))
        art = {"labels": [str(x) for x in d.labels], "signal_names": list(d.signal_names),
               "mass": d.signals.sum(axis=1)}
        if "marker" in d.extra:
            art["marker"] = d.extra["marker"].astype(int)
        if "area" in d.extra:
            art["area"] = d.extra["area"].astype(int)
        art["evaluated"] = _eval_mask(d).astype(int)
        return art

    def _stage_operator(self) -> dict:
        st = self.state
        t0 = time.perf_counter()
        st.est = self._estimator(False).fit(st.data.adjacency)
        st.times["operator"] = time.perf_counter() - t0
        self.metrics.update(max_scale=float(st.est.max_scale_), embedding_dim=float(st.est.n_features_out_))
        return {"scales": st.est.scales_.astype(float), "lazy": bool(st.est.lazy_), "route": st.est.route_}

    def _embed(self, balanced: bool) -> np.ndarray:
        st = self.state
        est = st.est
        x = st.data.signals
        if balanced:
            mass = x.sum(axis=1, keepdims=True)
            x = np.divide(x, mass, out=np.zeros_like(x), where=mass > 0)  # zero-mass signals stay 0
        return est.transform(x)

    def _score(self, name: str, dist: np.ndarray) -> None:
        d = self.state.data
        mask = _eval_mask(d)
        self.metrics[f"acc_{name}"] = _acc(dist, np.asarray(d.labels), mask, self.config.knn_k)
        if "area" in d.extra:
            self.metrics[f"coarse_acc_{name}"] = _acc(dist, d.extra["area"], mask, self.config.knn_k)

    def _stage_embedding(self, balanced: bool) -> dict:
        st = self.state
        name = "balanced" if balanced else "udemd"
        t0 = time.perf_counter()
        e = self._embed(balanced)
        t1 = time.perf_counter()
        st.emb[name] = e
        st.dist[name] = udemd_distances(e)
        st.times[f"embed_{name}"] = t1 - t0
        st.times[f"dist_{name}"] = time.perf_counter() - t1
        self._score(name, st.dist[name])
        art = {}
        if not balanced:
            norms = st.est.block_norms(e)
            for i, v in enumerate(norms):
                self.metrics[f"block{i}_l1"] = float(v)
            self.metrics["lowpass_share"] = float(norms[-1] / max(norms.sum(), 1e-300))
            art["block_norms"] = norms.astype(np.float64)
        return art

    def _stage_baselines(self) -> dict:
        st = self.state
        x = st.data.signals
        st.dist["l1"] = cdist(x, x, "cityblock")
        st.dist["cosine"] = cosine_distances(x)
        for m in ("l1", "cosine"):
            self._score(m, st.dist[m])
        return {"methods": list(METHODS), "accuracy": [self.metrics[f"acc_{m}"] for m in METHODS]}

    def _stage_layout(self) -> dict:
        st = self.state
        c = self.config
        shown = "balanced" if c.balanced else "udemd"
        t0 = time.perf_counter()
        xy = layout_2d(st.emb[shown], n_neighbors=c.umap_neighbors, n_epochs=c.umap_epochs, seed=c.seed,
                       method=c.layout)
        st.times["layout"] = time.perf_counter() - t0
        self.metrics.update(
            time_operator_s=st.times["operator"],
            time_embed_s=st.times["embed_udemd"],
            time_distances_s=st.times["dist_udemd"],
            time_layout_s=st.times["layout"],
        )
        m = len(st.emb[shown])
        idx, dist = knn_l1(st.emb[shown], min(c.knn_k, m - 1))
        out = {"umap": xy, "shown": shown, "labels": [str(x) for x in st.data.labels],
               "neighbors": idx, "neighbor_distances": dist}
        if self.emit_embedding:
            out["embedding"] = np.asarray(st.emb[shown])
        return out

    def _stage_exact(self) -> dict:
        from neurodyn.udemd import exact

        st = self.state
        c = self.config
        d = st.data
        n, m = d.adjacency.shape[0], len(d.signals)
        if n > 1000:  # card size guard: exact EMD only for N <= 1000
            return {"exact_skipped": f"exact EMD is limited to graphs of <= 1000 nodes (this one has {n})"}
        if st.pairs is None:
            rng = numpy_generator(derive_seed(c.seed, "pairs"))
            ii, jj = np.triu_indices(m, 1)
            sel = rng.permutation(len(ii))
            st.pairs = np.stack([ii[sel], jj[sel]], axis=1)
            st.cost = exact.geodesic_costs(d.adjacency)
        done = len(st.exact)
        batch = st.pairs[done: done + c.pairs_per_step]
        if len(batch) == 0:
            return {}
        x = d.signals
        shown = "balanced" if c.balanced else "udemd"
        t0 = time.perf_counter()
        if c.balanced:
            shapes = x / np.maximum(x.sum(axis=1, keepdims=True), 1e-300)
            vals = exact.pairwise_exact(shapes, batch, st.cost)
        else:
            vals = exact.pairwise_exact(x, batch, st.cost, lam=float(st.cost.max()))
        per_pair = (time.perf_counter() - t0) / len(batch)
        st.exact.extend(vals.tolist())
        st.approx.extend(st.dist[shown][batch[:, 0], batch[:, 1]].tolist())
        st.times.setdefault("exact", []).append(per_pair)
        ex, ap = np.array(st.exact), np.array(st.approx)
        if len(ex) >= 3 and np.ptp(ex) > 0 and np.ptp(ap) > 0:
            self.metrics["exact_spearman"] = float(spearmanr(ex, ap)[0])
            self.metrics["exact_pearson"] = float(pearsonr(ex, ap)[0])
        self.metrics["exact_pairs"] = float(len(ex))
        self.metrics["time_exact_per_pair_s"] = float(np.median(st.times["exact"]))
        return {"exact": ex, "approx": ap, "pairs": st.pairs[: len(ex)]}

    # ------------------------------------------------------------------------------------------ step
    def step(self) -> Record:
        """Run the next stage and return its record."""
        if self.done:
            raise RuntimeError("experiment is done; build a new one to run again")
        k = self._k
        if k == 0:
            art = self._stage_data()
        elif k == 1:
            art = self._stage_operator()
        elif k == 2:
            art = self._stage_embedding(False)
        elif k == 3:
            art = self._stage_embedding(True)
        elif k == 4:
            art = self._stage_baselines()
        elif k == 5:
            art = self._stage_layout()
        else:
            art = self._stage_exact()
        self.metrics["stage"] = float(min(k, len(STAGES)))
        self._k += 1
        return Record(step=k, metrics={key: float(v) for key, v in self.metrics.items()}, artifacts=art)

    # ------------------------------------------------------------------------------------------ access
    def embedding(self, name: str = "udemd") -> np.ndarray:
        """The (m, N*S) embedding computed so far for ``name`` ('udemd' or 'balanced')."""
        return self.state.emb[name]

    def distances(self, name: str) -> np.ndarray:
        """The (m, m) distance matrix of method ``name`` computed so far."""
        return self.state.dist[name]


def build(config: Config) -> UdemdExperiment:
    """Build the experiment for ``config``."""
    return UdemdExperiment(config)


def timing_vs_signals(
    data: ds.GraphSignals, sizes: Sequence[int], *, max_scale: int = 10, n_exact_pairs: int = 20, seed: int = 0,
    balanced: bool = True,
) -> list[dict]:
    """Wall time of all-pairs distances against the number of signals m (figure F1, right panel).

    UDEMD is timed end to end (fit + transform + all-pairs L1) for each m in ``sizes``. Exact EMD is timed on
    ``n_exact_pairs`` random pairs and scaled to m (m - 1) / 2 pairs (rows marked ``extrapolated``).

    Returns
    -------
    list of dict with keys method, n_signals, seconds, extrapolated.
    """
    from neurodyn.udemd import exact

    rng = numpy_generator(derive_seed(seed, "timing"))
    x = data.signals
    if balanced:
        x = x / np.maximum(x.sum(axis=1, keepdims=True), 1e-300)
    rows = []
    for m in sizes:
        m = int(min(m, len(x)))
        t0 = time.perf_counter()
        est = UnbalancedDiffusionEMD(max_scale=max_scale, device="cpu").fit(data.adjacency)
        udemd_distances(est.transform(x[:m]))
        rows.append({"method": "UDEMD (embedding + L1)", "n_signals": m, "seconds": time.perf_counter() - t0,
                     "extrapolated": False})
    cost = exact.geodesic_costs(data.adjacency)
    ii = rng.integers(0, len(x), size=(n_exact_pairs, 2))
    t0 = time.perf_counter()
    for i, j in ii:
        if balanced:
            exact.exact_emd(x[i], x[j], cost)
        else:
            exact.unbalanced_emd(x[i], x[j], cost, float(cost.max()))
    per_pair = (time.perf_counter() - t0) / n_exact_pairs
    for m in sizes:
        m = int(min(m, len(x)))
        rows.append({"method": "exact EMD (POT)", "n_signals": m, "seconds": per_pair * m * (m - 1) / 2,
                     "extrapolated": True})
    return rows


def upload_config(config: Config, data: ds.GraphSignals, *, exact_pairs: int = 30) -> Config:
    """The config of a run over uploaded ``data``: the sidebar's settings with ``n_steps`` sized for the pipeline
    (all stages, plus exact EMD on up to ``exact_pairs`` pairs when the graph has <= 1000 nodes; card size guard:
    <= 500 pairs)."""
    n_exact = min(exact_pairs, 500) if data.adjacency.shape[0] <= 1000 else 0
    steps = len(STAGES) + math.ceil(n_exact / max(config.pairs_per_step, 1))
    return dataclasses.replace(config, n_steps=min(max(steps, 6), 60))


def analyse(data: ds.GraphSignals, config: Config, *, exact_pairs: int = 30) -> tuple[list[Record], UdemdExperiment]:
    """Run the whole pipeline on given graph signals (uploads): all stages, plus exact EMD on up to
    ``exact_pairs`` pairs when the graph has <= 1000 nodes (card size guard: <= 500 pairs).

    Returns the records and the finished experiment (its ``embedding()`` and ``distances()`` stay available).
    """
    exp = UdemdExperiment(upload_config(config, data, exact_pairs=exact_pairs), data=data)
    records = []
    while not exp.done:
        records.append(exp.step())
    return records, exp
