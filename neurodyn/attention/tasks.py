"""The contextual-retrieval toy task of compositional attention (arXiv:2110.09419), vectorised in torch.

``docs/papers/attention.md §3`` ("the contextual retrieval task"). Symbols and code names:

=====================  =======================  ==============================================
symbol                 code                     shape / meaning
=====================  =======================  ==============================================
N                      ``n_tokens``             tokens per sequence
s_gt, r_gt             ``n_search_gt``,         ground-truth searches and retrieval features
                       ``n_retrieval_gt``
x_n                    ``features``             (B, N, s_gt + r_gt), N(0, 1)
t_{n,g}                ``tasks``                (B, N, s_gt), task of token n for search g
j_{n,g}                ``neighbours``           (B, N, s_gt), argmin_{m != n} |x_m[g] - x_n[g]|
c_g                    ``coefficients``         (s_gt,), first entries of :data:`COEFFICIENTS`
y_n                    ``y``                    (B, N), sum_g c_g x_{j_{n,g}}[s_gt + t_{n,g}]
=====================  =======================  ==============================================

The model input is ``[x_n ; one_hot(t_{n,1}) ; ... ; one_hot(t_{n,s_gt})]`` of width s_gt + r_gt + s_gt r_gt.
All randomness comes from the ``torch.Generator`` passed in.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "COEFFICIENTS",
    "ContextualRetrievalBatch",
    "task_combinations",
    "ood_split",
    "contextual_retrieval_batch",
    "input_width",
    "zero_predictor_l1",
]

#: The fixed coefficient list of the reference data generator (drawn once from U(-1, 1)); c_g = COEFFICIENTS[g].
COEFFICIENTS: tuple[float, ...] = (
    -0.71347752, -0.6062312, 0.66062073, -0.61213017, -0.82631877,
    0.75908621, -0.36274866, 0.84383333, -0.37908235, 0.46539368,
)


@dataclass(frozen=True)
class ContextualRetrievalBatch:
    """One batch of the contextual-retrieval task.

    Attributes
    ----------
    x : Tensor, shape (B, N, s_gt + r_gt + s_gt * r_gt)
        Model input: features then the task one-hots.
    y : Tensor, shape (B, N)
        Target per token.
    features : Tensor, shape (B, N, s_gt + r_gt)
        Search features (first s_gt) and retrieval features (last r_gt).
    tasks : LongTensor, shape (B, N, s_gt)
        Task t_{n,g} in ``0..r_gt-1``.
    neighbours : LongTensor, shape (B, N, s_gt)
        Ground-truth neighbour j_{n,g} of token n for search g.
    """

    x: Tensor
    y: Tensor
    features: Tensor
    tasks: Tensor
    neighbours: Tensor


def _check_sizes(n_tokens: int, n_search_gt: int, n_retrieval_gt: int) -> None:
    if n_tokens < 2:
        raise ValueError(f"n_tokens must be >= 2 (a token needs another token to find), got {n_tokens}")
    if not 1 <= n_search_gt <= len(COEFFICIENTS):
        raise ValueError(f"n_search_gt must be in 1..{len(COEFFICIENTS)}, got {n_search_gt}")
    if n_retrieval_gt < 1:
        raise ValueError(f"n_retrieval_gt must be >= 1, got {n_retrieval_gt}")


def input_width(n_search_gt: int, n_retrieval_gt: int) -> int:
    """Width of the model input: ``s_gt + r_gt + s_gt * r_gt``."""
    return n_search_gt + n_retrieval_gt + n_search_gt * n_retrieval_gt


def task_combinations(n_search_gt: int, n_retrieval_gt: int) -> list[tuple[int, ...]]:
    """All ``r_gt ** s_gt`` task combinations (t_1, ..., t_{s_gt}) in ``itertools.product`` order."""
    return list(itertools.product(range(n_retrieval_gt), repeat=n_search_gt))


def ood_split(n_search_gt: int, n_retrieval_gt: int) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Split the task combinations into in-distribution (train) and out-of-distribution (test) sets.

    Train takes the even-indexed combinations (product order) and test the odd ones; while train holds
    fewer than ``floor(0.8 * total)`` combinations, the first test combinations move to train.

    Returns
    -------
    train, test : list of tuple of int

    Raises
    ------
    ValueError
        When the split leaves no test combination (r_gt ** s_gt too small), instead of crashing later
        (the reference code fails here, ``docs/papers/attention.md §5``).

    Examples
    --------
    >>> ood_split(2, 2)
    ([(0, 0), (1, 0), (0, 1)], [(1, 1)])
    """
    combos = task_combinations(n_search_gt, n_retrieval_gt)
    train, test = combos[0::2], combos[1::2]
    need = math.floor(0.8 * len(combos))
    while len(train) < need and test:
        train.append(test.pop(0))
    if not test:
        raise ValueError(
            f"no out-of-distribution combination is left for n_search_gt={n_search_gt}, "
            f"n_retrieval_gt={n_retrieval_gt}; the OOD split needs r_gt ** s_gt > {len(combos)}"
        )
    return train, test


