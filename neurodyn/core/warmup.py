"""One-off start-up costs, paid once per process (the app's background thread) or per image (``neurodyn warmup``).

numba compiles UMAP's and pynndescent's kernels on first use (about 20 s on a fresh machine, then cached in
``NUMBA_CACHE_DIR``), and torch imports its compiler stack on the first optimizer; paying both at start-up keeps
the first click on a page fast.
"""

from __future__ import annotations

import importlib
import logging
import time

__all__ = ["TASKS", "run_warmup"]

log = logging.getLogger(__name__)

# (module, function) pairs; each function takes no argument and is safe to call more than once.
TASKS: tuple[tuple[str, str], ...] = (
    ("neurodyn.core.warmup", "torch_lazy_imports"),
    ("neurodyn.udemd.experiment", "warm_up"),
    ("neurodyn.brims.tasks", "digit_rows"),  # scikit-learn's digits: imported and read once per process
)


def torch_lazy_imports() -> None:
    """Import what torch imports lazily on the first optimizer (``torch._dynamo``, several seconds).

    Paid here, in the process's warm-up, instead of inside the first training job, where the import would hold the
    import lock while every session's script thread waits on it.
    """
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def run_warmup() -> tuple[float, list[str]]:
    """Run every warm-up task; failures are logged and returned, never raised.

    Returns
    -------
    seconds : float
        Wall time taken.
    errors : list of str
        One line per task that failed.
    """
    t0, errors = time.perf_counter(), []
    for module, func in TASKS:
        try:
            getattr(importlib.import_module(module), func)()
        except Exception as exc:  # warm-up is an optimisation, never fatal
            log.warning("warm-up %s.%s failed: %s", module, func, exc)
            errors.append(f"{module}.{func}: {type(exc).__name__}: {exc}")
    return time.perf_counter() - t0, errors
