"""LEAD: Least-Action Dynamics for min-max games (Hemmat, Mitra, Lajoie, Mitliagkas; arXiv:2010.13846).

``neurodyn.games.optim`` holds the game optimizers (``LEAD`` and its baselines, ``LEADAdam`` for GANs),
``neurodyn.games.functional`` their pure update rules, ``neurodyn.games.games`` the games (bilinear, quadratic with
adversarialness, the 8-Gaussian GAN) and ``neurodyn.games.spectral`` the spectral-radius analysis.
The experiments ``lead`` and ``lead_gan`` live in ``neurodyn.games.experiment`` (imported on demand).
"""

from __future__ import annotations

from neurodyn.games.optim import (
    LEAD,
    AltGDA,
    ConsensusOptimization,
    ExtraGradient,
    GameOptimizer,
    LEADAdam,
    Momentum,
    OptimisticGDA,
    SimGDA,
    mixed_hvp,
)

__all__ = [
    "GameOptimizer",
    "LEAD",
    "LEADAdam",
    "SimGDA",
    "AltGDA",
    "ExtraGradient",
    "OptimisticGDA",
    "Momentum",
    "ConsensusOptimization",
    "mixed_hvp",
]
