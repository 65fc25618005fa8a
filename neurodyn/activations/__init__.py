"""Adaptive activations (Geadah et al., arXiv:2006.12253): the γ(x; n, s) family between ReLU and sigmoid, learned
per network or per neuron in a recurrent network. The project's account: ``docs/papers/activations.md``."""

from __future__ import annotations

from neurodyn.activations.claims import (
    LANDSCAPE_MARGIN,
    SHIFT_MARGIN,
    SPEED_NOISE,
    landscape_rule,
    shift_rule,
    speed_rule,
)
from neurodyn.activations.experiment import (
    GRID_METRICS,
    GRID_PRESETS,
    METRICS,
    PRESETS,
    SHIFT_METRICS,
    SHIFT_PRESETS,
    Config,
    GridConfig,
    ShiftConfig,
    build,
    build_grid,
    build_shift,
)
from neurodyn.activations.gamma import AdaptiveActivation, gamma
from neurodyn.activations.rnn import GammaRNN, GammaRNNGrid
from neurodyn.activations.tasks import SinTransform, StepTransform, permuted_digits
from neurodyn.core.spec import Claim, ExperimentSpec, PaperSpec

__all__ = ["SPEC", "gamma", "AdaptiveActivation", "GammaRNN", "GammaRNNGrid", "SinTransform", "StepTransform",
           "permuted_digits"]

SPEC = PaperSpec(
    key="activations",
    arxiv="2006.12253",
    title="Advantages of biologically-inspired adaptive neural activation in RNNs during learning",
    claim="Letting recurrent networks learn the shape of their activation, between ReLU-like and sigmoid-like, can "
    "speed up learning, and the best shapes sit away from the usual choices.",
    short="Adaptive activations",
    icon="🎚️",
    experiments=(
        ExperimentSpec(name="activations", title="Adaptive activations: static, homogeneous and heterogeneous",
                       config_cls=Config, presets=PRESETS, build=build, metrics=METRICS),
        ExperimentSpec(name="activations_grid", title="Adaptive activations: the landscape over (n, s)",
                       config_cls=GridConfig, presets=GRID_PRESETS, build=build_grid, metrics=GRID_METRICS),
        ExperimentSpec(name="activations_shift", title="Adaptive activations: a change of input statistics",
                       config_cls=ShiftConfig, presets=SHIFT_PRESETS, build=build_shift, metrics=SHIFT_METRICS),
    ),
    claims=(
        Claim(key="speed",
              text="Networks that learn their activation shape, one shared (n, s) or one per neuron, learn at least as "
              "fast as the same network with the shape fixed.",
              source="[A] abstract (adaptation \"in some cases improves both learning speed and performance\"); the "
              f"tolerance of {SPEED_NOISE:.2f} is the project's (single-seed differences of a few points are noise, "
              "activations.md §7)", paper_value=None, experiment="activations", rule=speed_rule),
        Claim(key="landscape",
              text="Over the grid of fixed shapes, non-saturating starts (s = 0) end clearly more accurate than "
              "saturating ones (s = 1).",
              source="[R] vgeadah/NonlinMod performance_figure.py @18d5116 (best starts have s = 0 on every task); the "
              f"margin of {LANDSCAPE_MARGIN:.2f} is the project's threshold", paper_value=None,
              experiment="activations_grid", rule=landscape_rule),
        Claim(key="shift",
              text="After a change of input statistics, re-tuning the activation shapes alone recovers part of the "
              "lost accuracy.",
              source="[A] abstract (\"activation adaptation alone may help mitigate changes in input statistics\"); "
              "the sinusoidal protocol follows the authors' SinTransform and is unverified as the paper's; the margin "
              f"of {SHIFT_MARGIN:.2f} is the project's", paper_value=None, experiment="activations_shift",
              rule=shift_rule),
    ),
    warmup=permuted_digits,  # scikit-learn's digits: read once per process
)
