"""Lyapunov spectra of RNNs during training (Vogt et al., arXiv:2006.14123); the project's account of the paper is
``docs/papers/lyapunov.md``.

``lyapunov_spectrum`` computes the spectrum of an ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` (analytic tangent maps) or
of any batched ``step(x_t, s)`` callable (automatic differentiation); the experiments live in
``neurodyn.lyapunov.experiment``. ``SPEC`` declares the paper, its two experiments and its claim checks.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from neurodyn.core.spec import Claim, ClaimResult, ExperimentSpec, PaperSpec, judge
from neurodyn.lyapunov.experiment import (
    PRESETS,
    SWEEP_PRESETS,
    Config,
    SweepConfig,
    build,
    build_sweep,
    metrics,
    spearman_rho,
    sweep_metrics,
)
from neurodyn.lyapunov.spectrum import (
    LyapunovSpectrum,
    iter_lyapunov_spectrum,
    kaplan_yorke_dimension,
    ks_entropy,
    lyapunov_spectrum,
)

__all__ = [
    "SPEC", "LyapunovSpectrum", "lyapunov_spectrum", "iter_lyapunov_spectrum", "kaplan_yorke_dimension", "ks_entropy",
]

#: The sweep's Spearman check needs this many finished networks (docs/papers/lyapunov.md §9).
MIN_SWEEP_NETWORKS = 8
#: Tolerance above 0 for "the trained network is not chaotic", in bits per step (finite-T noise of λ_max).
POSITIVE_TOLERANCE_BITS = 0.05
#: Lower end of the range where 93 % of the authors' trained networks put λ_max, in bits per step ([D]).
RANGE_LOW_BITS = -0.5

_D_DATA = ("computed by the project from the authors' grid-search data (shlizee/lyapunov-hyperopt, CharRNN/WP/HP/"
           "Grid Search: spectra at epoch 15, validation losses), not a number printed in the paper")


def _to_bits(value: float, units: str) -> float:
    return value if units == "bits" else value / math.log(2.0)


def _trained_spectrum(records: Sequence[Any], config: Config) -> dict[str, Any] | None:
    """Artifacts of the spectrum taken after the last update (the trained network), or None before it exists."""
    for r in reversed(records):
        a = r.artifacts
        if "spectrum" in a and "le_step" in a:
            return a if int(a["le_step"]) == config.n_steps else None
    return None


def _lambda_max_bits(records: Sequence[Any], config: Config) -> tuple[float | None, str]:
    art = _trained_spectrum(records, config)
    if art is None:
        done = [int(r.artifacts["le_step"]) for r in records if "le_step" in r.artifacts]
        return None, (f"waits for the spectrum of the trained network (training step {config.n_steps}); spectra so "
                      f"far at steps {done}" if done else "waits for the spectrum of the trained network")
    lam = float(np.asarray(art["spectrum"])[0])
    size = f"{config.cell.upper()}-{config.hidden}"
    return _to_bits(lam, config.units), (f"λ_max = {lam:.3f} {config.units}/step of the {size} after {config.n_steps} "
                                         f"training steps (the authors' networks: LSTM-512 after 15 epochs)")


def _sign_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    rule = f"λ_max ≤ +{POSITIVE_TOLERANCE_BITS} bits/step"
    value, detail = _lambda_max_bits(records, config)
    if value is None:
        return judge(None, None, rule, detail)
    return judge(value, value <= POSITIVE_TOLERANCE_BITS, rule, detail)


def _range_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    rule = f"{RANGE_LOW_BITS} ≤ λ_max ≤ +{POSITIVE_TOLERANCE_BITS} bits/step"
    value, detail = _lambda_max_bits(records, config)
    if value is None:
        return judge(None, None, rule, detail)
    return judge(value, RANGE_LOW_BITS <= value <= POSITIVE_TOLERANCE_BITS, rule, detail)


def _sweep_rule(records: Sequence[Any], config: SweepConfig) -> ClaimResult:
    rule = f"ρ < 0 over ≥ {MIN_SWEEP_NETWORKS} networks"
    done = [r.artifacts for r in records if "lambda_max" in r.artifacts and "val_loss" in r.artifacts]
    n = len(done)
    rho = spearman_rho([a["lambda_max"] for a in done], [a["val_loss"] for a in done]) if n >= 3 else None
    if n < MIN_SWEEP_NETWORKS:
        why = (f"this sweep has {config.n_networks} networks; the check needs {MIN_SWEEP_NETWORKS}"
               if config.n_networks < MIN_SWEEP_NETWORKS else
               f"waits for {MIN_SWEEP_NETWORKS} finished networks ({n} so far)")
        return judge(rho, None, rule, why)
    nets = f"{n} {config.cell.upper()}-{config.hidden} networks"
    return judge(rho, rho < 0, rule, f"Spearman ρ between λ_max and final validation loss over {nets}, init scale p "
                 f"in [{config.p_min}, {config.p_max}], {config.n_steps} training steps each, seed {config.seed}")


SPEC = PaperSpec(
    key="lyapunov",
    arxiv="2006.14123",
    title="On Lyapunov Exponents for RNNs",
    claim="The Lyapunov spectrum of a recurrent network, tracked through training, describes how it propagates "
    "information and predicts how well it will learn.",
    short="Lyapunov spectra",
    icon="🌀",
    experiments=(
        ExperimentSpec(name="lyapunov", title="Lyapunov spectra during training", config_cls=Config,
                       presets=PRESETS, build=build, metrics=metrics),
        ExperimentSpec(name="lyapunov_sweep",
                       title="Largest Lyapunov exponent against validation loss over an init-scale sweep",
                       config_cls=SweepConfig, presets=SWEEP_PRESETS, build=build_sweep, metrics=sweep_metrics),
    ),
    claims=(
        Claim(key="lambda_max_sign",
              text="A trained network is not chaotic: its largest exponent λ_max is at most 0 (tolerance "
              f"+{POSITIVE_TOLERANCE_BITS} bits/step for finite-time noise).",
              source="[D] 93% of 110 trained LSTM-512 networks have λ_max in [−0.5, 0] bits/step, 7% above 0; "
              + _D_DATA,
              paper_value=None, experiment="lyapunov", rule=_sign_rule),
        Claim(key="lambda_max_range",
              text="A trained network's λ_max lies just below 0, within 0.5 bits/step, where most of the authors' "
              "trained networks put it.",
              source=f"[D] 93% of 110 trained LSTM-512 networks in [−0.5, 0] bits/step; {_D_DATA}",
              paper_value=None, experiment="lyapunov", rule=_range_rule),
        Claim(key="sweep_rho",
              text="Across networks, a largest exponent closer to 0 goes with a lower final validation loss: "
              "Spearman ρ(λ_max, final validation loss) is negative.",
              source=f"[D] −0.57 over 110 LSTM-512 networks (−0.46 with spectra at epoch 4), {_D_DATA}; there the "
              "learning rate alone gives ρ = −0.52, here the init scale p plays that part",
              paper_value=None, experiment="lyapunov_sweep", rule=_sweep_rule),
    ),
)
