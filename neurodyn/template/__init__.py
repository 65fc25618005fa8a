"""The template paper: a minimal, complete paper package to copy when adding a paper (``docs/adding-a-paper.md``).

Its "paper" is gradient descent on least squares, whose claim, linear convergence at the closed-form rate
ρ = max_i |1 − η h_i|, a run can check. It is not in ``registry.PACKAGES`` (the dashboard does not list it); the tests
register it with ``registry.add_package("neurodyn.template")``.
"""

from __future__ import annotations

from neurodyn.core.spec import Claim, ExperimentSpec, PaperSpec
from neurodyn.template.claims import rate_rule
from neurodyn.template.experiment import METRICS, PRESETS, Config, build

__all__ = ["SPEC"]

SPEC = PaperSpec(
    key="template",
    arxiv="0000.00000",
    title="Template: gradient descent on least squares",
    claim="Gradient descent on a least-squares problem converges linearly at the rate set by the Hessian's extreme "
    "eigenvalues.",
    short="Template",
    icon="📐",
    experiments=(
        ExperimentSpec(name="template", title="Template: gradient descent on least squares", config_cls=Config,
                       presets=PRESETS, build=build, metrics=METRICS),
    ),
    claims=(
        Claim(key="rate", text="The loss contracts per step at the closed-form rate ρ = max_i |1 − η h_i|.",
              source="[T] closed form (template.md §2)", paper_value=None, experiment="template", rule=rate_rule),
    ),
)
