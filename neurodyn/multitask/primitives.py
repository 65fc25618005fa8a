"""Latent primitives: the latent bank of the task corpus and its principal components (``docs/papers/multitask.md §2``).

The modules of the MoLaP network are pre-trained on targets derived from the inputs of the whole task corpus, never
from the tasks' answers. :func:`latent_bank` maps an input sequence (fixation, cos/sin of modality 1, cos/sin of
modality 2) to 13 running features per time step: the fixation input and, per modality, the current stimulus vector,
the last stimulus vector whose length exceeded a threshold (a memory that holds through delays, 0 until the first
one), and the running sum of the stimulus vectors times 0.1 (an integrator, as the decision tasks need). Its principal
components over all trials and time steps (:func:`fit_pca`, a mean-centred SVD in float64) are the primitives: module
m learns to output components 2m and 2m + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["LATENT_NAMES", "latent_bank", "PCA", "fit_pca"]

_FEATURES = ("current stimulus", "remembered stimulus", "running sum of stimuli")
LATENT_NAMES: tuple[str, ...] = ("fixation input",) + tuple(
    f"modality {m} {feature} ({axis})" for m in (1, 2) for feature in _FEATURES for axis in ("cos", "sin"))
"""The 13 columns of :func:`latent_bank`: the fixation input, then per modality (1, 2) the current stimulus vector,
the remembered one and the running sum x 0.1, each as (cos, sin)."""

SUM_SCALE = 0.1


def latent_bank(inputs: Tensor, threshold: float = 0.3) -> Tensor:
    """The 13-dim latent bank L(t) of a batch of input sequences (``docs/papers/multitask.md §2``).

    Columns (see :data:`LATENT_NAMES`): 0 the fixation input; for modality m = 1, 2 (inputs 1:3 and 3:5), at offset
    1 + 6 (m - 1): the current stimulus vector s(t) (2), the memory (2) = s(t') for the last t' <= t with
    |s(t')| > threshold (0 before the first such step), and 0.1 sum_{t' <= t} s(t') (2). Vectorised over the batch and
    time (the memory is a running maximum of "last index above threshold").

    Parameters
    ----------
    inputs : Tensor, shape (B, T, 5)
        Fixation, cos/sin of modality 1, cos/sin of modality 2 (scaled by the stimulus strength).
    threshold : float, default 0.3
        Euclidean length above which a stimulus vector is stored in memory (>= 0).

    Returns
    -------
    Tensor, shape (B, T, 13)
        In the dtype of ``inputs``.

    Examples
    --------
    >>> x = torch.zeros(1, 3, 5); x[0, 0, 1] = 1.0  # a stimulus at angle 0 in modality 1, then nothing
    >>> latent_bank(x)[0, :, 1:7]  # current, remembered, 0.1 x running sum
    tensor([[1.0000, 0.0000, 1.0000, 0.0000, 0.1000, 0.0000],
            [0.0000, 0.0000, 1.0000, 0.0000, 0.1000, 0.0000],
            [0.0000, 0.0000, 1.0000, 0.0000, 0.1000, 0.0000]])
    """
    if inputs.dim() != 3 or inputs.shape[-1] != 5:
        raise ValueError(f"inputs must have shape (B, T, 5) (fixation + two 2-d modalities), got {tuple(inputs.shape)}")
    if not float(threshold) >= 0.0:
        raise ValueError(f"threshold must be >= 0, got {threshold!r}")
    b, steps, _ = inputs.shape
    columns = [inputs[..., :1]]
    time_index = torch.arange(steps, device=inputs.device).expand(b, steps)
    for start in (1, 3):
        stim = inputs[..., start:start + 2]  # (B, T, 2)
        above = torch.linalg.vector_norm(stim, dim=-1) > threshold
        last = torch.where(above, time_index, torch.full_like(time_index, -1)).cummax(dim=1).values  # (B, T)
        held = torch.gather(stim, 1, last.clamp(min=0).unsqueeze(-1).expand(b, steps, 2))
        memory = torch.where((last >= 0).unsqueeze(-1), held, torch.zeros_like(held))
        columns += [stim, memory, SUM_SCALE * torch.cumsum(stim, dim=1)]
    return torch.cat(columns, dim=-1)


@dataclass(frozen=True)
class PCA:
    """Principal components of a set of samples (float64).

    Attributes
    ----------
    mean : Tensor, shape (D,)
    components : Tensor, shape (D, D)
        Orthonormal rows, sorted by decreasing variance; each row's largest-magnitude entry is positive (a fixed
        sign convention).
    explained_variance_ratio : Tensor, shape (D,)
        Variance along each component over the total variance (sums to 1 over all D components).
    """

    mean: Tensor
    components: Tensor
    explained_variance_ratio: Tensor

    def transform(self, x: Tensor, k: int) -> Tensor:
        """Coordinates of ``x`` on the first ``k`` components.

        Parameters
        ----------
        x : Tensor, shape (..., D)
        k : int
            In [1, D].

        Returns
        -------
        Tensor, shape (..., k)
            (x - mean) @ components[:k].T, computed in float64 and returned in x's floating dtype.
        """
        dim = self.components.shape[0]
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= dim:
            raise ValueError(f"k (number of components) must be an integer in [1, {dim}], got {k!r}")
        if x.shape[-1] != dim:
            raise ValueError(f"x must end in the fitted dimension D = {dim}, got shape {tuple(x.shape)}")
        out = (x.to(torch.float64) - self.mean.to(x.device)) @ self.components[:k].to(x.device).T
        return out.to(x.dtype) if x.is_floating_point() else out


def fit_pca(samples: Tensor) -> PCA:
    """PCA by the SVD of the mean-centred samples, in float64.

    Parameters
    ----------
    samples : Tensor, shape (S, D)
        S >= 2 samples, not all equal.

    Returns
    -------
    PCA
        Float64 tensors on the samples' device. With S < D the trailing D - S + 1 components span the null space of
        the centred samples (ratio 0).
    """
    if samples.dim() != 2 or samples.shape[0] < 2 or samples.shape[1] < 1:
        raise ValueError(f"samples must have shape (S, D) with S >= 2 and D >= 1, got {tuple(samples.shape)}")
    x = samples.to(torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("samples must be finite (found NaN or inf)")
    mean = x.mean(dim=0)
    # vh (D, D), rows sorted by singular value; the thin SVD when S >= D (the full one would form an S x S factor)
    _, singular, vh = torch.linalg.svd(x - mean, full_matrices=x.shape[0] < x.shape[1])
    dim = x.shape[1]
    variance = torch.zeros(dim, dtype=torch.float64, device=x.device)
    variance[:singular.shape[0]] = singular.pow(2)
    total = variance.sum()
    if not bool(total > 0):
        raise ValueError("samples have zero variance: all rows are equal, there are no components to find")
    pivot = vh.abs().argmax(dim=1, keepdim=True)
    signs = torch.sign(torch.gather(vh, 1, pivot))
    signs[signs == 0] = 1.0
    return PCA(mean=mean, components=vh * signs, explained_variance_ratio=variance / total)
