"""Pure helpers for the Lyapunov page (``pages/lyapunov.py``): texts computed from a run's records and config.

Nothing here imports streamlit. Every text describes the run it is given (its records and the config it was started
with), so that a caption never states a trend the run on screen does not show (issue 13).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from neurodyn.lyapunov.experiment import PLOT_FLOOR, Config, exponent_unit

__all__ = ["checkpoint_spectra", "spectrum_caption", "latest_summary"]

READING = ("How to read this: every curve is the Lyapunov spectrum of the network at one training step, the batch "
           "mean over a fixed bank of held-out windows, sorted from the largest exponent λ₁ (left). λ < 0 means "
           "perturbations along that direction shrink by a factor e^λ (2^λ in bits) per character.")


def checkpoint_spectra(records: Sequence[Any]) -> list[tuple[int, np.ndarray]]:
    """The finished spectra of a ``lyapunov`` run, in training-step order.

    Parameters
    ----------
    records : sequence of Record

    Returns
    -------
    list of (int, ndarray of shape (k,))
        Training step of each spectrum and its batch-mean exponents, sorted descending (``-inf`` clamped to
        ``PLOT_FLOOR``).
    """
    out = [(int(r.artifacts["le_step"]), np.asarray(r.artifacts["spectrum"], dtype=float)) for r in records
           if "spectrum" in r.artifacts and "le_step" in r.artifacts]
    return sorted(out, key=lambda pair: pair[0])


def _fmt(value: float) -> str:
    return "−∞" if value <= PLOT_FLOOR else f"{value:.2f}".replace("-", "−")


def _trend(first: float, last: float) -> str:
    if abs(last - first) < 0.01:
        return "about where it was at the start"
    return "closer to 0 than at the start" if abs(last) < abs(first) else "further from 0 than at the start"


def spectrum_caption(records: Sequence[Any], config: Config) -> str:
    """Caption of the spectra chart: how to read it, and what the leading exponent and the tail did in this run.

    Parameters
    ----------
    records : sequence of Record
        Records of the ``lyapunov`` run shown.
    config : Config
        The config the run was started with (its units).

    Returns
    -------
    str
        The reading guide alone before the first spectrum; then the measured trends, e.g. "λ_max was −0.54
        nats/step at training step 0 and −0.79 at step 400 (lowest −1.97 at step 100): further from 0 than at the
        start".
    """
    spectra = checkpoint_spectra(records)
    unit = exponent_unit(config)
    if not spectra:
        return READING
    if len(spectra) == 1:
        step, lam = spectra[0]
        return (f"{READING} So far one spectrum (training step {step}): λ_max = {_fmt(lam[0])}, smallest exponent "
                f"{_fmt(lam[-1])} {unit}.")
    (s0, first), (s1, last) = spectra[0], spectra[-1]
    lmax = np.array([lam[0] for _, lam in spectra])
    steps = [s for s, _ in spectra]
    text = (f"{READING} In this run λ_max was {_fmt(first[0])} {unit} at training step {s0} and {_fmt(last[0])} at "
            f"step {s1}")
    lo, hi = int(np.argmin(lmax)), int(np.argmax(lmax))
    if 0 < lo < len(spectra) - 1:
        text += f" (lowest {_fmt(lmax[lo])} at step {steps[lo]})"
    if 0 < hi < len(spectra) - 1:
        text += f" (highest {_fmt(lmax[hi])} at step {steps[hi]})"
    text += f": {_trend(first[0], last[0])}"
    width0, width1 = first[0] - first[-1], last[0] - last[-1]
    if len(first) > 1 and min(first[-1], last[-1]) <= PLOT_FLOOR:  # a direction mapped to 0: no finite width
        text += f"; the smallest exponent went from {_fmt(first[-1])} to {_fmt(last[-1])}"
    elif len(first) > 1:
        shape = "spread" if width1 > width0 else "narrowed"
        text += (f"; the smallest exponent went from {_fmt(first[-1])} to {_fmt(last[-1])}, so the spectrum "
                 f"{shape} (width {width0:.2f} → {width1:.2f} {unit})")
    return text + "."


def latest_summary(records: Sequence[Any], config: Config) -> str | None:
    """One line on the latest finished spectrum (markdown), or None before the first one.

    Parameters
    ----------
    records : sequence of Record
    config : Config
        The config the run was started with.

    Returns
    -------
    str or None
    """
    if not records:
        return None
    m = records[-1].metrics
    if m["le_checkpoint"] < 0:
        return None
    unit = exponent_unit(config)
    return (f"**Latest spectrum** (training step {int(m['le_checkpoint'])}): λ_max = {m['lambda_max']:.3f}, mean λ = "
            f"{m['lambda_mean']:.3f} {unit}, {int(m['n_positive'])} positive, Kaplan–Yorke dimension "
            f"{m['kaplan_yorke_dim']:.2f}, KS-entropy bound {m['ks_entropy']:.3f} {unit}; computed in "
            f"{m['le_seconds']:.2f} s, spread over the training steps that followed it.")