def contextual_retrieval_batch(
    batch_size: int,
    n_tokens: int = 10,
    n_search_gt: int = 2,
    n_retrieval_gt: int = 2,
    *,
    generator: torch.Generator,
    coefficients: bool = True,
    combinations: list[tuple[int, ...]] | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> ContextualRetrievalBatch:
    """Draw one batch of the contextual-retrieval task.

    Parameters
    ----------
    batch_size, n_tokens, n_search_gt, n_retrieval_gt : int
        B, N, s_gt, r_gt.
    generator : torch.Generator
        The only source of randomness (on ``device``).
    coefficients : bool
        Use the fixed c_g (default); False sets every c_g = 1 (``--no-coeff``).
    combinations : list of tuple, optional
        Allowed task combinations per token (e.g. one side of :func:`ood_split`); each token draws one
        uniformly. Default: every task of every search independently uniform.
    device, dtype
        Where and in which float type the batch is made.

    Returns
    -------
    ContextualRetrievalBatch
    """
    _check_sizes(n_tokens, n_search_gt, n_retrieval_gt)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    B, N, s, r = batch_size, n_tokens, n_search_gt, n_retrieval_gt
    feats = torch.randn(B, N, s + r, generator=generator, device=device, dtype=dtype)  # (B, N, s+r)
    if combinations is None:
        tasks = torch.randint(0, r, (B, N, s), generator=generator, device=device)  # (B, N, s)
    else:
        table = torch.as_tensor(combinations, device=device, dtype=torch.long)  # (n_combos, s)
        if table.dim() != 2 or table.shape[1] != s or table.min() < 0 or table.max() >= r:
            raise ValueError(f"combinations must be tuples of {s} tasks in 0..{r - 1}, got {combinations!r}")
        pick = torch.randint(0, table.shape[0], (B, N), generator=generator, device=device)
        tasks = table[pick]  # (B, N, s)

    # neighbours: nearest other token on each search feature
    search = feats[..., :s].transpose(1, 2)  # (B, s, N)
    dist = (search.unsqueeze(-1) - search.unsqueeze(-2)).abs()  # (B, s, N, N): |x_n[g] - x_m[g]|
    dist.diagonal(dim1=-2, dim2=-1).fill_(float("inf"))  # a token cannot find itself
    neighbours = dist.argmin(-1).transpose(1, 2)  # (B, N, s)

    # y_n = sum_g c_g x_{j_{n,g}}[s + t_{n,g}]
    values = feats[..., s:]  # (B, N, r)
    batch_idx = torch.arange(B, device=device).view(B, 1, 1)
    picked = values[batch_idx, neighbours, tasks]  # (B, N, s)
    coef = torch.tensor(COEFFICIENTS[:s] if coefficients else (1.0,) * s, device=device, dtype=dtype)
    y = (picked * coef).sum(-1)  # (B, N)

    onehots = torch.nn.functional.one_hot(tasks, r).to(dtype).reshape(B, N, s * r)  # (B, N, s*r), search-major
    x = torch.cat([feats, onehots], dim=-1)  # (B, N, s + r + s*r)
    return ContextualRetrievalBatch(x=x, y=y, features=feats, tasks=tasks, neighbours=neighbours)


def zero_predictor_l1(
    n_tokens: int = 10, n_search_gt: int = 2, n_retrieval_gt: int = 2, *, coefficients: bool = True
) -> float:
    """Closed-form E|y|, the L1 loss of always predicting 0 (``docs/papers/attention.md §3``), for s_gt in {1, 2}.

    s_gt = 1: ``sqrt(2/pi) |c_1|``. s_gt = 2: the two retrieved values are independent N(0, 1) unless both
    searches hit the same neighbour and the same feature (probability ``p = 1 / ((N-1) r_gt)``), so
    ``E|y| = sqrt(2/pi) [(1-p) sqrt(c_1^2 + c_2^2) + p |c_1 + c_2|]``: 0.764 with coefficients, 1.154 without
    (N = 10, r_gt = 2).

    Examples
    --------
    >>> round(zero_predictor_l1(10, 2, 2), 3), round(zero_predictor_l1(10, 2, 2, coefficients=False), 3)
    (0.764, 1.154)
    """
    _check_sizes(n_tokens, n_search_gt, n_retrieval_gt)
    c = COEFFICIENTS[:n_search_gt] if coefficients else (1.0,) * n_search_gt
    k = math.sqrt(2.0 / math.pi)
    if n_search_gt == 1:
        return k * abs(c[0])
    if n_search_gt == 2:
        p = 1.0 / ((n_tokens - 1) * n_retrieval_gt)
        return k * ((1 - p) * math.hypot(c[0], c[1]) + p * abs(c[0] + c[1]))
    raise ValueError(f"the closed form covers n_search_gt in (1, 2), got {n_search_gt}; use mean |y| of a batch")
