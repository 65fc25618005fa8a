"""Character-level language modelling on CPython's own help text, and the char-RNN model (docs/papers/lyapunov.md §4).

The corpus is ``pydoc_data.topics.topics`` (the help texts of the ``help()`` system, ~465k characters in Python
3.11), concatenated in sorted key order, with every character outside printable ASCII and newline mapped to one
symbol (:data:`UNKNOWN`). The paper used Tolstoy's *War and Peace*; this offline stand-in is a deviation.
Split: the first 90 % of the characters train, the last 10 % validate (held-out windows for spectra and loss).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["UNKNOWN", "CharCorpus", "load_corpus", "sample_windows", "one_hot", "CharRNN"]

UNKNOWN = "\x00"  # stands for every non-ASCII character


@dataclass(frozen=True)
class CharCorpus:
    """Encoded corpus and its split.

    Attributes
    ----------
    vocab : str
        The symbols, sorted; symbol ``vocab[i]`` has id ``i``.
    train, val : numpy.ndarray of int64
        Character ids of the first 90 % and the last 10 % of the text.
    """

    vocab: str
    train: np.ndarray
    val: np.ndarray

    @property
    def n_symbols(self) -> int:
        return len(self.vocab)

    def decode(self, ids: np.ndarray | list[int]) -> str:
        """Ids -> text (the unknown symbol shown as ``?``)."""
        return "".join(self.vocab[int(i)] for i in ids).replace(UNKNOWN, "?")


@functools.lru_cache(maxsize=1)
def load_corpus(val_fraction: float = 0.1) -> CharCorpus:
    """Load, clean, encode and split ``pydoc_data.topics`` (cached; read-only arrays).

    Parameters
    ----------
    val_fraction : float, default 0.1
        Fraction of characters, at the end of the text, held out.

    Returns
    -------
    CharCorpus
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    from pydoc_data.topics import topics

    text = "".join(topics[key] for key in sorted(topics))
    text = "".join(ch if (" " <= ch <= "~" or ch == "\n") else UNKNOWN for ch in text)
    vocab = "".join(sorted(set(text) | {UNKNOWN}))
    lookup = np.zeros(128, dtype=np.int64)
    for i, ch in enumerate(vocab):
        lookup[ord(ch)] = i
    ids = lookup[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    n_val = int(round(len(ids) * val_fraction))
    train, val = ids[:-n_val].copy(), ids[-n_val:].copy()
    train.setflags(write=False)
    val.setflags(write=False)
    return CharCorpus(vocab=vocab, train=train, val=val)


def sample_windows(ids: np.ndarray, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random contiguous windows of ``length`` ids: (n, length) int64."""
    if length >= len(ids):
        raise ValueError(f"window length {length} must be shorter than the text ({len(ids)} characters)")
    starts = rng.integers(0, len(ids) - length, size=n)
    return ids[starts[:, None] + np.arange(length)[None, :]]  # (n, length)


def one_hot(ids: Tensor, n_symbols: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """(B, T) int ids -> (B, T, n_symbols) one-hot."""
    return torch.nn.functional.one_hot(ids, n_symbols).to(dtype)


class CharRNN(nn.Module):
    """One-layer ``nn.RNN`` (tanh) / ``nn.GRU`` / ``nn.LSTM`` on one-hot characters with a linear readout.

    Parameters
    ----------
    cell : {"rnn", "gru", "lstm"}
    n_symbols : int
        Vocabulary size (input and output width).
    hidden : int
        Hidden size H.
    init_scale : float
        Every weight and bias (recurrent cell and readout) is drawn from ``U(-p, p)`` as in the reference sweep.
    generator : torch.Generator
        Source of the initial weights (the global RNG is neither read nor advanced).
    """

    def __init__(self, cell: str, n_symbols: int, hidden: int, init_scale: float, generator: torch.Generator):
        super().__init__()
        classes = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
        if cell not in classes:
            raise ValueError(f"cell must be one of {sorted(classes)}, got {cell!r}")
        if init_scale <= 0:
            raise ValueError(f"init_scale must be > 0, got {init_scale!r}")
        self.n_symbols = n_symbols
        with torch.random.fork_rng(devices=[]):  # torch's default init draws from the global RNG; undo that
            self.rnn = classes[cell](n_symbols, hidden, batch_first=True)
            self.readout = nn.Linear(hidden, n_symbols)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_((torch.rand(p.shape, generator=generator) * 2.0 - 1.0) * init_scale)

    def forward(self, ids: Tensor) -> Tensor:
        """(B, T) ids -> (B, T, n_symbols) next-character logits, from a zero initial state."""
        out, _ = self.rnn(one_hot(ids, self.n_symbols, self.readout.weight.dtype))  # (B, T, H)
        return self.readout(out)

    def loss(self, ids: Tensor) -> Tensor:
        """Mean next-character cross-entropy (nats) of (B, T + 1) windows."""
        logits = self(ids[:, :-1])  # (B, T, V)
        return nn.functional.cross_entropy(logits.reshape(-1, self.n_symbols), ids[:, 1:].reshape(-1))
