"""One-off start-up costs, paid once per process (the app's background thread) or per image (``neurodyn warmup``).

numba compiles UMAP's and pynndescent's kernels on first use (about 20 s on a fresh machine, then cached in
``NUMBA_CACHE_DIR``), and torch imports its compiler stack on the first optimizer; paying both at start-up keeps
the first click on a page fast.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

__all__ = ["tasks", "run_warmup", "torch_lazy_imports"]

log = logging.getLogger(__name__)


def torch_lazy_imports() -> None:
    """Import what torch imports lazily on the first optimizer (``torch._dynamo``, several seconds).

    Paid here, in the process's warm-up, instead of inside the first training job, where the import would hold the
    import lock while every session's script thread waits on it.
    """
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def tasks() -> list[tuple[str, Callable[[], Any]]]:
    """The warm-up tasks: torch's lazy imports, then each registered paper's ``SPEC.warmup``, as (label, function).

    Returns
    -------
    list of (str, callable)
    """
    from neurodyn.core import registry

    out: list[tuple[str, Callable[[], Any]]] = [("torch", torch_lazy_imports)]
    out += [(p.key, p.warmup) for p in registry.papers() if p.warmup is not None]
    return out


def run_warmup(progress: Callable[[str], Any] | None = None) -> tuple[float, list[str]]:
    """Run every warm-up task (see :func:`tasks`); failures are logged and returned, never raised.

    Parameters
    ----------
    progress : callable, optional
        ``progress(line)`` is called before and after each task (the CLI prints these lines).

    Returns
    -------
    seconds : float
        Wall time taken.
    errors : list of str
        One line per task that failed.
    """
    t0, errors = time.perf_counter(), []
    try:
        todo = tasks()
    except Exception as exc:  # a broken paper package: its pages report it; the warm-up goes on without it
        log.warning("warm-up could not list the papers: %s", exc)
        todo, errors = [("torch", torch_lazy_imports)], [f"registry: {type(exc).__name__}: {exc}"]
    for i, (label, func) in enumerate(todo, 1):
        t1 = time.perf_counter()
        if progress is not None:
            progress(f"warm-up {i}/{len(todo)}: {label} ...")
        try:
            func()
        except Exception as exc:  # warm-up is an optimisation, never fatal
            log.warning("warm-up %s failed: %s", label, exc)
            errors.append(f"{label}: {type(exc).__name__}: {exc}")
        if progress is not None:
            progress(f"warm-up {i}/{len(todo)}: {label} done in {time.perf_counter() - t1:.1f} s")
    return time.perf_counter() - t0, errors
