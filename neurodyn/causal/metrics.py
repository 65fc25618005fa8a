"""Latent-prediction ranking metrics of the causal-induction benchmark (Ke et al. 2021, paper card §2.7 and §6).

Every test path i gives a prediction ``pred_i`` (the rolled-out latent) and a target ``target_i`` (the encoding of the
true final image). With D[i, j] = ||target_i - pred_j||^2 over the whole test set, the true pair's rank is one plus the
number of predictions that beat it:

* ``"paper"`` (the reference code): rank_i = 1 + #{j : D[i, j] < D[i, i]}. Ties go to the true pair, so a collapsed
  (constant) predictor scores Hits@1 = 1.
* ``"pessimistic"``: rank_i = 1 + #{j != i : D[i, j] <= D[i, i]}; the constant predictor gets Hits@1 = 0, MRR = 1/M.

With ground-truth state ids, competitors whose true state equals that of row i are skipped (de-duplication: with
static positions and few colours many paths end in the same state, and their predictions should not compete).

The reference evaluation sorts every row of the M x M matrix in a Python loop (``np.lexsort``, O(M^2 log M));
:func:`ranking_metrics` counts instead, in row chunks with torch (O(M^2) work, O(chunk * M) memory).
:func:`reference_ranks` is that simple sorting version, kept as the baseline for the tests and the benchmark.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["RULES", "ranking_metrics", "reference_ranks"]

RULES = ("paper", "pessimistic")


def _rows(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Both arrays as float64 (M, F) rows after checking that they match and are not empty."""
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}")
    if pred.dim() == 0 or pred.shape[0] == 0:
        raise ValueError("ranking needs at least one row (M >= 1)")
    m = pred.shape[0]
    return pred.detach().reshape(m, -1).double(), target.detach().reshape(m, -1).to(pred.device).double()


