"""Tasks of the adaptive-activation page (``docs/papers/activations.md §4``): permuted sequential digits, the
input-statistics shifts, and the copy task with its memoryless baseline.

Permuted sequential digits stand in for psMNIST offline: scikit-learn's 8x8 digits (divided by 16) read one pixel
per step (64 steps), in one fixed pixel order drawn from a seed (the paper: 784 MNIST pixels, permutation from
``RandomState(400)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurodyn.data import digits

__all__ = ["PixelSequences", "permuted_digits", "SinTransform", "StepTransform", "copy_task", "copy_baseline_loss",
           "N_LABELS_COPY", "N_SYMBOLS_COPY"]

N_SYMBOLS_COPY = 10  # symbols to remember in the copy task
N_LABELS_COPY = 8  # labels they are drawn from; class 0 is the blank, 9 the marker (9 output classes: 0-8)


@dataclass(frozen=True)
class PixelSequences:
    """Digits as one-pixel-per-step sequences: ``x_*`` (n, 64, 1) in [0, 1], ``y_*`` (n,), the pixel order (64,)."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    permutation: Tensor


def permuted_digits(permutation_seed: int = 0, split_seed: int = 0) -> PixelSequences:
    """The 1,400 / 397 digits split as 64-step pixel sequences in one fixed permuted order.

    Parameters
    ----------
    permutation_seed : int, default 0
        Seeds the pixel order (the same for every run seed and every split).
    split_seed : int, default 0

    Returns
    -------
    PixelSequences
    """
    x_train, y_train, x_test, y_test = digits(split_seed)
    perm = torch.as_tensor(np.random.default_rng(permutation_seed).permutation(64))

    def seq(images: Tensor) -> Tensor:
        return images.reshape(len(images), 64)[:, perm].unsqueeze(-1).contiguous()

    return PixelSequences(seq(x_train), y_train, seq(x_test), y_test, perm)


@dataclass(frozen=True)
class SinTransform:
    """Multiply every pixel at step t by ``1 + A·sin(2π f t / period + φ)``; zero pixels stay zero.

    Parameters
    ----------
    amplitude : float
        A (A = 0 is the identity).
    frequency : float
        f, cycles per ``period`` steps.
    phase : float, default 0
        φ in radians.
    period : int, default 64
        The sequence length the frequency refers to (the reference: 784 for psMNIST; here 64).
    """

    amplitude: float
    frequency: float
    phase: float = 0.0
    period: int = 64

    def gain(self, n_steps: int) -> Tensor:
        """The factor per step, shape (n_steps,)."""
        t = torch.arange(n_steps, dtype=torch.float64)
        return 1 + self.amplitude * torch.sin(2 * math.pi * self.frequency * t / self.period + self.phase)

    def __call__(self, x: Tensor) -> Tensor:
        """Shifted copy of ``x`` (..., T, I), time on the second-to-last axis; same shape."""
        return x * self.gain(x.shape[-2]).to(x.dtype)[:, None]


@dataclass(frozen=True)
class StepTransform:
    """Multiply every pixel by ``1 + delta`` at steps ``start <= t < stop``; other steps and zero pixels unchanged."""

    delta: float
    start: int
    stop: int

    def __call__(self, x: Tensor) -> Tensor:
        """Shifted copy of ``x`` (..., T, I), time on the second-to-last axis; same shape."""
        gain = torch.ones(x.shape[-2], dtype=x.dtype)
        gain[self.start:self.stop] += self.delta
        return x * gain[:, None]


def copy_task(T: int, batch_size: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """The copy task of card §2.3: 10 symbols from 8 labels, T − 1 blanks, a marker, 10 blanks.

    Parameters
    ----------
    T : int
        Delay (the paper: 200); sequences have T + 20 steps.
    batch_size : int
    generator : torch.Generator, optional

    Returns
    -------
    x : Tensor, shape (batch_size, T + 20, 1)
        Scalar inputs: labels 1-8, blank 0, marker 9.
    y : Tensor, shape (batch_size, T + 20), int64
        Blank (0) everywhere except the 10 symbols in the last 10 steps.
    """
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    symbols = torch.randint(1, N_LABELS_COPY + 1, (batch_size, N_SYMBOLS_COPY), generator=generator)
    L = T + 2 * N_SYMBOLS_COPY
    x = torch.zeros(batch_size, L, dtype=torch.int64)
    x[:, :N_SYMBOLS_COPY] = symbols
    x[:, N_SYMBOLS_COPY + T - 1] = N_LABELS_COPY + 1
    y = torch.zeros(batch_size, L, dtype=torch.int64)
    y[:, -N_SYMBOLS_COPY:] = symbols
    return x.unsqueeze(-1).float(), y


def copy_baseline_loss(T: int) -> float:
    """Cross-entropy per step of the memoryless baseline: blanks exactly, then uniform over the 8 labels.

    ``10·ln 8 / (T + 20)`` (0.0945 for T = 200).
    """
    return N_SYMBOLS_COPY * math.log(N_LABELS_COPY) / (T + 2 * N_SYMBOLS_COPY)
