"""Measured convergence rates of a running game experiment, to set beside the spectral radius.

The linear rate of a linear recurrence is its spectral radius rho; after the transients, ||w_{k+m}|| / ||w_k||
approaches rho^m. :func:`measured_rate` estimates rho from the ``norm_<method>`` metrics of ``lead`` records, so a
page can show the closed form and the simulation side by side while the run goes on.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from neurodyn.lead.experiment import method_metric

__all__ = ["measured_rate", "rate_agrees", "TINY"]

TINY = 1e-250  # norms below this are left out of a rate (near float64's underflow)


def measured_rate(records: Sequence[Any], method: str, *, window: int = 50, skip: int = 20) -> float | None:
    """Per-step contraction (or growth) rate of ``||w||`` for ``method`` over the last ``window`` steps.

    Parameters
    ----------
    records : sequence of Record
        Records of the ``lead`` experiment (metrics ``method_metric("norm", method)`` and ``"diverged"``).
    method : str
        Method key, e.g. ``"lead"`` or ``"simgda"``.
    window : int
        Steps between the two norms compared.
    skip : int
        Initial steps ignored (non-normal transients).

    Returns
    -------
    float or None
        ``(||w_K|| / ||w_{K-window}||) ** (1 / window)`` over the last records before the method diverged and
        before its norm fell below ``TINY`` (1e-250); None while fewer than ``skip + window + 1`` such records.
    """
    key, gone = method_metric("norm", method), method_metric("diverged", method)
    usable = [r for r in records[skip:]
              if key in r.metrics and not r.metrics.get(gone, 0.0) and r.metrics[key] > TINY]
    if len(usable) <= window:
        return None
    a, b = usable[-window - 1].metrics[key], usable[-1].metrics[key]
    return math.exp(math.log(b / a) / window)


def rate_agrees(measured: float | None, rho: float, *, rtol: float = 0.01) -> bool | None:
    """True when the measured rate matches ``rho`` within ``rtol`` (None when there is no measurement yet)."""
    if measured is None:
        return None
    return abs(measured - rho) <= rtol * max(rho, 1e-12)
