"""Experiments ``lead`` and ``lead_gan`` (LEAD, arXiv:2010.13846; ``docs/papers/lead.md`` §10).

``lead``: every enabled method starts from the same point of one quadratic game and the methods are stepped
together, one step each per ``step()``. Methods and their optimizer classes: ``simgda`` (SimGDA), ``altgda``
(AltGDA), ``eg`` (ExtraGradient), ``ogda`` (OptimisticGDA), ``hb`` (Momentum, simultaneous, ``beta``), ``nm``
(Momentum, alternating, ``nm_beta < 0``), ``co`` (ConsensusOptimization, ``gamma``) and ``lead`` (LEAD, ``beta``,
``alpha``; simultaneous or alternating). Metrics (:func:`lead_metrics`, names from :func:`method_metric`) per step
and method ``m``: ``norm_<m>`` = ||w_k||, ``f_<m>`` = f(w_k), ``grad_evals_<m>`` (gradient-equivalents so far),
``diverged_<m>``, plus :data:`LYAPUNOV` = ``V_k = 2 ||w_k - w_{k-1}||^2 + 7.7 ||w_k||^2`` (the constants of the
reference's bilinear demo, meaningful for ``xy``). A method whose ||w|| passes 1e6 is frozen there (metrics stay
finite; ``diverged_<m>`` turns 1). Artifacts every ``log_every`` steps: :func:`path_key` ``(m)``, the new points of
the path projected on ``(x_1, y_1)`` (shape (n_new, 2); the first record's segment starts at w_0), and in the first
record :data:`PLANE` = the coefficients ``(s_x, a, s_y)`` of f restricted to that plane, for the contour.

``lead_gan``: the 8-Gaussian mixture GAN trained by alternating Adam and by LEAD-Adam in the same ``step()``, on the
same batches, from the same initial weights, for ``n_seeds`` seeds at once (weights stacked along a leading axis).
Metrics (:func:`gan_metrics`, names from :func:`gan_metric`) per optimizer ``o`` in :data:`OPTIMIZERS` and seed
``i``: D and G losses (before the step), modes covered and high-quality fraction (``docs/papers/lead.md`` §7, on
``n_eval`` fixed-noise samples), their means over seeds, and the gradient-equivalents so far. Artifacts every
``log_every`` steps: :func:`samples_key` ``(o)``, ``n_samples`` generated points of seed 0, shape (n_samples, 2).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, numpy_generator, resolve_device, torch_generator
from neurodyn.core.spec import Metric
from neurodyn.lead.games import (
    QuadraticGame,
    StackedMLP,
    gan_losses,
    mode_stats,
    quadratic_game,
    random_bilinear_game,
    sample_eight_gaussians,
    xy_game,
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
)

__all__ = ["Config", "PRESETS", "LeadExperiment", "build", "make_game", "enabled_methods", "lead_metrics",
           "method_metric", "path_key", "LYAPUNOV", "PLANE", "START", "REFERENCE", "is_reference", "lead_rate",
           "GanConfig", "GAN_PRESETS", "GanExperiment", "build_gan", "gan_metrics", "gan_metric", "samples_key",
           "OPTIMIZERS", "OPTIMIZER_NAMES", "METHOD_NAMES"]

METHOD_NAMES = {
    "simgda": "GDA (simultaneous)",
    "altgda": "GDA (alternating)",
    "eg": "Extragradient",
    "ogda": "Optimistic GDA",
    "hb": "Heavy ball (+beta)",
    "nm": "Negative momentum (alt.)",
    "co": "Consensus optimization",
    "lead": "LEAD",
}
DIVERGED = 1e6  # ||w|| beyond which a method is frozen (keeps every metric finite)
START = math.sqrt(2) / 2  # Lyapunov.py's x_0 = y_0
LYAPUNOV = "lyapunov_lead"  # metric name of LEAD's Lyapunov function V_k
PLANE = "plane"  # artifact: f's coefficients (s_x, a, s_y) on the (x_1, y_1) plane
#: The reference bilinear demo's settings (Lyapunov.py: f = xy, eta = 0.1, beta = 0.5, alpha = 0.51), at which the
#: paper-numbers claims are judged (docs/papers/lead.md §12); LEAD simultaneous, as the analysis.
REFERENCE = {"game": "xy", "lr": 0.1, "beta": 0.5, "alpha": 0.51, "lead_order": "simultaneous"}
_QUANTITIES = ("norm", "f", "grad_evals", "diverged")
_UNITS = {"norm": ("", "‖w_k‖"), "f": ("", "f(w_k)"), "grad_evals": ("gradient-equivalents", "gradient evaluations"),
          "diverged": ("", "diverged (1 = yes)")}


@dataclass(frozen=True)
class Config:
    """Trajectories of LEAD and the baselines on one game."""

    game: str = param("xy", choices=("xy", "bilinear", "quadratic"), label="game",
                      help="f = xy; random 2x2 bilinear x^T A y (singular values in [0.5, 2]); or the 2-mode "
                           "quadratic game with adversarialness gamma")
    adversarialness: float = param(0.8, min=0.0, max=1.0, step=0.05, label="adversarialness γ (quadratic game)",
                                   help="quadratic game: 0 = cooperative minimisation, 1 = pure bilinear",
                                   applies=lambda v: v["game"] == "quadratic")
    lr: float = param(0.1, min=0.005, max=1.5, step=0.005, label="step size η",
                      help="step size eta, shared by all methods")
    beta: float = param(0.5, min=-0.9, max=0.95, step=0.01, label="momentum β (LEAD, heavy ball)",
                        help="momentum beta of LEAD and heavy ball", applies=lambda v: v["use_lead"] or v["use_hb"])
    alpha: float = param(0.51, min=0.0, max=1.5, step=0.01, label="LEAD coupling α", help="LEAD coupling alpha",
                         applies=lambda v: v["use_lead"])
    nm_beta: float = param(-0.3, min=-0.9, max=0.0, step=0.01, label="negative momentum β",
                           help="negative momentum (alternating) beta", applies=lambda v: v["use_nm"])
    gamma: float = param(0.5, min=0.0, max=2.0, step=0.05, label="consensus weight γ",
                         help="consensus optimization weight gamma", applies=lambda v: v["use_co"])
    lead_order: str = param("simultaneous", choices=("simultaneous", "alternating"), label="LEAD update order",
                            help="LEAD updates both players at once (the analysed form) or x first, as Lyapunov.py",
                            applies=lambda v: v["use_lead"])
    use_simgda: bool = param(True, label="GDA, simultaneous", help="run simultaneous GDA")
    use_altgda: bool = param(True, label="GDA, alternating", help="run alternating GDA")
    use_eg: bool = param(True, label="extragradient", help="run extragradient")
    use_ogda: bool = param(True, label="optimistic GDA", help="run optimistic GDA")
    use_hb: bool = param(False, label="heavy-ball momentum", help="run heavy-ball momentum (simultaneous)")
    use_nm: bool = param(False, label="negative momentum", help="run negative momentum (alternating)")
    use_co: bool = param(False, label="consensus optimization", help="run consensus optimization")
    use_lead: bool = param(True, label="LEAD", help="run LEAD")
    n_steps: int = param(200, min=10, max=5000, label="steps", help="steps of every method")
    log_every: int = param(5, min=1, max=500, label="draw the paths every k steps",
                           help="path artifacts every k steps")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed (random bilinear game)",
                      applies=lambda v: v["game"] == "bilinear")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")

    def __post_init__(self) -> None:
        if not any(getattr(self, f"use_{m}") for m in METHOD_NAMES):
            raise ValueError("enable at least one method (use_simgda, ..., use_lead)")


PRESETS: dict[str, Config] = {
    "small": Config(),
    "paper": Config(n_steps=100, log_every=1, use_hb=True, use_nm=True, use_co=True),  # Lyapunov.py: 100 its
    "talk": Config(game="quadratic", adversarialness=0.9, lr=0.28, beta=0.15, alpha=0.475, n_steps=300, use_nm=True),
}


def make_game(config: Config) -> QuadraticGame:
    """The game named by ``config.game`` (bilinear: drawn from ``config.seed``).

    Parameters
    ----------
    config : Config

    Returns
    -------
    QuadraticGame
    """
    if config.game == "xy":
        return xy_game()
    if config.game == "bilinear":
        return random_bilinear_game(2, numpy_generator(derive_seed(config.seed, "bilinear")))
    return quadratic_game(config.adversarialness, s=[0.5, 1.5], a=[0.5, 1.5])


def enabled_methods(config: Config) -> list[str]:
    """The methods ``config`` switches on, in ``METHOD_NAMES`` order.

    Parameters
    ----------
    config : Config

    Returns
    -------
    list of str
        Method keys, e.g. ``["simgda", "altgda", "eg", "ogda", "lead"]``.
    """
    return [m for m in METHOD_NAMES if getattr(config, f"use_{m}")]


def method_metric(quantity: str, method: str) -> str:
    """Name of a per-method metric of ``lead``: ``method_metric("norm", "lead") == "norm_lead"``.

    Parameters
    ----------
    quantity : {"norm", "f", "grad_evals", "diverged"}
    method : str
        A key of :data:`METHOD_NAMES`.

    Returns
    -------
    str
    """
    if quantity not in _QUANTITIES or method not in METHOD_NAMES:
        raise ValueError(f"no lead metric for quantity {quantity!r} and method {method!r}; quantities: "
                         f"{_QUANTITIES}, methods: {tuple(METHOD_NAMES)}")
    return f"{quantity}_{method}"


def path_key(method: str) -> str:
    """Artifact name of ``method``'s path segment: ``path_key("lead") == "path_lead"``."""
    if method not in METHOD_NAMES:
        raise ValueError(f"unknown method {method!r}; methods: {tuple(METHOD_NAMES)}")
    return f"path_{method}"


