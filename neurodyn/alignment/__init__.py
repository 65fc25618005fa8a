"""Neural feature alignment (Baratin et al., arXiv:2008.00938): during training the tangent kernel's top directions
turn towards the labels, its spectrum concentrates, and examples with random labels align less. The project's
account: ``docs/papers/alignment.md``."""

from __future__ import annotations

from neurodyn.alignment.claims import erank_rule, noise_rule, rise_rule
from neurodyn.alignment.experiment import PRESETS, Config, build, metrics
from neurodyn.alignment.kernel import (
    alignment_numerator,
    center_kernel,
    centered_alignment,
    cumulative_spectrum,
    effective_rank,
    tangent_kernel,
)
from neurodyn.core.spec import Claim, ExperimentSpec, PaperSpec

__all__ = ["SPEC", "tangent_kernel", "center_kernel", "centered_alignment", "alignment_numerator", "effective_rank",
           "cumulative_spectrum"]

_FIG = ("paper Figures 2-3 (VGG19 on CIFAR-10; read off the authors' figure notebooks, PAPER-NUMBERS 07); the "
        "thresholds are the project's (card 07 check 9)")

SPEC = PaperSpec(
    key="alignment",
    arxiv="2008.00938",
    title="Implicit Regularization via Neural Feature Alignment",
    claim="During training the network's tangent features align with the labels: the tangent kernel's top "
    "eigen-directions turn towards the task and its spectrum concentrates, less so for examples with random labels.",
    short="Feature alignment",
    icon="🧭",
    experiments=(
        ExperimentSpec(name="alignment", title="Feature alignment: the tangent kernel of a digits MLP in training",
                       config_cls=Config, presets=PRESETS, build=build, metrics=metrics),
    ),
    claims=(
        Claim(key="rise",
              text="The tangent kernel's alignment with the labels rises several-fold early in training, then "
              "declines while staying above its start.",
              source=_FIG, paper_value="≈0.02 at init, peak ≈0.2 near 10⁴ steps, ≈0.13 by 3·10⁵ (VGG19, CIFAR-10)",
              experiment="alignment", rule=rise_rule),
        Claim(key="erank",
              text="The kernel's spectrum concentrates: its effective rank falls during training.",
              source=_FIG, paper_value="effective rank ≈680 at init, ≈250-300 after about 200 steps (VGG19, CIFAR-10)",
              experiment="alignment", rule=erank_rule),
        Claim(key="noise",
              text="Examples with random labels align less: the clean probe stays above the corrupted one.",
              source=_FIG, paper_value="peak alignment with 50% random labels: clean ≈0.11 against noisy ≈0.06",
              experiment="alignment", rule=noise_rule),
    ),
)
