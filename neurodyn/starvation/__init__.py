"""Gradient starvation (Pezeshki et al., arXiv:2011.09468): with cross-entropy a strong feature starves weaker ones of
gradient; spectral decoupling (an L2 penalty on the logits) lets each feature settle on its own. The project's
account: ``docs/papers/starvation.md``."""

from __future__ import annotations

from neurodyn.starvation.functional import (
    linear_toy,
    per_class_decoupling_loss,
    sd_fixed_point,
    spectral_decoupling_loss,
    two_moons,
)
from neurodyn.starvation.mlp import StackedMLP

__all__ = ["spectral_decoupling_loss", "per_class_decoupling_loss", "sd_fixed_point", "two_moons", "linear_toy",
           "StackedMLP"]