def lead_metrics(config: Config) -> tuple[Metric, ...]:
    """The metrics every record of a ``lead`` run with ``config`` carries (declared for the contract).

    Parameters
    ----------
    config : Config

    Returns
    -------
    tuple of Metric
        Four per enabled method (:func:`method_metric`), plus :data:`LYAPUNOV` when LEAD runs.
    """
    out = [Metric(method_metric(q, m), _UNITS[q][0], f"{_UNITS[q][1]}, {METHOD_NAMES[m]}")
           for m in enabled_methods(config) for q in _QUANTITIES]
    if config.use_lead:
        out.append(Metric(LYAPUNOV, "", "LEAD's Lyapunov function V_k"))
    return tuple(out)


def is_reference(config: Config) -> bool:
    """True when ``config`` has the reference bilinear demo's settings (:data:`REFERENCE`) and runs LEAD and GDA.

    Parameters
    ----------
    config : Config

    Returns
    -------
    bool
    """
    return all(getattr(config, k) == v for k, v in REFERENCE.items()) and config.use_lead and config.use_simgda


def lead_rate(config: Config) -> float:
    """Closed-form per-step rate ρ of LEAD at ``config`` on its game (``docs/papers/lead.md`` §6).

    The simultaneous update's ρ is the spectral radius of the 2-step operator; the alternating one's comes from the
    quartic per mode (``spectral_radius("altlead", ...)``).

    Parameters
    ----------
    config : Config

    Returns
    -------
    float
        Below 1 the iterates contract by ρ per step; above 1 they grow.
    """
    from neurodyn.lead.spectral import spectral_radius  # numpy only

    method = "lead" if config.lead_order == "simultaneous" else "altlead"
    return float(spectral_radius(method, make_game(config), lr=config.lr, beta=config.beta, alpha=config.alpha))


