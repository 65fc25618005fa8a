"""A tiny but real experiment for the core, CLI and UI tests: gradient descent on random least squares.

A plain module (not a conftest) so that worker processes, which unpickle its classes by reference, can import it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import torch_generator


@dataclass(frozen=True)
class ToyConfig:
    lr: float = param(0.1, min=1e-4, max=1e6, log=True, help="gradient-descent step size")
    dim: int = param(4, min=1, max=64, help="number of weights")
    n_steps: int = param(20, min=1, max=100000, help="steps of one run")
    sleep: float = param(0.0, min=0.0, max=2.0, help="seconds each step sleeps (to test timing)")
    fail_at: int = param(-1, min=-1, max=100000, help="raise an error at this step (-1: never)")
    seed: int = param(0, min=0, max=2**31 - 1, help="random seed")


class ToyExperiment:
    """Least squares ||X w - y||^2 / n by gradient descent; diverges for lr > 2 / lambda_max(X^T X / n)."""

    def __init__(self, config: ToyConfig) -> None:
        self.config = config
        self.total_steps = config.n_steps
        g = torch_generator(config.seed)
        self.X = torch.randn(32, config.dim, generator=g, dtype=torch.float64)
        self.y = self.X @ torch.randn(config.dim, generator=g, dtype=torch.float64)
        self.w = torch.zeros(config.dim, dtype=torch.float64)
        self.k = 0

    @property
    def done(self) -> bool:
        return self.k >= self.total_steps

    def step(self) -> Record:
        if self.k == self.config.fail_at:
            raise RuntimeError("boom at the requested step")
        if self.config.sleep:
            time.sleep(self.config.sleep)
        r = self.X @ self.w - self.y
        self.w = self.w - self.config.lr * 2 * self.X.T @ r / len(r)
        loss = float((r**2).mean())
        rec = Record(self.k, {"loss": loss}, {"w": self.w.numpy().copy()} if self.k % 5 == 0 else {})
        self.k += 1
        return rec


class ThreadReport:
    """One step reporting the thread counts its process runs with (to check the worker's pinning)."""

    total_steps = 1

    def __init__(self, config: ToyConfig) -> None:
        self.config = config
        self.k = 0

    @property
    def done(self) -> bool:
        return self.k >= 1

    def step(self) -> Record:
        import numba

        self.k += 1
        return Record(0, {"torch_threads": float(torch.get_num_threads()),
                          "numba_threads": float(numba.config.NUMBA_NUM_THREADS)})
