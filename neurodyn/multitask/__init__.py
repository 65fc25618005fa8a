"""Modular latent primitives (Márton, Gagnon, Lajoie and Rajan, arXiv:2105.14108): nine cognitive tasks learned on
frozen recurrent modules pre-trained on the statistics of the task corpus, against separate networks, one joint
network and random modules; parameters, accuracy and robustness. The project's account: ``docs/papers/multitask.md``.
"""

from __future__ import annotations

from neurodyn.core.spec import Claim, ExperimentSpec, PaperSpec
from neurodyn.multitask.claims import efficiency_rule, primitives_rule, robustness_rule
from neurodyn.multitask.experiment import PRESETS, Config, build, metrics

__all__ = ["SPEC"]

SPEC = PaperSpec(
    key="multitask",
    arxiv="2105.14108",
    title="Efficient and robust multi-task learning in the brain with modular latent primitives",
    claim="A few recurrent modules, pre-trained on the statistics of a task corpus and then frozen, learn nine "
    "cognitive tasks with far fewer parameters and updates than separate or joint networks, and more robustly.",
    short="Modular primitives",
    icon="🧩",
    experiments=(
        ExperimentSpec(name="multitask", title="Modular latent primitives", config_cls=Config, presets=PRESETS,
                       build=build, metrics=metrics),
    ),
    claims=(
        Claim(key="efficiency",
              text="MoLaP stores fewer parameters for all tasks, and updates fewer per new task, than separate "
              "networks and a joint network.",
              source="[paper] abstract; exact closed forms of the reconstructed networks (card 04 §2.6)",
              paper_value=None, experiment="multitask", rule=efficiency_rule),
        Claim(key="primitives",
              text="Modules pre-trained on latent primitives learn the tasks better than random modules of the same "
              "shape.",
              source="[paper] abstract (the functional bias); the ordering against random modules is the project's "
              "test",
              paper_value=None, experiment="multitask", rule=primitives_rule),
        Claim(key="robustness",
              text="MoLaP's skills degrade less than the other strategies' under perturbations of the recurrent "
              "weights and silenced units.",
              source="[paper] abstract ('more robust to a broad range of perturbations'); which perturbations is the "
              "project's choice (card 04 §2.6)",
              paper_value=None, experiment="multitask", rule=robustness_rule),
    ),
)
