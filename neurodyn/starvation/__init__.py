"""Gradient starvation (Pezeshki et al., arXiv:2011.09468): with cross-entropy a strong feature starves weaker ones of
gradient; spectral decoupling (an L2 penalty on the logits) lets each feature settle on its own. The project's
account: ``docs/papers/starvation.md``."""

from __future__ import annotations

from neurodyn.core.spec import Claim, ExperimentSpec, PaperSpec
from neurodyn.starvation.claims import boundary_rule, sd_margin_rule, toy_decoupling_rule, toy_starvation_rule
from neurodyn.starvation.experiment import (
    METRICS,
    PRESETS,
    TOY_METRICS,
    TOY_PRESETS,
    Config,
    ToyConfig,
    build,
    build_toy,
    warmup,
)
from neurodyn.starvation.functional import (
    linear_toy,
    per_class_decoupling_loss,
    sd_fixed_point,
    spectral_decoupling_loss,
    two_moons,
)
from neurodyn.starvation.mlp import StackedMLP

__all__ = ["SPEC", "spectral_decoupling_loss", "per_class_decoupling_loss", "sd_fixed_point", "two_moons",
           "linear_toy", "StackedMLP"]

_TOY = "[R] mohammadpz/Gradient_Starvation, Figure_6/toy_fig_6.py (the paper's Figure 6 script)"

SPEC = PaperSpec(
    key="starvation",
    arxiv="2011.09468",
    title="Gradient Starvation: A Learning Proclivity in Neural Networks",
    claim="Cross-entropy training lets a few strong features starve the others of gradient; spectral decoupling, "
    "an L2 penalty on the logits, decouples them.",
    short="Gradient starvation",
    icon="🌗",
    experiments=(
        ExperimentSpec(name="starvation", title="Gradient starvation: decision boundaries on two moons",
                       config_cls=Config, presets=PRESETS, build=build, metrics=METRICS),
        ExperimentSpec(name="starvation_toy", title="Gradient starvation: the linear two-feature toy",
                       config_cls=ToyConfig, presets=TOY_PRESETS, build=build_toy, metrics=TOY_METRICS),
    ),
    claims=(
        Claim(key="boundary",
              text="With a margin between the classes, cross-entropy's boundary stays a straight line in the gap; "
              "spectral decoupling curves it and moves it away from the points (weight decay does not).",
              source="paper Figures 1 and 3 (pictures); the distances and the factors 1.2 Δ and 1.7 Δ are the "
              "project's boundary metrics (card 05 §4, check 6), not the paper's numbers",
              paper_value=None, experiment="starvation", rule=boundary_rule),
        Claim(key="sd_margin",
              text="Under spectral decoupling every training example settles at the same margin u*, the solution of "
              "λu = σ(−u), whatever the features' strengths.",
              source="[T] fixed point of the SD dynamics (paper §3, card §2.2); the tolerance 0.15 is the project's",
              paper_value=None, experiment="starvation", rule=sd_margin_rule),
        Claim(key="toy_starvation",
              text="In the linear two-feature model with weight decay, a stronger first feature lowers the second "
              "feature's response: gradient starvation.",
              source=_TOY, paper_value="|z2| = 1.64, 1.58, 1.47, 1.33, 1.18 for s1 = 2, 3, 4, 5, 6",
              experiment="starvation_toy", rule=toy_starvation_rule),
        Claim(key="toy_decoupling",
              text="With spectral decoupling the same model's responses do not depend on the first feature's "
              "strength.",
              source=_TOY, paper_value="z = (6.373, 1.708) for every s1", experiment="starvation_toy",
              rule=toy_decoupling_rule),
    ),
    warmup=warmup,  # torch.func's first Jacobian (about 2 s) and scikit-learn's moons, once per process
)
