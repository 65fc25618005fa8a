"""A one-step experiment that reports the thread counts of the process it runs in (to check a worker's pinning).

A plain module (not a conftest) so that worker processes, which unpickle its class by reference, can import it.
"""

from __future__ import annotations

import torch

from neurodyn.core.loop import Record
from neurodyn.template.experiment import Config


class ThreadReport:
    """One step reporting the torch and numba thread counts of its process."""

    total_steps = 1

    def __init__(self, config: Config) -> None:
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
