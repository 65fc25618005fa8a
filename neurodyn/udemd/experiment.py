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
6...  exact       exact EMD on ``pairs_per_step`` random pairs per step, both ways (POT): balanced ``ot.emd2``
                  on the mass-normalised signals against balanced DEMD, and the dummy-node unbalanced LP at
                  lambda = hop diameter on the raw signals against UDEMD; Spearman of each, and the timings
====  ==========  ==========================================================================================

Every record carries the declared metrics (:func:`declared_metrics`); a metric is a 0.0 placeholder until its
stage has run (:func:`is_pending` says which). Timings are wall-clock, so they are published once, at the UMAP
stage, to keep the first records of two same-seed runs identical. ``docs/papers/udemd.md §5``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.spatial.distance import cdist
from scipy.stats import pearsonr, spearmanr

from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, numpy_generator, resolve_device
from neurodyn.core.spec import Metric
from neurodyn.udemd import datasets as ds
from neurodyn.udemd.distances import cosine_distances, knn_accuracy, knn_l1, udemd_distances
from neurodyn.udemd.transformer import UnbalancedDiffusionEMD

__all__ = [
    "Config",
    "PRESETS",
    "METRICS",
    "METHODS",
    "METHOD_LABELS",
    "STAGES",
    "EXACT_STAGE",
    "EXACT_MAX_NODES",
    "MIN_SPEARMAN_PAIRS",
    "UdemdExperiment",
    "build",
    "make_dataset",
    "layout_2d",
    "warm_up",
    "timing_vs_signals",
    "analyse",
    "pipeline_steps",
    "acc_metric",
    "block_metric",
    "n_blocks",
    "declared_metrics",
    "ready_stage",
    "is_pending",
]

METHODS = ("udemd", "balanced", "l1", "cosine")
METHOD_LABELS = {"udemd": "UDEMD", "balanced": "balanced DEMD", "l1": "L1 on signals", "cosine": "cosine"}
STAGES = ("data", "operator", "udemd", "balanced", "baselines", "umap")
EXACT_STAGE = len(STAGES)  # steps from here on compute exact EMD on a batch of pairs
# Exact EMD only on graphs up to this size: one pair costs two LPs of about 45 ms each at 1,093 nodes (2 cores),
# so a step of 10 pairs stays near a second (docs/papers/udemd.md §6).
EXACT_MAX_NODES = 1500
MIN_SPEARMAN_PAIRS = 3  # fewer pairs give no rank correlation at all


