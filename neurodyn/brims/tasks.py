"""Row-by-row digits and the robustness probes of the BRIMs page (``docs/papers/brims.md §4``).

The data are scikit-learn's bundled 8x8 digits (1,797 images, no download), divided by 16 and read one row per
time step: sequences of 8 steps with 8 features. The probes change the test sequences only (no retraining):
distractor rows appended after the digit, Gaussian pixel noise, and rows repeated to stretch time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from neurodyn.data import N_DIGITS_TRAIN, digits

__all__ = ["DigitRows", "digit_rows", "with_distractors", "with_noise", "stretched", "N_TRAIN"]

N_TRAIN = N_DIGITS_TRAIN  # docs/papers/brims.md §4: a fixed split of 1,400 train / 397 test images


@dataclass(frozen=True)
class DigitRows:
    """Digits as row sequences: ``x_*`` (n, 8, 8) in [0, 1], ``y_*`` (n,) int64 labels."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


def _load(split_seed: int) -> DigitRows:
    return DigitRows(*digits(split_seed))  # (n, 8, 8): rows are time steps


def digit_rows(split_seed: int = 0) -> DigitRows:
    """The 1,400 / 397 split of the 8x8 digits, fixed by ``split_seed`` (the same for every run seed)."""
    return _load(int(split_seed))


def _check_sequences(x: Tensor) -> None:
    if x.dim() != 3:
        raise ValueError(f"x must be a batch of row sequences (B, T, W), got shape {tuple(x.shape)}")


def with_distractors(x: Tensor, n_rows: int, p: float = 0.3, *, generator: torch.Generator | None = None) -> Tensor:
    """Append ``n_rows`` rows of random binary pixels (each 1 with probability ``p``) after every sequence.

    Parameters
    ----------
    x : Tensor, shape (B, T, W)
    n_rows : int
        K >= 0 distractor rows; they come after the digit, before the readout.
    p : float
        Probability of a lit pixel, in [0, 1].
    generator : torch.Generator, optional
        Fix it so that every model and every epoch sees the same distractors.

    Returns
    -------
    Tensor, shape (B, T + n_rows, W)
    """
    _check_sequences(x)
    if n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    B, _, W = x.shape
    noise = (torch.rand(B, n_rows, W, generator=generator, device=x.device) < p).to(x.dtype)
    return torch.cat([x, noise], dim=1)


def with_noise(x: Tensor, sigma: float, *, generator: torch.Generator | None = None) -> Tensor:
    """Add N(0, sigma^2) to every pixel and clip to [0, 1]; (B, T, W) -> (B, T, W)."""
    _check_sequences(x)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    return (x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)).clamp(0.0, 1.0)


def stretched(x: Tensor, n_steps: int) -> Tensor:
    """Nearest-neighbour resampling of the rows to ``n_steps`` time steps (rows repeat; the width stays).

    Row ``t`` of the result is row ``floor(t * T / n_steps)`` of ``x``; (B, T, W) -> (B, n_steps, W).
    """
    _check_sequences(x)
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    T = x.shape[1]
    index = torch.div(torch.arange(n_steps, device=x.device) * T, n_steps, rounding_mode="floor")
    return x.index_select(1, index)
