"""Lyapunov spectra of RNNs during training (Vogt et al., arXiv:2006.14123).

``lyapunov_spectrum`` computes the spectrum of an ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` (analytic tangent maps) or
of any ``step(x_t, s)`` callable (batched JVPs); the experiments live in ``neurodyn.lyapunov.experiment``.
"""

from __future__ import annotations

from neurodyn.lyapunov.spectrum import (
    LyapunovSpectrum,
    iter_lyapunov_spectrum,
    kaplan_yorke_dimension,
    ks_entropy,
    lyapunov_spectrum,
)

__all__ = ["LyapunovSpectrum", "lyapunov_spectrum", "iter_lyapunov_spectrum", "kaplan_yorke_dimension", "ks_entropy"]