def _make_optimizer(method: str, groups: list[dict[str, Any]], c: Config) -> GameOptimizer:
    if method == "simgda":
        return SimGDA(groups, lr=c.lr)
    if method == "altgda":
        return AltGDA(groups, lr=c.lr)
    if method == "eg":
        return ExtraGradient(groups, lr=c.lr)
    if method == "ogda":
        return OptimisticGDA(groups, lr=c.lr)
    if method == "hb":
        return Momentum(groups, lr=c.lr, beta=c.beta)
    if method == "nm":
        return Momentum(groups, lr=c.lr, beta=c.nm_beta, alternating=True)
    if method == "co":
        return ConsensusOptimization(groups, lr=c.lr, gamma=c.gamma)
    return LEAD(groups, lr=c.lr, beta=c.beta, alpha=c.alpha, alternating=c.lead_order == "alternating")


class LeadExperiment:
    """All enabled methods on one game from one start, one step each per :meth:`step`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.total_steps = config.n_steps
        self.device = resolve_device(config.device)
        self.game = make_game(config)
        dt = torch.float64
        A, Sx, Sy = (torch.as_tensor(M, dtype=dt, device=self.device)
                     for M in (self.game.A, self.game.Sx, self.game.Sy))

        def f(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return 0.5 * (x @ (Sx @ x)) + x @ (A @ y) - 0.5 * (y @ (Sy @ y))

        self._f = f
        self.methods = enabled_methods(config)
        self._players: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._opts: dict[str, GameOptimizer] = {}
        for m in self.methods:
            x = torch.full((self.game.n,), START, dtype=dt, device=self.device, requires_grad=True)
            y = torch.full((self.game.m,), START, dtype=dt, device=self.device, requires_grad=True)
            self._players[m] = (x, y)
            self._opts[m] = _make_optimizer(m, [{"params": [x], "role": "min"}, {"params": [y], "role": "max"}], config)
        self._diverged = {m: False for m in self.methods}
        w0 = self._state(self.methods[0])
        with torch.no_grad():
            f0 = float(self._f(*self._players[self.methods[0]]))
        self._last = {m: {"norm": float(np.linalg.norm(w0)), "f": f0, "grad_evals": 0.0} for m in self.methods}
        self._segment = {m: [self._point(m)] for m in self.methods}
        self._lead_prev = w0
        self._lead_v = 7.7 * float(np.sum(w0**2))  # V_0: zero velocity
        self._k = 0

    @property
    def done(self) -> bool:
        """True once ``n_steps`` steps were taken."""
        return self._k >= self.total_steps

    def _state(self, m: str) -> np.ndarray:
        x, y = self._players[m]
        return torch.cat([x, y]).detach().cpu().numpy()

    def _point(self, m: str) -> list[float]:
        x, y = self._players[m]
        return [float(x[0].detach()), float(y[0].detach())]

    def step(self) -> Record:
        """Advance every method by one step and return norms, values, gradient-equivalents (and paths)."""
        metrics: dict[str, float] = {}
        for m in self.methods:
            x, y = self._players[m]
            if not self._diverged[m]:
                self._opts[m].step(lambda x=x, y=y: self._f(x, y))
                w = self._state(m)
                norm = float(np.linalg.norm(w))
                if not math.isfinite(norm) or norm > DIVERGED:
                    self._diverged[m] = True  # freeze at the last finite values
                else:
                    with torch.no_grad():
                        fval = float(self._f(x, y))
                    self._last[m] = {"norm": norm, "f": fval, "grad_evals": float(self._opts[m].grad_evals)}
                    self._segment[m].append(self._point(m))
            last = self._last[m]
            for q in ("norm", "f", "grad_evals"):
                metrics[method_metric(q, m)] = last[q]
            metrics[method_metric("diverged", m)] = float(self._diverged[m])
        if "lead" in self.methods:
            if not self._diverged["lead"]:
                w = self._state("lead")
                self._lead_v = 2.0 * float(np.sum((w - self._lead_prev) ** 2)) + 7.7 * float(np.sum(w**2))
                self._lead_prev = w
            metrics[LYAPUNOV] = self._lead_v
        self._k += 1
        artifacts: dict[str, Any] = {}
        if self._k == 1 or self._k % self.config.log_every == 0 or self.done:
            for m in self.methods:
                artifacts[path_key(m)] = np.asarray(self._segment[m], dtype=np.float64).reshape(-1, 2)
                self._segment[m] = []
            if self._k == 1:
                artifacts[PLANE] = np.asarray(self.game.plane(), dtype=np.float64)
        return Record(step=self._k, metrics=metrics, artifacts=artifacts)


def build(config: Config) -> LeadExperiment:
    """Build the ``lead`` experiment.

    Parameters
    ----------
    config : Config

    Returns
    -------
    LeadExperiment
    """
    return LeadExperiment(config)


# --------------------------------------------------------------------------- 8-Gaussian GAN
BETAS_D = (0.55, 0.9)  # reference Gaussians_py3.py
BETAS_G = (0.5, 0.9)
OPTIMIZERS = ("adam", "lead")
OPTIMIZER_NAMES = {"adam": "Adam", "lead": "LEAD-Adam"}
_GAN_PER_SEED = {"d_loss": ("nats", "D loss"), "g_loss": ("nats", "G loss"), "modes": ("modes", "modes covered"),
                 "hq": ("", "high-quality fraction")}
_GAN_SUMMARY = {"modes_mean": ("modes", "modes covered, mean over seeds"),
                "hq_mean": ("", "high-quality fraction, mean over seeds"),
                "grad_evals": ("gradient-equivalents", "gradient evaluations")}


@dataclass(frozen=True)
class GanConfig:
    """Adam vs LEAD-Adam on the 8-Gaussian mixture, several seeds trained at once."""

    lr: float = param(2e-3, min=1e-5, max=1e-2, log=True, label="Adam learning rate",
                      help="Adam learning rate (both players, both optimizers)")
    alpha: float = param(0.6, min=0.0, max=2.0, step=0.05, label="LEAD coupling α",
                         help="LEAD-Adam coupling alpha (reference: 0.6)")
    hidden: int = param(128, min=8, max=2000, label="hidden units per layer", help="hidden width of G and D")
    n_layers: int = param(2, min=1, max=4, label="hidden layers", help="hidden layers of G and D")
    z_dim: int = param(16, min=2, max=128, label="noise dimension", help="latent dimension of the generator")
    batch_size: int = param(128, min=16, max=1024, label="batch size", help="real and fake samples per step")
    n_seeds: int = param(2, min=1, max=8, label="seeds side by side",
                         help="seeds trained side by side (stacked weights)")
    hq_width: float = param(2.0, min=1.0, max=4.0, step=0.5, label="high-quality radius (× 3 std)",
                            help="high-quality radius in units of 3 std (widened 2x for small models, "
                                 "docs/papers/lead.md §7)")
    n_eval: int = param(256, min=100, max=5000, label="samples scored per step",
                        help="fixed-noise samples for mode coverage, every step")
    n_samples: int = param(1000, min=100, max=2500, label="points drawn in the scatter",
                           help="generated points per sample artifact (seed 0)")
    n_steps: int = param(1200, min=10, max=10000, label="training steps", help="training iterations")
    log_every: int = param(100, min=1, max=2000, label="draw the samples every k steps",
                           help="sample artifacts every k steps")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed (weights, data, noise)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")


def gan_metric(optimizer: str, quantity: str, seed: int | None = None) -> str:
    """Name of a ``lead_gan`` metric, the one place that builds them (the experiment, figures and claims use it).

    Parameters
    ----------
    optimizer : {"adam", "lead"}
    quantity : str
        Per seed (``seed`` given): ``"d_loss"``, ``"g_loss"``, ``"modes"``, ``"hq"``. Per optimizer (``seed``
        None): ``"modes_mean"``, ``"hq_mean"``, ``"grad_evals"``.
    seed : int, optional
        Index of the stacked seed, ``0 .. n_seeds - 1``.

    Returns
    -------
    str
        E.g. ``gan_metric("lead", "modes", 1) == "lead_modes_s1"``.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if seed is None:
        if quantity not in _GAN_SUMMARY:
            raise ValueError(f"{quantity!r} is not a per-optimizer metric; those are {tuple(_GAN_SUMMARY)} (per "
                             f"seed: {tuple(_GAN_PER_SEED)}, with seed=i)")
        return f"{optimizer}_{quantity}"
    if quantity not in _GAN_PER_SEED:
        raise ValueError(f"{quantity!r} is not a per-seed metric; those are {tuple(_GAN_PER_SEED)}")
    if seed < 0:
        raise ValueError(f"seed must be a stacked seed's index >= 0, got {seed}")
    return f"{optimizer}_{quantity}_s{seed}"


