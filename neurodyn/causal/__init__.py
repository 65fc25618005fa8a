"""Causal induction from pixels (Ke et al., arXiv:2107.00848): Chemistry and Physics worlds with a known causal
graph, and monolithic against modular and graph-network world models that must induce it from images. The
project's account: ``docs/papers/causal.md``."""

from __future__ import annotations

from neurodyn.causal.claims import scaling_rule, structure_rule
from neurodyn.causal.experiment import (
    PRESETS,
    SWEEP_PRESETS,
    Config,
    SweepConfig,
    build,
    build_sweep,
    metrics,
    sweep_metrics,
)
from neurodyn.core.spec import Claim, ExperimentSpec, PaperSpec

__all__ = ["SPEC"]

_SOURCE = ("paper abstract and summaries (the result tables were not read, card 03 §5); the ordering under the "
           "pessimistic rule is the project's test")

SPEC = PaperSpec(
    key="causal",
    arxiv="2107.00848",
    title="Systematic Evaluation of Causal Discovery in Visual Model-Based Reinforcement Learning",
    claim="World models with explicit object structure (one module per object, or a graph network) induce the "
    "causal dynamics of an environment from pixels better than monolithic ones, and scale better as the causal "
    "graph grows.",
    short="Causal induction",
    icon="🧪",
    experiments=(
        ExperimentSpec(name="causal", title="Causal induction from pixels: three world models in a Chemistry world",
                       config_cls=Config, presets=PRESETS, build=build, metrics=metrics),
        ExperimentSpec(name="causal_sweep", title="Causal induction: H@1 against the size of the graph",
                       config_cls=SweepConfig, presets=SWEEP_PRESETS, build=build_sweep, metrics=sweep_metrics),
    ),
    claims=(
        Claim(key="structure",
              text="The modular and graph-network models predict 5 steps ahead better than the monolithic model.",
              source=_SOURCE, paper_value=None, experiment="causal", rule=structure_rule),
        Claim(key="scaling",
              text="The structured models' lead over the monolithic model grows with the number of objects.",
              source=_SOURCE, paper_value=None, experiment="causal_sweep", rule=scaling_rule),
    ),
)
