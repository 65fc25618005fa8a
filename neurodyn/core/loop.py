"""The step loop shared by pages, the CLI, tests and benchmarks.

An experiment is an object with a ``config``, a ``total_steps`` count, a ``done`` flag and a ``step()`` method that
does one unit of work and returns a :class:`Record`. It never sleeps, prints or draws: the caller (a background job,
the CLI, a test) decides the pace, which keeps stepping apart from the timer as in the TensorFlow playground.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Protocol, runtime_checkable

import numpy as np

__all__ = ["Record", "Experiment", "run", "record_to_json", "non_finite_metrics"]


@dataclass(frozen=True)
class Record:
    """What one ``step()`` produced.

    Parameters
    ----------
    step : int
        Index of the step, counting from 0 (or the experiment's own counter, e.g. optimizer iterations).
    metrics : mapping of str to float
        Cheap scalars, logged every step, same keys every step.
    artifacts : mapping of str to array
        Larger results (spectra, maps, paths, embeddings) logged every k steps; numpy arrays or JSON values.
    """

    step: int
    metrics: Mapping[str, float]
    artifacts: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Experiment(Protocol):
    """One live run of a paper's experiment."""

    config: Any
    total_steps: int

    @property
    def done(self) -> bool:  # pragma: no cover - protocol
        """True once the run has taken ``total_steps`` steps."""
        ...

    def step(self) -> Record:  # pragma: no cover - protocol
        """Do one unit of work and return its record."""
        ...


def run(exp: Experiment, n_steps: int | None = None, *, cancel: Callable[[], bool] | None = None) -> Iterator[Record]:
    """Yield records from ``exp.step()`` until the experiment is done, ``n_steps`` were taken or ``cancel()`` is true.

    The one loop of neurodyn: the background jobs (thread and worker process), the CLI, the tests and the benchmarks
    all drive experiments through it.

    Parameters
    ----------
    exp : Experiment
    n_steps : int, optional
        Upper bound on the number of steps; ``None`` runs until ``exp.done``.
    cancel : callable, optional
        ``cancel() -> bool``, asked before every step; the loop ends (without taking the step) once it is true.

    Yields
    ------
    Record

    Examples
    --------
    >>> class Count:
    ...     config, total_steps, k = None, 3, 0
    ...     done = property(lambda self: self.k >= self.total_steps)
    ...     def step(self):
    ...         self.k += 1
    ...         return Record(self.k - 1, {"k": float(self.k)})
    >>> [r.step for r in run(Count())]
    [0, 1, 2]
    >>> [r.step for r in run(Count(), cancel=lambda: True)]
    []
    """
    taken = 0
    while not exp.done and (n_steps is None or taken < n_steps):
        if cancel is not None and cancel():
            return
        yield exp.step()
        taken += 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "detach"):  # a stray tensor
        return value.detach().cpu().numpy().tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else (1e308 if value > 0 else -1e308)
    return value


def record_to_json(rec: Record, *, artifacts: bool = True) -> dict[str, Any]:
    """Return a JSON-ready dict of a record (arrays become nested lists; NaN becomes null).

    Parameters
    ----------
    rec : Record
    artifacts : bool, default True
        Include the artifacts.

    Returns
    -------
    dict
    """
    out: dict[str, Any] = {"step": int(rec.step), "metrics": _jsonable(dict(rec.metrics))}
    if artifacts and rec.artifacts:
        out["artifacts"] = _jsonable(dict(rec.artifacts))
    return out


def non_finite_metrics(rec: Record) -> list[str]:
    """Names of the record's metrics that are NaN or infinite.

    Parameters
    ----------
    rec : Record

    Returns
    -------
    list of str
    """
    bad = []
    for k, v in rec.metrics.items():
        try:
            if not math.isfinite(float(v)):
                bad.append(k)
        except (TypeError, ValueError):
            bad.append(k)
    return bad
