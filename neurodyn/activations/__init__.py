"""Adaptive activations (Geadah et al., arXiv:2006.12253): the γ(x; n, s) family between ReLU and sigmoid, learned
per network or per neuron in a recurrent network. The project's account: ``docs/papers/activations.md``."""

from __future__ import annotations

from neurodyn.activations.gamma import AdaptiveActivation, gamma
from neurodyn.activations.rnn import GammaRNN, GammaRNNGrid
from neurodyn.activations.tasks import SinTransform, StepTransform, permuted_digits

__all__ = ["gamma", "AdaptiveActivation", "GammaRNN", "GammaRNNGrid", "SinTransform", "StepTransform",
           "permuted_digits"]