def ranking_metrics(pred: Tensor, target: Tensor, *, rule: str = "paper", state_ids: Tensor | None = None,
                    chunk_size: int = 64) -> dict[str, float]:
    """Hits@1 and mean reciprocal rank of every target among all predictions, by counting (no sort).

    Squared distances are screened in float32 through one matrix product per chunk; every entry within the
    screen's round-off bound of D[i, i] is recomputed pair by pair in float64 as ``((t_i − p_j)²).sum()``, the same
    formula as D[i, i] itself, so two identical vectors give bitwise identical distances and exact ties stay exact
    ties (a collapsed predictor makes every entry such a tie and takes the slow, exact path).

    Parameters
    ----------
    pred : Tensor, shape (M, ...)
        Predicted latents (e.g. ``WorldModel.rollout`` output, shape (M, N, D)); flattened per row.
    target : Tensor, shape (M, ...)
        Target latents, same shape as ``pred``.
    rule : {"paper", "pessimistic"}, default "paper"
        Tie rule (see the module docstring).
    state_ids : Tensor, shape (M,), optional
        Ground-truth state id of every target; a competitor j != i with ``state_ids[j] == state_ids[i]`` is skipped.
    chunk_size : int, default 64
        Rows of the distance matrix held at once: memory is O(chunk_size * M). Small chunks keep the screening's
        passes in the cache (M = 10,000: 0.66 s with 1024 rows, 0.49 s with 64, one thread).

    Returns
    -------
    dict with "hits_at_1" and "mrr", floats in [0, 1]

    Raises
    ------
    ValueError
        Unknown rule, mismatched shapes, M = 0, ``state_ids`` not of shape (M,), chunk_size < 1.

    Examples
    --------
    >>> z = torch.tensor([[0.0], [10.0]])
    >>> ranking_metrics(z, z)
    {'hits_at_1': 1.0, 'mrr': 1.0}
    >>> ranking_metrics(z.flip(0), z)
    {'hits_at_1': 0.0, 'mrr': 0.5}
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {RULES}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    p, t = _rows(pred, target)
    m = p.shape[0]
    if state_ids is not None:
        state_ids = torch.as_tensor(state_ids, device=p.device)
        if state_ids.shape != (m,):
            raise ValueError(f"state_ids must have shape ({m},), got {tuple(state_ids.shape)}")
    hits = torch.zeros((), dtype=torch.float64, device=p.device)
    reciprocal = torch.zeros((), dtype=torch.float64, device=p.device)
    with torch.no_grad():
        own = ((t - p) ** 2).sum(1)  # (M,) exact D[i, i], float64
        # Screening in float32 by the matrix-product expansion |t|² + |p|² − 2 t·p: its round-off is below
        # ``slack`` (a bound of (F + 2) · 4 · eps32 · (|t|² + |p|²) on each entry, doubled), so entries further than
        # that from D[i, i] are decided by it; the few within it are recomputed exactly, pair by pair, in float64.
        t32, p32 = t.float(), p.float()
        tn, pn = (t32 * t32).sum(1), (p32 * p32).sum(1)
        eps = (t.shape[1] + 2) * 8 * torch.finfo(torch.float32).eps
        columns = torch.arange(m, device=p.device)
        unique, inverse = torch.unique(p, dim=0, return_inverse=True)
        n_unique = len(unique)
        # buffers reused by every chunk: a fresh (chunk, M) tensor per chunk costs more in page faults than the work
        size = min(chunk_size, m)
        screen_buf = torch.empty(size, m, device=p.device)
        count_buf = torch.empty(size, m, device=p.device)  # 0/1 floats: summing floats beats counting bools 5x
        band_buf = torch.empty(size, m, dtype=torch.bool, device=p.device)
        for start in range(0, m, chunk_size):
            rows = columns[start:start + chunk_size]
            n = len(rows)
            screen, flags, band = screen_buf[:n], count_buf[:n], band_buf[:n]
            # screen[i, j] − D[i, i], in one product and one in-place add
            torch.addmm(pn[None, :], t32[rows], p32.T, beta=1.0, alpha=-2.0, out=screen)
            screen.add_((tn[rows] - own[rows].float())[:, None])
            slack = (eps * (tn[rows] + pn.max()) + 1e-30)[:, None]
            if state_ids is not None:  # same true state (the true pair too): no competitor, out of both tests
                torch.eq(state_ids[None, :], state_ids[rows][:, None], out=band)
                screen.masked_fill_(band, float("inf"))
            beats = torch.lt(screen, -slack, out=flags).sum(1).double()  # certainly closer (exact float32 counts)
            close = torch.le(screen.abs_(), slack, out=band)  # within the round-off band: decided exactly below
            r, c = close.nonzero(as_tuple=True)
            if len(r):
                # identical predictions (a collapsed model, or a tied block) share one exact distance per row
                key, back = torch.unique(r * n_unique + inverse[c], return_inverse=True)
                exact = ((t[rows[key // n_unique]] - unique[key % n_unique]) ** 2).sum(1)[back]
                win = exact < own[rows[r]] if rule == "paper" else (exact <= own[rows[r]]) & (c != rows[r])
                beats.index_add_(0, r, win.double())
            rank = 1 + beats
            hits += (rank == 1).sum()
            reciprocal += (1.0 / rank).sum()
    return {"hits_at_1": float(hits / m), "mrr": float(reciprocal / m)}


def reference_ranks(pred: Tensor | np.ndarray, target: Tensor | np.ndarray) -> np.ndarray:
    """Ranks under the paper's rule the way the reference evaluation gets them: one stable sort per row.

    Deliberately simple (a Python loop over rows, O(M^2 log M)): for row i, prepend D[i, i] to the row D[i, :],
    sort with ``np.lexsort`` (keys: the distances, ties broken by position) and read off where the prepended
    diagonal landed. Only for tests and as the benchmark baseline.

    Parameters
    ----------
    pred, target : Tensor or ndarray, shape (M, ...)
        Flattened per row and compared in float64.

    Returns
    -------
    ndarray of int64, shape (M,)
        rank_i >= 1 (1 + the number of predictions strictly closer to target_i than pred_i).

    Examples
    --------
    >>> reference_ranks(np.array([[10.0], [0.0]]), np.array([[0.0], [10.0]])).tolist()
    [2, 2]
    """
    p, t = (a.cpu().numpy() for a in _rows(pred, target))
    m = p.shape[0]
    ranks = np.empty(m, dtype=np.int64)
    position = np.arange(m + 1)
    for i in range(m):
        row = ((t[i][None, :] - p) ** 2).sum(axis=1)
        keyed = np.concatenate([row[i:i + 1], row])
        order = np.lexsort((position, keyed))  # last key sorts first: distance, then position
        ranks[i] = int(np.flatnonzero(order == 0)[0]) + 1
    return ranks