@dataclass(frozen=True)
class Config:
    """Settings of one UDEMD run (``docs/papers/udemd.md §5``)."""

    dataset: str = param("patients", choices=("patients", "pbmc", "geometric", "modules"), label="data set",
                         help="ontology patients, PBMC genes on cells, geometric bumps or gene modules")
    n_signals: int = param(400, min=20, max=2000, label="number of signals",
                           help="patients / bump signals / cells (PBMC has 765 genes)")
    eps: float = param(0.3, min=0.0, max=1.0, step=0.05, label="share of random mentions ε",
                       help="patients: share of mentions drawn uniformly over the whole tree (noise)")
    severity: float = param(3.0, min=1.0, max=6.0, step=0.25, label="severity ratio",
                            help="patients: mean mentions of a severe patient over a mild one")
    base: float = param(6.0, min=1.0, max=20.0, step=0.5, label="mentions of a mild patient",
                        help="patients: mean mentions of a low-severity patient")
    depth: int = param(6, min=3, max=7, label="ontology depth", help="patients: levels of the ontology tree below "
                       "its root")
    branching: int = param(3, min=2, max=5, label="children per concept", help="patients: branching of the tree")
    graph_nodes: int = param(500, min=50, max=2000, label="graph nodes",
                             help="geometric: nodes of the random geometric graph")
    unbalanced_masses: bool = param(True, label="unequal masses",
                                    help="geometric: scale each bump signal by a mass from U[0.5, 2]")
    max_scale: int = param(10, min=0, max=14, label="largest diffusion scale K (2^K steps)",
                           help="the coarsest diffusion is 2^K walk steps; 0 picks K from the graph's diameter")
    n_scales: int = param(6, min=1, max=15, label="number of scales S", help="retained dyadic scales (the S largest)")
    alpha: float = param(0.5, min=0.05, max=1.0, step=0.05, label="band weight exponent α",
                         help="band i is weighted 2^(-(S-1-i)α); the ground cost is (hop distance)^(2α)")
    anisotropy: float = param(1.0, min=0.0, max=1.0, step=0.1, label="density normalisation a",
                              help="Coifman-Lafon exponent: 1 removes the sampling density, 0 keeps it")
    lowpass_weight: float = param(1.0, min=0.0, max=4.0, step=0.1, label="weight of the mass block γ",
                                  help="weight of the low-pass block that prices mass differences; our extension, "
                                  "1 = the reference code")
    balanced: bool = param(False, label="show balanced DEMD",
                           help="lay out balanced DEMD (mass-normalised signals) instead of UDEMD")
    knn_k: int = param(10, min=1, max=30, label="neighbours k for accuracy",
                       help="k of the leave-one-out kNN label accuracy")
    umap_neighbors: int = param(15, min=5, max=50, label="UMAP neighbours",
                                help="UMAP neighbours (exact L1 kNN of the embeddings)")
    umap_epochs: int = param(200, min=20, max=500, label="UMAP epochs", help="UMAP optimisation epochs")
    layout: str = param("umap", choices=("umap", "spectral"), label="2-D layout", help="2-D layout of the embedding")
    pairs_per_step: int = param(10, min=1, max=100, label="exact pairs per step",
                                help="exact-EMD pairs computed per step after the pipeline")
    n_steps: int = param(16, min=6, max=60, label="steps", help="steps: 6 pipeline stages, then exact-EMD batches")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed (data, pairs and UMAP)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")

    def __post_init__(self) -> None:
        if self.dataset == "patients" and self.branching**2 < 4 and self.depth >= 3:
            raise ValueError(f"branching={self.branching} gives fewer than 4 disease areas at depth 2; use >= 2")


PRESETS: dict[str, Config] = {
    # small: a 364-node tree and 300 patients, quick UMAP, exact EMD on 60 pairs; a few seconds once numba is warm
    "small": Config(n_signals=300, depth=5, umap_epochs=100, n_steps=10, pairs_per_step=15),
    # paper: the ontology demo of docs/papers/udemd.md §5 (3-ary tree of depth 6 = 1,093 concepts, 400 patients,
    # ε = 0.3, severity x3, K = 10), exact EMD on 100 pairs
    "paper": Config(n_steps=16),
}


def acc_metric(method: str, coarse: bool = False) -> str:
    """Name of the kNN-accuracy metric of ``method`` (a key of ``METHODS``); ``coarse``: by disease area.

    Parameters
    ----------
    method : str
    coarse : bool, default False

    Returns
    -------
    str
    """
    if method not in METHODS:
        raise KeyError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    return f"{'coarse_' if coarse else ''}acc_{method}"


def block_metric(i: int) -> str:
    """Name of the metric holding the mean L1 norm of embedding block ``i`` (0 = finest band).

    Parameters
    ----------
    i : int

    Returns
    -------
    str
    """
    return f"block{int(i)}_l1"


def n_blocks(config: Config) -> int:
    """Number of embedding blocks a run of ``config`` declares: S, clipped to K + 1 (K = 12 when automatic).

    With an automatic K below 12 the run may use fewer blocks; the remaining block metrics stay 0.

    Parameters
    ----------
    config : Config

    Returns
    -------
    int
    """
    return min(config.n_scales, (config.max_scale or 12) + 1)


