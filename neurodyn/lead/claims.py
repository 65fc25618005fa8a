"""LEAD's checkable claims, judged on a run's records (``docs/papers/lead.md`` §12).

Each rule is ``rule(records, config) -> ClaimResult``: pure, cheap (the page runs it on every redraw, on all records
so far) and judged against the config the run was started with. A rule returns *inconclusive*, with the reason, while
the run has too little data or when its settings are not the ones the claim is about.

- :func:`rate_rule`: LEAD's measured per-step rate equals the closed-form spectral radius ρ (1%) [T].
- :func:`gda_growth_rule`: simultaneous GDA on ``xy`` grows by √(1 + η²) per step [T].
- :func:`final_norm_rule`: after 100 steps at the reference settings, ‖w‖ of LEAD < 1e-4 and of GDA > 1.5 [T].
- :func:`lyapunov_rule`: V = 2‖Δw‖² + 7.7‖w‖² never increases at the reference settings [R] ``Lyapunov.py``.
- :func:`gan_modes_rule`: LEAD-Adam covers at least as many of the 8 modes as Adam over the second half of the run,
  averaged over the run's seeds (soft: the paper shows a figure, no numbers).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from neurodyn.core.spec import ClaimResult, judge
from neurodyn.lead.experiment import (
    LYAPUNOV,
    REFERENCE,
    Config,
    GanConfig,
    is_reference,
    lead_rate,
    method_metric,
)
from neurodyn.lead.rates import TINY, measured_rate

__all__ = ["RATE_RTOL", "RATE_SKIP", "RATE_WINDOW", "GDA_RTOL", "FINAL_STEP", "LEAD_MAX", "GDA_MIN",
           "rate_rule", "gda_growth_rule", "final_norm_rule", "lyapunov_rule", "gan_modes_rule",
           "reference_differences"]

RATE_RTOL = 0.01  # LEAD's measured rate against ρ: relative tolerance
RATE_SKIP, RATE_WINDOW = 20, 50  # steps left out for transients; steps between the two norms compared
GDA_RTOL = 1e-6  # GDA on xy grows by exactly √(1 + η²) each step (T = √(1 + η²) × a rotation)
GDA_MIN_STEPS = 10
FINAL_STEP, LEAD_MAX, GDA_MIN = 100, 1e-4, 1.5
_LYAP_KEYS = ("game", "lr", "beta", "alpha")  # Lyapunov.py's function is for these settings, either update order


def reference_differences(config: Config, keys: Sequence[str] = tuple(REFERENCE)) -> list[str]:
    """The settings of ``config`` that differ from the reference demo's (:data:`REFERENCE`), as ``"η = 0.2"`` texts.

    Parameters
    ----------
    config : Config
    keys : sequence of str
        The fields compared.

    Returns
    -------
    list of str
        Empty when ``config`` has the reference values of all ``keys``.
    """
    names = {"game": "game", "lr": "η", "beta": "β", "alpha": "α", "lead_order": "LEAD order"}
    return [f"{names[k]} = {getattr(config, k)} (reference {REFERENCE[k]})" for k in keys
            if getattr(config, k) != REFERENCE[k]]


def rate_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """LEAD's measured rate ``(‖w_k‖ / ‖w_{k−50}‖)^(1/50)`` within 1% of the closed-form ρ of the run's settings.

    Parameters
    ----------
    records : sequence of Record
        Records of a ``lead`` run.
    config : Config
        The run's config.

    Returns
    -------
    ClaimResult
    """
    if not config.use_lead:
        return judge(None, None, "", "LEAD is switched off in this run.")
    rho = lead_rate(config)
    rule = f"within {RATE_RTOL:.0%} of ρ = {rho:.5f} ({config.lead_order} LEAD)"
    rate = measured_rate(records, "lead", window=RATE_WINDOW, skip=RATE_SKIP)
    if rate is None:
        need = RATE_SKIP + RATE_WINDOW + 1
        if records[-1].metrics.get(method_metric("diverged", "lead"), 0.0):
            why = "LEAD passed ‖w‖ = 10⁶ before the measuring window was full"
        elif len(records) < need:
            why = f"waits for {need} steps ({len(records)} so far): the first {RATE_SKIP} are transients"
        else:
            why = f"‖w‖ of LEAD fell below {TINY:g} before the measuring window was full"
        return judge(None, None, rule, why + ".")
    ok = abs(rate - rho) <= RATE_RTOL * rho
    return judge(rate, ok, rule, f"Measured over steps {records[-1].step - RATE_WINDOW}–{records[-1].step}.")


def gda_growth_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """Simultaneous GDA on ``xy`` grows by √(1 + η²) per step, to a relative 1e-6.

    Parameters
    ----------
    records : sequence of Record
        Records of a ``lead`` run.
    config : Config

    Returns
    -------
    ClaimResult
    """
    rho = math.sqrt(1.0 + config.lr**2)
    rule = f"within {GDA_RTOL:g} (relative) of √(1 + η²) = {rho:.6f}"
    if not config.use_simgda:
        return judge(None, None, rule, "Simultaneous GDA is switched off in this run.")
    if config.game != "xy":
        return judge(None, None, rule, f"The closed form √(1 + η²) is for f = xy; this run plays the {config.game} "
                     "game (tab B draws its ρ).")
    gone = method_metric("diverged", "simgda")
    norms = [r.metrics[method_metric("norm", "simgda")] for r in records if not r.metrics.get(gone, 0.0)]
    if len(norms) <= GDA_MIN_STEPS:
        return judge(None, None, rule, f"Waits for {GDA_MIN_STEPS + 1} steps before GDA passes ‖w‖ = 10⁶ "
                     f"({len(norms)} so far).")
    window = min(RATE_WINDOW, len(norms) - 1)
    rate = (norms[-1] / norms[-1 - window]) ** (1.0 / window)
    return judge(rate, abs(rate - rho) <= GDA_RTOL * rho, rule, f"Measured over the last {window} steps before "
                 "GDA stopped or diverged.")


def final_norm_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """At the reference settings, after 100 steps ‖w‖ of LEAD is below 1e-4 and that of simultaneous GDA above 1.5.

    Parameters
    ----------
    records : sequence of Record
        Records of a ``lead`` run.
    config : Config

    Returns
    -------
    ClaimResult
        ``measured`` is LEAD's ‖w_100‖; GDA's is in the detail.
    """
    rule = f"‖w_{FINAL_STEP}‖: LEAD < {LEAD_MAX:.0e} and GDA (simultaneous) > {GDA_MIN:g}".replace("e-0", "e-")
    if not is_reference(config):
        diffs = reference_differences(config)
        off = [m for m, on in (("LEAD", config.use_lead), ("GDA (simultaneous)", config.use_simgda)) if not on]
        why = "; ".join(diffs + [f"{m} is switched off" for m in off])
        return judge(None, None, rule, f"Judged only at the reference settings (f = xy, η = 0.1, β = 0.5, α = 0.51, "
                     f"simultaneous LEAD); this run has {why}.")
    if config.n_steps < FINAL_STEP:
        return judge(None, None, rule, f"The run has {config.n_steps} steps, fewer than {FINAL_STEP}.")
    rec = next((r for r in records if r.step == FINAL_STEP), None)
    if rec is None:
        return judge(None, None, rule, f"Waits for step {FINAL_STEP} ({records[-1].step} so far).")
    lead, gda = rec.metrics[method_metric("norm", "lead")], rec.metrics[method_metric("norm", "simgda")]
    return judge(lead, lead < LEAD_MAX and gda > GDA_MIN, rule,
                 f"At step {FINAL_STEP}: LEAD {lead:.3g}, GDA (simultaneous) {gda:.4g}.")


def lyapunov_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """At Lyapunov.py's settings, V_k = 2‖w_k − w_{k−1}‖² + 7.7‖w_k‖² never increases from k = 1 on.

    Parameters
    ----------
    records : sequence of Record
        Records of a ``lead`` run.
    config : Config

    Returns
    -------
    ClaimResult
        ``measured`` is the largest ratio V_k / V_{k−1} over the run so far.
    """
    rule = "largest V_k / V_(k−1) ≤ 1"
    if not config.use_lead:
        return judge(None, None, rule, "LEAD is switched off in this run.")
    diffs = reference_differences(config, _LYAP_KEYS)
    if diffs:
        return judge(None, None, rule, "The constants 2 and 7.7 are Lyapunov.py's for f = xy at η = 0.1, β = 0.5, "
                     f"α = 0.51 (either update order); this run has {'; '.join(diffs)}.")
    # From V_1, as Lyapunov.py's curve: the first step from rest raises V_0 = 7.7‖w_0‖² by η²(2 + 7.7) (1.3%)
    v = np.array([r.metrics[LYAPUNOV] for r in records])
    v = v[v > TINY]
    if len(v) < 2:
        return judge(None, None, rule, f"Waits for 2 steps ({len(records)} so far).")
    worst = float(np.max(v[1:] / v[:-1]))
    return judge(worst, worst <= 1.0 + 1e-12, rule, f"Over steps 1–{records[-1].step} (the reference's curve "
                 "also starts after the first step).")


def gan_modes_rule(records: Sequence[Any], config: GanConfig) -> ClaimResult:
    """At the end of the run, LEAD-Adam's modes covered (second half, mean over seeds) are at least Adam's.

    Parameters
    ----------
    records : sequence of Record
        Records of a ``lead_gan`` run.
    config : GanConfig

    Returns
    -------
    ClaimResult
        ``measured`` is LEAD-Adam's minus Adam's mean modes covered; the detail lists every seed.
    """
    rule = "LEAD-Adam − Adam ≥ 0 modes covered (mean over the second half of the run and over its seeds)"
    if records[-1].step < config.n_steps:
        return judge(None, None, rule, f"Judged when the run ends (step {records[-1].step} of {config.n_steps}).")
    from neurodyn.lead.study import seed_stats  # here, so that ``python -m neurodyn.lead.study`` runs it once

    rows = seed_stats(records, config)
    lead, adam = (float(np.mean([r[f"{o}_modes"] for r in rows])) for o in ("lead", "adam"))
    seeds = ", ".join(f"{r['lead_modes'] - r['adam_modes']:+.2f}" for r in rows)
    return judge(lead - adam, lead >= adam, rule, f"Modes covered over steps {records[len(records) // 2].step}–"
                 f"{records[-1].step}, mean over {config.n_seeds} seed(s): LEAD-Adam {lead:.2f}, Adam {adam:.2f} of 8; "
                 f"LEAD-Adam − Adam per seed: {seeds}. At small sizes seeds differ more than the optimizers do; "
                 "docs/papers/lead.md §11.1 has the study over many seeds.")
