"""The template paper's experiment: gradient descent on a random least-squares problem (``docs/papers/template.md``).

Minimise L(w) = ||X w − y||² / n with w_{k+1} = w_k − η ∇L(w_k), ∇L = 2 Xᵀ(X w − y) / n. The Hessian is
H = 2 XᵀX / n, so the error contracts per step by ρ = max_i |1 − η h_i| over the eigenvalues h_i of H
(``docs/papers/template.md §2``), and the run diverges for η > 2 / h_max. Small enough to read in one sitting, real
enough to exercise the registry, the jobs, the CLI and the pages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import torch_generator
from neurodyn.core.spec import Metric

__all__ = ["Config", "PRESETS", "METRICS", "LeastSquares", "build", "contraction_rate", "measured_rate"]

N_ROWS = 32  # rows of X


@dataclass(frozen=True)
class Config:
    """Settings of one gradient-descent run."""

    lr: float = param(0.1, min=1e-4, max=1e6, log=True, label="step size η", help="gradient-descent step size")
    dim: int = param(4, min=1, max=64, label="number of weights", help="columns of X")
    n_steps: int = param(20, min=1, max=100_000, label="steps", help="gradient steps of one run")
    sleep: float = param(0.0, min=0.0, max=2.0, label="pause per step (s)",
                         help="seconds each step waits: rehearses a slow model (tests of Stop and timing)")
    fail_at: int = param(-1, min=-1, max=100_000, label="fail at step",
                         help="raise an error at this step, -1 never (tests of error handling)")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed of X, y")


PRESETS: dict[str, Config] = {
    "small": Config(n_steps=60),  # enough steps for the slowest mode to dominate the measured rate
    "paper": Config(n_steps=200),
}

#: Declared metrics: every record carries exactly these.
METRICS = (Metric("loss", "", "training loss ‖Xw − y‖²/n"),)


def _problem(config: Config) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch_generator(config.seed)
    X = torch.randn(N_ROWS, config.dim, generator=g, dtype=torch.float64)
    return X, X @ torch.randn(config.dim, generator=g, dtype=torch.float64)


def contraction_rate(config: Config) -> float:
    """The closed-form per-step contraction ρ = max_i |1 − η h_i| of the error (``template.md §2``).

    Parameters
    ----------
    config : Config

    Returns
    -------
    float
    """
    X, _ = _problem(config)
    h = np.linalg.eigvalsh((2 * X.T @ X / N_ROWS).numpy())
    return float(np.max(np.abs(1 - config.lr * h)))


def measured_rate(losses: np.ndarray) -> float:
    """Per-step contraction measured from the last two losses: sqrt(L_k / L_{k−1}) (NaN with fewer than two).

    Parameters
    ----------
    losses : ndarray of shape (n_steps,)

    Returns
    -------
    float
    """
    if len(losses) < 2 or losses[-2] <= 0:
        return float("nan")
    return float(np.sqrt(losses[-1] / losses[-2]))


class LeastSquares:
    """Gradient descent on ||X w − y||² / n from w = 0, one step per record."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.total_steps = config.n_steps
        self.X, self.y = _problem(config)
        self.w = torch.zeros(config.dim, dtype=torch.float64)
        self.k = 0

    @property
    def done(self) -> bool:
        """True after ``n_steps`` steps."""
        return self.k >= self.total_steps

    def step(self) -> Record:
        """One gradient step; the record's loss is the one before the step, ``w`` every fifth step."""
        if self.k == self.config.fail_at:
            raise RuntimeError("boom at the requested step")
        if self.config.sleep:
            time.sleep(self.config.sleep)
        r = self.X @ self.w - self.y  # (n,)
        self.w = self.w - self.config.lr * 2 * self.X.T @ r / len(r)
        rec = Record(self.k, {"loss": float((r**2).mean())}, {"w": self.w.numpy().copy()} if self.k % 5 == 0 else {})
        self.k += 1
        return rec


def build(config: Config) -> LeastSquares:
    """Build a run from its config."""
    return LeastSquares(config)
