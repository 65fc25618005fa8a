"""UDEMD: Unbalanced Diffusion Earth Mover's Distance for signals on graphs (arXiv:2107.12334).

Public names: :class:`UnbalancedDiffusionEMD` (scikit-learn style transformer), :func:`udemd_embedding`
(functional form), :func:`udemd_distances`, :func:`knn_l1`, :func:`knn_affinity`, :func:`knn_accuracy`, and
``SPEC``, the paper's spec for the registry. Oracles live in :mod:`neurodyn.udemd.exact`, data in
:mod:`neurodyn.udemd.datasets`, uploads in :mod:`neurodyn.udemd.io`, the experiment in
:mod:`neurodyn.udemd.experiment`, its claim checks in :mod:`neurodyn.udemd.claims`. Nothing heavy (scanpy, umap,
streamlit) is imported here. The project's account of the paper: ``docs/papers/udemd.md``.
"""
from __future__ import annotations

from neurodyn.core.spec import Claim, ExperimentSpec, PaperSpec
from neurodyn.udemd.claims import (
    KNN_MARGIN,
    SPEARMAN_MIN,
    SPEEDUP_MIN,
    knn_rule,
    spearman_rule,
    speed_rule,
    unbalanced_spearman_rule,
)
from neurodyn.udemd.distances import cosine_distances, knn_accuracy, knn_affinity, knn_l1, udemd_distances
from neurodyn.udemd.experiment import METRICS, PRESETS, Config, build, warm_up
from neurodyn.udemd.operator import udemd_embedding
from neurodyn.udemd.transformer import UnbalancedDiffusionEMD

__all__ = [
    "SPEC",
    "UnbalancedDiffusionEMD",
    "udemd_embedding",
    "udemd_distances",
    "knn_l1",
    "knn_affinity",
    "knn_accuracy",
    "cosine_distances",
]

_MSEMD = ("[R] atong01/MultiscaleEMD, notebooks/comparison_analysis.ipynb, cell 3: Diffusion EMD against exact EMD on "
          "an S-curve, 50 distributions, seed 0. A later benchmark by the same lab, not a number of the UDEMD paper")

SPEC = PaperSpec(
    key="udemd",
    arxiv="2107.12334",
    title="Embedding Signals on Graphs with Unbalanced Diffusion EMD",
    claim="Multiscale graph diffusion gives an L1 embedding whose distances approximate an unbalanced earth mover's "
    "distance between signals, fast enough to embed thousands of them.",
    short="UDEMD",
    icon="🕸️",
    experiments=(
        ExperimentSpec(name="udemd", title="UDEMD: unbalanced diffusion EMD embeddings of signals on graphs",
                       config_cls=Config, presets=PRESETS, build=build, metrics=METRICS),
    ),
    claims=(
        Claim(key="spearman",
              text=f"Balanced diffusion EMD ranks pairs of signals like exact EMD: Spearman correlation ≥ "
              f"{SPEARMAN_MIN:.2f} between the embedding's L1 distances and exact EMD (POT) on random pairs.",
              source=f"{_MSEMD}; the threshold {SPEARMAN_MIN:.2f} is the project's (docs/papers/udemd.md §7)",
              paper_value="0.783 [R] (MultiscaleEMD repository, S-curve; not the UDEMD paper)",
              experiment="udemd", rule=spearman_rule),
        Claim(key="speed",
              text=f"The embedding is at least {SPEEDUP_MIN:g}× faster than exact EMD over all pairs of the run's "
              "signals (operator, embedding and all L1 distances against the measured time per exact pair).",
              source=f"[A] abstract ('highly efficient compared to other methods'); {_MSEMD}; the {SPEEDUP_MIN:g}× "
              "threshold is the project's (docs/papers/udemd.md §7)",
              paper_value="about 31× [R] (0.105 s against 3.27 s; MultiscaleEMD repository, S-curve, 50 "
              "distributions; not the UDEMD paper)",
              experiment="udemd", rule=speed_rule),
        Claim(key="knn",
              text=f"The UDEMD embedding is accurate: its kNN label accuracy is at least the best other method's "
              f"(balanced DEMD, L1 or cosine on the raw signals) minus {KNN_MARGIN:.2f}.",
              source=f"[A] abstract ('accurate distances'); the kNN test and its {KNN_MARGIN:.2f} margin are the "
              "project's (docs/papers/udemd.md §7)",
              paper_value=None, experiment="udemd", rule=knn_rule),
        Claim(key="unbalanced_spearman",
              text=f"UDEMD ranks pairs of unequal-mass signals like the exact unbalanced EMD (mass created or "
              f"destroyed at a price λ = the graph's hop diameter): Spearman ≥ {SPEARMAN_MIN:.2f}.",
              source="[A] abstract (accurate unbalanced distances); the total-variation unbalanced OT oracle and λ "
              "are the project's reconstruction (docs/papers/udemd.md §2)",
              paper_value=None, experiment="udemd", rule=unbalanced_spearman_rule),
    ),
    warmup=warm_up,  # umap-learn's import and numba JIT (about 20-45 s cold)
)
