"""LEAD: Least-Action Dynamics for min-max games (Hemmat, Mitra, Lajoie, Mitliagkas; arXiv:2010.13846).

``neurodyn.lead.optim`` holds the game optimizers (``LEAD`` and its baselines, ``LEADAdam`` for GANs),
``neurodyn.lead.functional`` their pure update rules, ``neurodyn.lead.games`` the games (bilinear, quadratic with
adversarialness, the 8-Gaussian GAN), ``neurodyn.lead.spectral`` the spectral-radius analysis,
``neurodyn.lead.experiment`` the experiments ``lead`` and ``lead_gan``, ``neurodyn.lead.claims`` the claim checks,
``neurodyn.lead.figures`` the page's charts and ``neurodyn.lead.page_support`` the page's pure helpers. The project's
account of the paper: ``docs/papers/lead.md``.
"""

from __future__ import annotations

from neurodyn.core.spec import Claim, ExperimentSpec, PaperSpec
from neurodyn.lead import claims as _claims
from neurodyn.lead.experiment import (
    GAN_PRESETS,
    PRESETS,
    Config,
    GanConfig,
    build,
    build_gan,
    gan_metrics,
    lead_metrics,
)
from neurodyn.lead.optim import (
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
    "SPEC",
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

_DOC = "docs/papers/lead.md"

SPEC = PaperSpec(
    key="lead",
    arxiv="2010.13846",
    title="LEAD: Min-Max Optimization from a Physical Perspective",
    claim="A velocity-coupling force from the mixed second derivative turns the cycling of gradient descent-ascent "
    "into linear convergence on min-max games.",
    short="LEAD vs gradient descent",
    icon="🧲",
    experiments=(
        ExperimentSpec(name="lead", title="LEAD against gradient-descent trajectories", config_cls=Config,
                       presets=PRESETS, build=build, metrics=lead_metrics),
        ExperimentSpec(name="lead_gan", title="LEAD-Adam against Adam on the 8-Gaussian GAN", config_cls=GanConfig,
                       presets=GAN_PRESETS, build=build_gan, metrics=gan_metrics),
    ),
    claims=(
        Claim(key="rate", experiment="lead", rule=_claims.rate_rule,
              text="LEAD's measured per-step rate equals the closed-form spectral radius ρ of its update at the run's "
              "settings.",
              source=f"[T] discrete spectral analysis, closed form per mode ({_DOC} §6)",
              paper_value="ρ = 0.87766 on f = xy at η = 0.1, β = 0.5, α = 0.51"),
        Claim(key="gda_growth", experiment="lead", rule=_claims.gda_growth_rule,
              text="Simultaneous gradient descent-ascent on f = xy spirals out, growing by √(1 + η²) per step.",
              source=f"[T] closed form ({_DOC} §6)", paper_value="1.00499 per step at η = 0.1"),
        Claim(key="final_norm", experiment="lead", rule=_claims.final_norm_rule,
              text="After 100 steps on f = xy at the reference demo's settings, LEAD is within 1e-4 of the "
              "equilibrium while simultaneous GDA has moved beyond ‖w‖ = 1.5.",
              source=f"[T] simulated from the closed-form update, settings of the authors' Lyapunov.py ({_DOC} §12)",
              paper_value="‖w_100‖: LEAD 2.45e-6, GDA (simultaneous) 1.645"),
        Claim(key="lyapunov", experiment="lead", rule=_claims.lyapunov_rule,
              text="LEAD's Lyapunov function V = 2‖Δw‖² + 7.7‖w‖² never increases on f = xy at the demo's settings "
              "(from the first step on, as the reference's curve).",
              source="[R] authors' repository, Lyapunov.py (constants 2 and 7.7)", paper_value="non-increasing"),
        Claim(key="gan_modes", experiment="lead_gan", rule=_claims.gan_modes_rule,
              text="On the 8-Gaussian mixture, LEAD-Adam covers at least as many of the 8 modes as Adam over the "
              "second half of training, averaged over the run's seeds (the paper shows LEAD-Adam finding all modes "
              "and keeping them while Adam drops some).",
              source=f"paper's 8-Gaussian figure (qualitative, no numbers); modes counted as in {_DOC} §7",
              paper_value=None),
    ),
)
