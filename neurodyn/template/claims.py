"""The template paper's claim rules: pure functions of a run's records and config (``docs/papers/template.md §6``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from neurodyn.core.loop import Record
from neurodyn.core.spec import ClaimResult, judge
from neurodyn.template.experiment import Config, contraction_rate, measured_rate

__all__ = ["MIN_STEPS", "rate_rule"]

MIN_STEPS = 10  # before this many steps the slowest direction does not dominate yet: the rate check waits


def rate_rule(records: Sequence[Record], config: Config) -> ClaimResult:
    """The measured per-step rate sqrt(L_k / L_(k−1)) against the closed-form ρ of the run's config, within 2%.

    Parameters
    ----------
    records : sequence of Record
        Records of one run, each with the metric ``loss``.
    config : Config
        The config the run was started with.

    Returns
    -------
    ClaimResult
        *inconclusive* before ``MIN_STEPS`` records.
    """
    rho = contraction_rate(config)
    rate = measured_rate(np.array([r.metrics["loss"] for r in records]))
    rule = f"within 2% of ρ = {rho:.4f}"
    if len(records) < MIN_STEPS:
        return judge(rate, None, rule, f"waits for {MIN_STEPS} steps ({len(records)} so far)")
    return judge(rate, abs(rate - rho) <= 0.02 * rho, rule, f"sqrt(L_k / L_(k−1)) at step {records[-1].step}")