def declared_metrics(config: Config) -> tuple[Metric, ...]:
    """The metrics every record of a run of ``config`` carries (the block count depends on S and K).

    A metric is a 0.0 placeholder until the stage that computes it has run: see :func:`is_pending`.

    Parameters
    ----------
    config : Config

    Returns
    -------
    tuple of Metric
    """
    out = [Metric("stage", "", "pipeline stage of this step (6 = exact EMD)"),
           Metric("n_nodes", "nodes", "graph nodes"), Metric("n_signals", "signals", "signals"),
           Metric("max_scale", "", "largest diffusion scale K used"),
           Metric("embedding_dim", "", "embedding width N·S"),
           Metric("lowpass_share", "", "share of the UDEMD embedding's L1 norm in the low-pass (mass) block")]
    out += [Metric(block_metric(i), "", f"mean L1 norm of embedding block {i}") for i in range(n_blocks(config))]
    for coarse in (False, True):
        for m in METHODS:
            what = "disease-area" if coarse else "label"
            out.append(Metric(acc_metric(m, coarse), "", f"{METHOD_LABELS[m]}: leave-one-out kNN {what} accuracy"))
    out += [Metric("time_operator_s", "s", "time to build the diffusion operator"),
            Metric("time_embed_s", "s", "time to embed the signals (UDEMD)"),
            Metric("time_distances_s", "s", "time for all pairwise L1 distances (UDEMD)"),
            Metric("time_layout_s", "s", "time of the 2-D layout"),
            Metric("exact_pairs", "pairs", "pairs with exact EMD so far"),
            Metric("exact_spearman", "", "Spearman: balanced DEMD against exact EMD"),
            Metric("exact_pearson", "", "Pearson: balanced DEMD against exact EMD"),
            Metric("exact_spearman_unbalanced", "", "Spearman: UDEMD against exact unbalanced EMD (λ = diameter)"),
            Metric("time_exact_per_pair_s", "s", "exact EMD (ot.emd2) time per pair"),
            Metric("speedup_vs_exact", "", "all pairs: exact EMD time over UDEMD time")]
    return tuple(out)


#: Declared metrics (a function of the config: the number of embedding blocks depends on S and K).
METRICS = declared_metrics

_EXACT_METRICS = {"exact_spearman": MIN_SPEARMAN_PAIRS, "exact_pearson": MIN_SPEARMAN_PAIRS,
                  "exact_spearman_unbalanced": MIN_SPEARMAN_PAIRS, "time_exact_per_pair_s": 1,
                  "speedup_vs_exact": 1}


def ready_stage(name: str) -> int:
    """The step index (stage) whose record first holds a real value of metric ``name``.

    Parameters
    ----------
    name : str
        A declared metric name.

    Returns
    -------
    int
    """
    if name in ("stage", "n_nodes", "n_signals"):
        return 0
    if name in ("max_scale", "embedding_dim"):
        return 1
    if name == "lowpass_share" or name.startswith("block") or name.endswith("acc_udemd"):
        return 2
    if name.endswith("acc_balanced"):
        return 3
    if name.endswith("acc_l1") or name.endswith("acc_cosine"):
        return 4
    if name.startswith("time_") and name != "time_exact_per_pair_s":
        return 5
    if name == "exact_pairs" or name in _EXACT_METRICS:
        return EXACT_STAGE
    raise KeyError(f"udemd declares no metric {name!r}")


def is_pending(metrics: Mapping[str, float], name: str) -> bool:
    """True while metric ``name`` in a record's ``metrics`` is still a placeholder (its stage has not run yet).

    Exact-EMD statistics also wait for enough pairs (a rank correlation needs 3). Coarse (disease-area) accuracies
    are computed only for data with areas (the ontology patients) and stay 0 elsewhere.

    Parameters
    ----------
    metrics : mapping of str to float
        One record's metrics.
    name : str

    Returns
    -------
    bool
    """
    if metrics.get("stage", -1) < ready_stage(name):
        return True
    if name in _EXACT_METRICS:
        return metrics.get("exact_pairs", 0) < _EXACT_METRICS[name]
    return False


def make_dataset(config: Config) -> ds.GraphSignals:
    """The dataset a config names, drawn from ``derive_seed(seed, "data")``.

    Parameters
    ----------
    config : Config

    Returns
    -------
    GraphSignals
        Graph (N, N) and signals (m, N).
    """
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


def _rank_corr(x: np.ndarray, y: np.ndarray, corr: Any) -> float:
    """``corr(x, y)``'s coefficient, 0.0 when either side is constant (no correlation is defined)."""
    if np.ptp(x) <= 0 or np.ptp(y) <= 0:
        return 0.0
    return float(corr(x, y)[0])


def _acc(dist: np.ndarray, labels: np.ndarray, mask: np.ndarray, k: int) -> float:
    sub = dist[np.ix_(mask, mask)]
    return float(knn_accuracy(sub, labels[mask], k))


