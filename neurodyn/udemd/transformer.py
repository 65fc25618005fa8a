"""scikit-learn style shell over :mod:`neurodyn.udemd.operator` (UDEMD, arXiv:2107.12334).

``UnbalancedDiffusionEMD().fit(adjacency).transform(signals)`` maps (m, N) non-negative signals on an N-node
graph to (m, N*S) embeddings whose pairwise L1 distances are the (U)DEMD distances. The method is called
``fit(adjacency)`` (not ``fit(X)``) on purpose: the graph is fitted, the signals are transformed.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from neurodyn.core.seeding import resolve_device
from neurodyn.udemd import operator as ops

__all__ = ["UnbalancedDiffusionEMD"]

_METHODS = ("exact", "dense", "sparse", "cheb")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class UnbalancedDiffusionEMD(TransformerMixin, BaseEstimator):
    """Unbalanced Diffusion EMD embedding of signals on a fixed graph.

    Parameters
    ----------
    n_scales : int, default 6
        S, the number of retained dyadic scales (the S largest of 2^0..2^K; clipped to K + 1).
    max_scale : int or "auto", default "auto"
        K, the largest scale is 2^K. "auto": clip(ceil(2 log2(hop diameter)), 4, 12).
    alpha : float, default 0.5
        Band weight exponent; ground distance is geodesic^(2 alpha). Must be in (0, 1].
    anisotropy : float, default 1.0
        Coifman-Lafon density normalisation a in [0, 1].
    lazy : bool or "auto", default "auto"
        Add self-loops (A + I) before building the walk. "auto" (the default) is the lazy walk on every graph:
        a graph that is bipartite, or only nearly so (a tree with a few cross-links, a grid with a few
        shortcuts), has a walk eigenvalue near -1 whose mode never mixes, and adding the loops costs nothing
        measurable elsewhere (``docs/papers/udemd.md §3``). ``False`` gives the reference DiffusionCheb's walk.
    lowpass_weight : float, default 1.0
        gamma, weight of the low-pass block that prices mass creation/destruction (extension; 1 = reference).
    balanced : bool, default False
        Divide each signal by its mass first (balanced Diffusion EMD); zero-mass signals are then rejected.
    method : {"exact", "dense", "sparse", "cheb"}, default "exact"
        "exact" picks dense repeated squaring (N <= 2000 on CPU) or sparse iteration; "cheb" uses a Chebyshev
        polynomial of order ``cheb_order`` (exact for scales <= order).
    cheb_order : int, default 128
        J, Chebyshev order; J >= 4 sqrt(2^K) keeps block errors below 1e-2.
    dtype : {"float32", "float64"}, default "float32"
    device : str, default "auto"
        "auto", "cpu" or "cuda".

    Attributes
    ----------
    adjacency_ : scipy.sparse.csr_matrix (N, N), validated and symmetrised input.
    operator_ : DiffusionOperator
    n_nodes_ : int
    max_scale_ : int
    lazy_ : bool
    scales_ : ndarray of shape (S,), the retained diffusion times 2^k.
    route_ : str, "dense", "sparse" or "cheb".
    n_features_out_ : int, N * S.
    """

    def __init__(
        self,
        n_scales: int = 6,
        max_scale: int | str = "auto",
        alpha: float = 0.5,
        anisotropy: float = 1.0,
        lazy: bool | str = "auto",
        lowpass_weight: float = 1.0,
        balanced: bool = False,
        method: str = "exact",
        cheb_order: int = 128,
        dtype: str = "float32",
        device: str = "auto",
    ):
        self.n_scales = n_scales
        self.max_scale = max_scale
        self.alpha = alpha
        self.anisotropy = anisotropy
        self.lazy = lazy
        self.lowpass_weight = lowpass_weight
        self.balanced = balanced
        self.method = method
        self.cheb_order = cheb_order
        self.dtype = dtype
        self.device = device

    # ------------------------------------------------------------------------------------------ params
    def _check_params(self) -> None:
        if not isinstance(self.n_scales, (int, np.integer)) or self.n_scales < 1:
            raise ValueError(f"n_scales must be an integer >= 1, got {self.n_scales!r}")
        if self.max_scale != "auto" and (
            not isinstance(self.max_scale, (int, np.integer)) or not 0 <= self.max_scale <= 20
        ):
            raise ValueError(f"max_scale must be 'auto' or an integer in [0, 20], got {self.max_scale!r}")
        if not 0 < float(self.alpha) <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha!r}")
        if not 0 <= float(self.anisotropy) <= 1:
            raise ValueError(f"anisotropy must be in [0, 1], got {self.anisotropy!r}")
        if self.lazy not in ("auto", True, False):
            raise ValueError(f"lazy must be 'auto', True or False, got {self.lazy!r}")
        if not np.isfinite(self.lowpass_weight) or self.lowpass_weight < 0:
            raise ValueError(f"lowpass_weight must be finite and >= 0, got {self.lowpass_weight!r}")
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}")
        if not isinstance(self.cheb_order, (int, np.integer)) or self.cheb_order < 2:
            raise ValueError(f"cheb_order must be an integer >= 2, got {self.cheb_order!r}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    # ------------------------------------------------------------------------------------------ fit
    def fit(self, adjacency, y=None) -> "UnbalancedDiffusionEMD":
        """Validate the graph and build the diffusion operator.

        Parameters
        ----------
        adjacency : array-like or scipy sparse of shape (N, N)
            Symmetric non-negative affinities of a connected graph without isolated nodes.
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        a = ops.validate_adjacency(adjacency)
        device = resolve_device(self.device)
        dtype = _DTYPES[self.dtype]
        self.adjacency_ = a
        self.n_nodes_ = a.shape[0]
        self.max_scale_ = ops.auto_max_scale(a) if self.max_scale == "auto" else int(self.max_scale)
        self.lazy_ = ops.resolve_lazy(self.lazy)
        self.exponents_ = ops.retained_scales(self.max_scale_, int(self.n_scales))
        self.scales_ = 2 ** self.exponents_
        self.route_ = ops.choose_route(self.n_nodes_, device) if self.method == "exact" else self.method
        self.device_ = device
        self.operator_ = ops.build_operator(a, anisotropy=self.anisotropy, lazy=self.lazy_, dtype=dtype, device=device)
        self.powers_ = ops.dense_powers(self.operator_, self.exponents_) if self.route_ == "dense" else None
        self.cheb_lower_ = ops.spectrum_lower_bound(self.operator_) if self.route_ == "cheb" else -1.0
        self.n_features_out_ = self.n_nodes_ * len(self.exponents_)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "operator_"):
            raise NotFittedError("UnbalancedDiffusionEMD is not fitted yet; call fit(adjacency) first")

    def check_signals(self, signals) -> np.ndarray:
        """Validate (m, N) signals; return them as float64 (balanced mode: divided by their masses)."""
        self._check_fitted()
        x = signals.toarray() if sp.issparse(signals) else np.asarray(signals)
        if x.dtype == object or not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"signals must be numeric, got dtype {x.dtype}")
        x = np.atleast_2d(x.astype(np.float64))
        if x.ndim != 2 or x.shape[1] != self.n_nodes_:
            raise ValueError(f"signals must have shape (m, {self.n_nodes_}) (one column per node), got {x.shape}")
        if not np.all(np.isfinite(x)):
            r, c = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(f"signals contain NaN/inf, first at signal {r}, node {c}; expected finite values")
        if x.size and x.min() < 0:
            r, c = np.unravel_index(int(np.argmin(x)), x.shape)
            raise ValueError(
                f"signals must be non-negative, got {x[r, c]:g} at signal {r}, node {c} (scaled data uploaded?)"
            )
        if self.balanced:
            mass = x.sum(axis=1, keepdims=True)
            zero = np.flatnonzero(mass.ravel() <= 0)
            if zero.size:
                raise ValueError(f"balanced mode needs positive mass; signal {int(zero[0])} sums to 0")
            x = x / mass
        return x

    def snapshots(self, signals) -> list[torch.Tensor]:
        """The S diffused snapshots (P^T)^(s_i) Y, each a tensor of shape (N, m)."""
        x = self.check_signals(signals)
        y = torch.as_tensor(np.ascontiguousarray(x.T), dtype=_DTYPES[self.dtype], device=self.device_)  # (N, m)
        return ops.diffusion_snapshots(
            self.operator_, y, self.exponents_, route=self.route_,
            powers=self.powers_,
            cheb_order=self.cheb_order,
            cheb_lower=self.cheb_lower_,
        )

    def transform(self, signals) -> np.ndarray:
        """Embed signals.

        Parameters
        ----------
        signals : array-like or scipy sparse of shape (m, N), non-negative, finite.

        Returns
        -------
        ndarray of shape (m, N*S); L1 distances between rows are the UDEMD distances.
        """
        snaps = self.snapshots(signals)
        return ops.embed_snapshots(snaps, float(self.alpha), float(self.lowpass_weight)).cpu().numpy()

    def block_norms(self, embeddings: np.ndarray) -> np.ndarray:
        """Mean L1 norm per block (S,) of embeddings (m, N*S): the mass in each band and the low-pass."""
        self._check_fitted()
        e = np.asarray(embeddings).reshape(len(embeddings), len(self.exponents_), self.n_nodes_)  # (m, S, N)
        return np.abs(e).sum(axis=2).mean(axis=0)
