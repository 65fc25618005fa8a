"""Data that ship with installed packages, shared by the papers (nothing is downloaded).

``digits``: scikit-learn's 1,797 bundled 8x8 digit images, scaled to [0, 1], with one fixed train/test split.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

__all__ = ["digits", "N_DIGITS_TRAIN"]

N_DIGITS_TRAIN = 1400  # a fixed split of 1,400 train / 397 test images (brims.md §4, activations.md §4)


@functools.lru_cache(maxsize=4)
def _digits(split_seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    from sklearn.datasets import load_digits

    data = load_digits()
    images = torch.as_tensor(data.images / 16.0, dtype=torch.float32)  # (1797, 8, 8) in [0, 1]
    labels = torch.as_tensor(data.target, dtype=torch.int64)
    order = torch.as_tensor(np.random.default_rng(split_seed).permutation(len(labels)))
    train, test = order[:N_DIGITS_TRAIN], order[N_DIGITS_TRAIN:]
    return images[train], labels[train], images[test], labels[test]


def digits(split_seed: int = 0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The 8x8 digits split 1,400 / 397 by a permutation drawn from ``split_seed``.

    Parameters
    ----------
    split_seed : int, default 0

    Returns
    -------
    x_train : Tensor, shape (1400, 8, 8), float32 in [0, 1]
    y_train : Tensor, shape (1400,), int64
    x_test : Tensor, shape (397, 8, 8)
    y_test : Tensor, shape (397,)
        Cached per ``split_seed``: treat them as read-only.
    """
    return _digits(int(split_seed))