def layout_2d(embeddings: np.ndarray, *, n_neighbors: int = 15, n_epochs: int = 200, seed: int = 0,
              method: str = "umap") -> np.ndarray:
    """2-D layout (m, 2) of L1 embeddings: UMAP from the exact chunked L1 kNN table, or a spectral layout.

    UMAP is seeded (``random_state=seed``, which also makes it single-threaded and deterministic). If umap-learn
    cannot be imported the spectral layout of the fuzzy kNN affinity is used.

    Parameters
    ----------
    embeddings : ndarray of shape (m, D)
    n_neighbors : int, default 15
    n_epochs : int, default 200
    seed : int, default 0
    method : {"umap", "spectral"}, default "umap"

    Returns
    -------
    ndarray of shape (m, 2)
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
    cost: Any = None
    exact: list = field(default_factory=list)
    approx: list = field(default_factory=list)
    exact_unbalanced: list = field(default_factory=list)
    approx_unbalanced: list = field(default_factory=list)


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
        return {m.name: 0.0 for m in declared_metrics(self.config)}

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
        self.metrics[acc_metric(name)] = _acc(dist, np.asarray(d.labels), mask, self.config.knn_k)
        if "area" in d.extra:
            self.metrics[acc_metric(name, coarse=True)] = _acc(dist, d.extra["area"], mask, self.config.knn_k)

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
            for i, v in enumerate(norms[: n_blocks(self.config)]):
                self.metrics[block_metric(i)] = float(v)
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
        return {"methods": list(METHODS), "accuracy": [self.metrics[acc_metric(m)] for m in METHODS]}

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
        out = {"umap": xy, "shown": shown, "layout": c.layout, "labels": [str(x) for x in st.data.labels],
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
        if n > EXACT_MAX_NODES:  # docs/papers/udemd.md §6: the LPs grow like N^3
            return {"exact_skipped": f"exact EMD is limited to graphs of <= {EXACT_MAX_NODES} nodes (this one has {n})"}
        x = d.signals
        mass = x.sum(axis=1)
        if st.pairs is None:  # random pairs of signals with positive mass (a balanced EMD needs both shapes)
            rng = numpy_generator(derive_seed(c.seed, "pairs"))
            pos = np.flatnonzero(mass > 0)
            ii, jj = np.triu_indices(len(pos), 1)
            sel = rng.permutation(len(ii))
            st.pairs = np.stack([pos[ii[sel]], pos[jj[sel]]], axis=1)
            st.cost = exact.geodesic_costs(d.adjacency)
        batch = st.pairs[len(st.exact): len(st.exact) + c.pairs_per_step]
        if len(batch) == 0:
            return {}
        shapes = x / np.maximum(mass, 1e-300)[:, None]
        t0 = time.perf_counter()
        bal = exact.pairwise_exact(shapes, batch, st.cost)
        st.times.setdefault("exact", []).append((time.perf_counter() - t0) / len(batch))
        unb = exact.pairwise_exact(x, batch, st.cost, lam=float(st.cost.max()))
        st.exact.extend(bal.tolist())
        st.approx.extend(st.dist["balanced"][batch[:, 0], batch[:, 1]].tolist())
        st.exact_unbalanced.extend(unb.tolist())
        st.approx_unbalanced.extend(st.dist["udemd"][batch[:, 0], batch[:, 1]].tolist())
        ex, ap = np.array(st.exact), np.array(st.approx)
        exu, apu = np.array(st.exact_unbalanced), np.array(st.approx_unbalanced)
        if len(ex) >= MIN_SPEARMAN_PAIRS:
            self.metrics["exact_spearman"] = _rank_corr(ex, ap, spearmanr)
            self.metrics["exact_pearson"] = _rank_corr(ex, ap, pearsonr)
            self.metrics["exact_spearman_unbalanced"] = _rank_corr(exu, apu, spearmanr)
        per_pair = float(np.median(st.times["exact"]))
        ours = st.times["operator"] + st.times["embed_udemd"] + st.times["dist_udemd"]
        self.metrics["exact_pairs"] = float(len(ex))
        self.metrics["time_exact_per_pair_s"] = per_pair
        self.metrics["speedup_vs_exact"] = per_pair * m * (m - 1) / 2 / max(ours, 1e-9)
        return {"exact": ex, "approx": ap, "exact_unbalanced": exu, "approx_unbalanced": apu,
                "pairs": st.pairs[: len(ex)]}

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
        self.metrics["stage"] = float(min(k, EXACT_STAGE))
        self._k += 1
        return Record(step=k, metrics={key: float(v) for key, v in self.metrics.items()}, artifacts=art)

    # ------------------------------------------------------------------------------------------ access
    def embedding(self, name: str = "udemd") -> np.ndarray:
        """The embedding of ``name`` ("udemd" or "balanced") computed so far, shape (m, N·S)."""
        return self.state.emb[name]

    def distances(self, name: str) -> np.ndarray:
        """The distance matrix of method ``name`` (a key of ``METHODS``) computed so far, shape (m, m)."""
        return self.state.dist[name]


def build(config: Config) -> UdemdExperiment:
    """Build the experiment for ``config``.

    Parameters
    ----------
    config : Config

    Returns
    -------
    UdemdExperiment
    """
    return UdemdExperiment(config)


def timing_vs_signals(
    data: ds.GraphSignals, sizes: Sequence[int], *, max_scale: int = 10, n_exact_pairs: int = 20, seed: int = 0,
    balanced: bool = True,
) -> list[dict]:
    """Wall time of all-pairs distances against the number of signals m (figure F1, right panel).

    UDEMD is timed end to end (fit + transform + all-pairs L1) for each m in ``sizes``. Exact EMD is timed on
    ``n_exact_pairs`` random pairs and scaled to m (m - 1) / 2 pairs (rows marked ``extrapolated``).

    Parameters
    ----------
    data : GraphSignals
        Graph (N, N) and signals (m_max, N).
    sizes : sequence of int
        Numbers of signals m to time (clipped to m_max).
    max_scale : int, default 10
    n_exact_pairs : int, default 20
    seed : int, default 0
    balanced : bool, default True
        Normalise the signals and time ``ot.emd2``; else time the dummy-node unbalanced LP.

    Returns
    -------
    list of dict
        Keys ``method``, ``n_signals``, ``seconds``, ``extrapolated``.
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
        rows.append({"method": f"exact EMD (POT), scaled from {n_exact_pairs} timed pairs", "n_signals": m,
                     "seconds": per_pair * m * (m - 1) / 2, "extrapolated": True})
    return rows


