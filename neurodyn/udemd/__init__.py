"""UDEMD: Unbalanced Diffusion Earth Mover's Distance for signals on graphs (arXiv:2107.12334).

Public names: :class:`UnbalancedDiffusionEMD` (scikit-learn style transformer), :func:`udemd_embedding`
(functional form), :func:`udemd_distances`, :func:`knn_l1`, :func:`knn_affinity`, :func:`knn_accuracy`.
Oracles live in :mod:`neurodyn.udemd.exact`, data in :mod:`neurodyn.udemd.datasets`, uploads in
:mod:`neurodyn.udemd.io`. Nothing heavy (scanpy, umap, streamlit) is imported here.
"""
from __future__ import annotations

from neurodyn.udemd.distances import cosine_distances, knn_accuracy, knn_affinity, knn_l1, udemd_distances
from neurodyn.udemd.operator import udemd_embedding
from neurodyn.udemd.transformer import UnbalancedDiffusionEMD

__all__ = [
    "UnbalancedDiffusionEMD",
    "udemd_embedding",
    "udemd_distances",
    "knn_l1",
    "knn_affinity",
    "knn_accuracy",
    "cosine_distances",
]