def samples_key(optimizer: str) -> str:
    """Artifact name of ``optimizer``'s generated points: ``samples_key("adam") == "samples_adam"``."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    return f"samples_{optimizer}"


def gan_metrics(config: GanConfig) -> tuple[Metric, ...]:
    """The metrics every record of a ``lead_gan`` run with ``config`` carries (declared for the contract).

    Parameters
    ----------
    config : GanConfig

    Returns
    -------
    tuple of Metric
        Per optimizer: four per seed (``d_loss``, ``g_loss``, ``modes``, ``hq``) and three summaries.
    """
    out = []
    for o in OPTIMIZERS:
        for i in range(config.n_seeds):
            out += [Metric(gan_metric(o, q, i), u, f"{lab}, {OPTIMIZER_NAMES[o]}, seed {i}")
                    for q, (u, lab) in _GAN_PER_SEED.items()]
        out += [Metric(gan_metric(o, q), u, f"{lab}, {OPTIMIZER_NAMES[o]}") for q, (u, lab) in _GAN_SUMMARY.items()]
    return tuple(out)


GAN_PRESETS: dict[str, GanConfig] = {
    # 2 x 128 ReLU, z 16, batch 128, lr 2e-3, 1200 iterations: two stacked seeds of both optimizers in about 40 s of
    # one CPU thread (docs/papers/lead.md §10)
    "small": GanConfig(),
    # Gaussians_py3.py: 3 x 2000 ReLU, z 64, Adam 3e-4, alpha 0.6, 5001 iterations, seed 1234, KDE every 100
    "paper": GanConfig(lr=3e-4, hidden=2000, n_layers=3, z_dim=64, n_seeds=1, hq_width=1.0, n_samples=2500,
                       n_steps=5001, seed=1234),
    # longer and with larger batches than small (about 4x its cost): 2 seeds, batch 256, lr 1e-3, 3000 iterations
    "talk": GanConfig(lr=1e-3, batch_size=256, n_steps=3000, n_eval=512),
}


class GanExperiment:
    """Alternating Adam and LEAD-Adam on the same batches, ``n_seeds`` stacked seeds each."""

    def __init__(self, config: GanConfig) -> None:
        self.config = c = config
        self.total_steps = c.n_steps
        self.device = dev = resolve_device(c.device)
        g_init = torch_generator(derive_seed(c.seed, "init"))
        S, h = c.n_seeds, c.hidden
        G = StackedMLP(S, (c.z_dim,) + (h,) * c.n_layers + (2,), g_init, device="cpu").to(dev)
        D = StackedMLP(S, (2,) + (h,) * c.n_layers + (1,), g_init, device="cpu").to(dev)
        self.models = {"adam": (G, D), "lead": (copy.deepcopy(G), copy.deepcopy(D))}
        self.opts = {}
        for o, (G_o, D_o) in self.models.items():
            groups = [{"params": list(G_o.parameters()), "role": "min", "betas": BETAS_G},
                      {"params": list(D_o.parameters()), "role": "max", "betas": BETAS_D}]
            self.opts[o] = LEADAdam(groups, lr=c.lr, alpha=0.0 if o == "adam" else c.alpha, first="max")
        self._data = torch_generator(derive_seed(c.seed, "data"), device=dev)
        g_eval = torch_generator(derive_seed(c.seed, "eval"), device=dev)
        self._z_eval = torch.randn(S, c.n_eval, c.z_dim, generator=g_eval, device=dev)
        self._z_show = torch.randn(1, c.n_samples, c.z_dim, generator=g_eval, device=dev)
        self._k = 0

    @property
    def done(self) -> bool:
        """True once ``n_steps`` iterations were taken."""
        return self._k >= self.total_steps

    def _closure(self, o: str, real: torch.Tensor, z: torch.Tensor, store: dict[str, torch.Tensor]
                 ) -> Callable[[], Any]:
        G, D = self.models[o]

        def closure() -> tuple[torch.Tensor, torch.Tensor]:
            g_loss, d_loss = gan_losses(G, D, real, z, per_seed=True)  # (S,), (S,)
            if not store:  # the first call sees the weights before the step
                store["g"], store["d"] = g_loss.detach(), d_loss.detach()
            return g_loss.sum(), d_loss.sum()

        return closure

    def step(self) -> Record:
        """One iteration of both optimizers on one batch per seed; losses and mode coverage per seed."""
        c = self.config
        S = c.n_seeds
        real = sample_eight_gaussians((S, c.batch_size), self._data, device=self.device)  # (S, B, 2)
        z = torch.randn(S, c.batch_size, c.z_dim, generator=self._data, device=self.device)
        metrics: dict[str, float] = {}
        for o in OPTIMIZERS:
            G, _ = self.models[o]
            store: dict[str, torch.Tensor] = {}
            self.opts[o].step(self._closure(o, real, z, store))
            with torch.no_grad():
                samples = G(self._z_eval).cpu().numpy()  # (S, n_eval, 2)
            modes, hq = mode_stats(samples, width=c.hq_width)
            d_loss, g_loss = store["d"].cpu().numpy(), store["g"].cpu().numpy()
            for i in range(S):
                metrics[gan_metric(o, "d_loss", i)] = float(d_loss[i])
                metrics[gan_metric(o, "g_loss", i)] = float(g_loss[i])
                metrics[gan_metric(o, "modes", i)] = float(modes[i])
                metrics[gan_metric(o, "hq", i)] = float(hq[i])
            metrics[gan_metric(o, "modes_mean")] = float(np.mean(modes))
            metrics[gan_metric(o, "hq_mean")] = float(np.mean(hq))
            metrics[gan_metric(o, "grad_evals")] = float(self.opts[o].grad_evals)
        self._k += 1
        artifacts: dict[str, Any] = {}
        if self._k == 1 or self._k % c.log_every == 0 or self.done:
            for o in OPTIMIZERS:
                G, _ = self.models[o]
                with torch.no_grad():
                    seed0 = _first_seed(G, self._z_show)  # (1, n_samples, 2)
                artifacts[samples_key(o)] = seed0.reshape(-1, 2).cpu().numpy().astype(np.float64)
        return Record(step=self._k, metrics=metrics, artifacts=artifacts)


def _first_seed(G: StackedMLP, z: torch.Tensor) -> torch.Tensor:
    """Run only the first stacked network on ``z`` of shape (1, n, z_dim)."""
    h = z
    last = len(G.weights) - 1
    for i, (w, b) in enumerate(zip(G.weights, G.biases)):
        h = torch.baddbmm(b[:1], h, w[:1])  # (1, n, d_out)
        if i < last:
            h = torch.relu(h)
    return h


def build_gan(config: GanConfig) -> GanExperiment:
    """Build the ``lead_gan`` experiment.

    Parameters
    ----------
    config : GanConfig

    Returns
    -------
    GanExperiment
    """
    return GanExperiment(config)