def pipeline_steps(n_nodes: int, pairs_per_step: int, exact_pairs: int = 30) -> int:
    """Steps of a run over given data: the six pipeline stages, then exact EMD on up to ``exact_pairs`` pairs.

    Uploads get exact EMD only on graphs of <= 1000 nodes and on <= 500 pairs (``docs/papers/udemd.md §8``).

    Parameters
    ----------
    n_nodes : int
        Nodes of the graph.
    pairs_per_step : int
        Exact pairs per step (``Config.pairs_per_step``).
    exact_pairs : int, default 30

    Returns
    -------
    int
        Between 6 and 60 (the bounds of ``Config.n_steps``).
    """
    n_exact = min(exact_pairs, 500) if n_nodes <= 1000 else 0
    steps = EXACT_STAGE + math.ceil(n_exact / max(pairs_per_step, 1))
    return min(max(steps, EXACT_STAGE), 60)


def analyse(data: ds.GraphSignals, config: Config, *, exact_pairs: int = 30) -> tuple[list[Record], UdemdExperiment]:
    """Run the whole pipeline on given graph signals (uploads), with :func:`pipeline_steps` steps.

    Parameters
    ----------
    data : GraphSignals
        Graph (N, N) and signals (m, N).
    config : Config
        Settings; ``n_steps`` is replaced, ``dataset`` is ignored.
    exact_pairs : int, default 30

    Returns
    -------
    records : list of Record
    experiment : UdemdExperiment
        Finished; its ``embedding()`` and ``distances()`` stay available.
    """
    steps = pipeline_steps(data.adjacency.shape[0], config.pairs_per_step, exact_pairs)
    exp = UdemdExperiment(replace(config, n_steps=steps), data=data)
    records = []
    while not exp.done:
        records.append(exp.step())
    return records, exp
