"""Experiment registry: name -> spec (config class, presets, build function, title, paper).

Experiment modules are imported lazily, so ``import neurodyn.core.registry`` stays cheap. A module either defines
the module-level names ``Config``, ``PRESETS``, ``build``, ``TITLE`` (and optionally ``PAPER``) for one experiment,
or a dict ``EXPERIMENTS = {name: (Config, PRESETS, build, TITLE)}`` for several.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from neurodyn.core.config import ConfigError, apply_overrides, validate

__all__ = ["ExperimentSpec", "PAPERS", "Paper", "names", "get", "make_config", "build"]

# name -> module path. Only experiments that work are listed here (no placeholders).
_MODULES: dict[str, str] = {
    "attention": "neurodyn.attention.experiment",
    "lead": "neurodyn.games.experiment",
    "lead_gan": "neurodyn.games.experiment",
    "lyapunov": "neurodyn.lyapunov.experiment",
    "lyapunov_sweep": "neurodyn.lyapunov.experiment",
    "udemd": "neurodyn.udemd.experiment",
    "brims": "neurodyn.brims.experiment",
}


@dataclass(frozen=True)
class ExperimentSpec:
    """What the registry knows about one experiment."""

    name: str
    config_cls: type
    presets: Mapping[str, Any]
    build: Callable[[Any], Any]
    title: str
    paper: str
    module: str

    def config(self, preset: str = "small", overrides: Mapping[str, Any] | None = None) -> Any:
        """Return the preset's config with ``overrides`` applied (see :func:`make_config`)."""
        if preset not in self.presets:
            raise ConfigError(
                f"unknown preset {preset!r} for experiment {self.name!r}; valid presets: {', '.join(self.presets)}"
            )
        cfg = self.presets[preset]
        return apply_overrides(cfg, dict(overrides)) if overrides else validate(cfg)


@dataclass(frozen=True)
class Paper:
    """One of the ten papers, as the home page lists it."""

    key: str
    title: str
    arxiv: str
    claim: str
    page: str | None  # page file under pages/ once the page works, else None ("planned")
    experiments: tuple[str, ...] = ()
    short: str = ""  # navigation label
    icon: str = "📄"


PAPERS: tuple[Paper, ...] = (
    Paper("attention", "Compositional Attention: Disentangling Search and Retrieval", "2110.09419",
          "Letting every search pick its retrieval dynamically makes heads specialise and generalise better "
          "than the rigid pairing of multi-head attention.", "compositional_attention.py", ("attention",), short="Compositional attention", icon="🔀"),
    Paper("lyapunov", "On Lyapunov Exponents for RNNs", "2006.14123",
          "The Lyapunov spectrum of a recurrent network, tracked through training, describes how it propagates "
          "information and predicts how well it will learn.", "lyapunov.py", ("lyapunov", "lyapunov_sweep"), short="Lyapunov spectra", icon="🌀"),
    Paper("lead", "LEAD: Min-Max Optimization from a Physical Perspective", "2010.13846",
          "A velocity-coupling force from the mixed second derivative turns the cycling of gradient "
          "descent-ascent into linear convergence on min-max games.", "lead.py", ("lead", "lead_gan"), short="LEAD vs gradient descent", icon="🧲"),
    Paper("udemd", "Embedding Signals on Graphs with Unbalanced Diffusion EMD", "2107.12334",
          "Multiscale graph diffusion gives an L1 embedding whose distances approximate an unbalanced "
          "earth mover's distance between signals, fast enough to embed thousands of them.", "udemd.py", ("udemd",), short="UDEMD", icon="🕸️"),
    Paper("brims", "Learning to Combine Top-Down and Bottom-Up Signals (BRIMs)", "2006.16981",
          "Recurrent modules that attend both to the input and to higher layers are more robust to "
          "distribution shift.", "brims.py", ("brims",), short="BRIMs", icon="🧩"),
    Paper("activations", "Advantages of biologically-inspired adaptive neural activation in RNNs", "2006.12253",
          "Learning each unit's activation shape, with adaptation, helps recurrent networks learn and stay "
          "robust to input changes.", None, short="Adaptive activations", icon="📈"),
    Paper("starvation", "Gradient Starvation: A Learning Proclivity in Neural Networks", "2011.09468",
          "Cross-entropy training lets a few dominant features starve the others of gradient; spectral "
          "decoupling counters it.", None, short="Gradient starvation", icon="🍂"),
    Paper("alignment", "Implicit Regularization via Neural Feature Alignment", "2008.00938",
          "During training the tangent features align with the target, a form of implicit regularisation "
          "that the tangent kernel's alignment measures.", None, short="Feature alignment", icon="🧭"),
    Paper("causal", "Systematic Evaluation of Causal Discovery in Visual Model-Based RL", "2107.00848",
          "Environments with known causal graphs show how well world models induce causal structure, and "
          "where they fail.", None, short="Causal induction", icon="🔗"),
    Paper("multitask", "Efficient and robust multi-task learning in the brain with modular latent primitives",
          "2105.14108", "A few pre-trained recurrent modules, recombined, learn new tasks with far fewer "
          "parameter updates and more robustly than one network trained on all.", None, short="Modular primitives", icon="🧱"),
)


def _load(module: str) -> dict[str, ExperimentSpec]:
    mod = importlib.import_module(module)
    paper = getattr(mod, "PAPER", "")
    table = getattr(mod, "EXPERIMENTS", None)
    if table is None:
        table = {None: (mod.Config, mod.PRESETS, mod.build, mod.TITLE)}
    out = {}
    for name, entry in table.items():
        config_cls, presets, build_fn, title = entry[:4]
        out[name] = ExperimentSpec(
            name=name or "", config_cls=config_cls, presets=presets, build=build_fn, title=title,
            paper=paper, module=module,
        )
    return out


_CACHE: dict[str, ExperimentSpec] = {}


def names() -> list[str]:
    """Return the registered experiment names, in registry order.

    Returns
    -------
    list of str
    """
    return list(_MODULES)


def get(name: str) -> ExperimentSpec:
    """Return the spec of experiment ``name`` (importing its module on first use).

    Parameters
    ----------
    name : str

    Returns
    -------
    ExperimentSpec

    Raises
    ------
    KeyError
        For an unknown name; the message lists the valid names.
    """
    if name not in _MODULES:
        raise KeyError(f"unknown experiment {name!r}; valid names: {', '.join(names()) or '(none)'}")
    if name not in _CACHE:
        for key, spec in _load(_MODULES[name]).items():
            key = key if key is not None else name
            if key in _MODULES and _MODULES[key] == _MODULES[name]:
                _CACHE[key] = ExperimentSpec(**{**spec.__dict__, "name": key})
    if name not in _CACHE:
        raise KeyError(f"module {_MODULES[name]} does not define experiment {name!r}")
    return _CACHE[name]


def make_config(name: str, preset: str = "small", **overrides: Any) -> Any:
    """Return the config of experiment ``name`` for ``preset`` with ``overrides`` applied and validated.

    Parameters
    ----------
    name : str
    preset : str, default "small"
    **overrides
        Field values (Python values or text forms).

    Returns
    -------
    The experiment's frozen config.
    """
    return get(name).config(preset, overrides)


def build(name: str, preset: str = "small", **overrides: Any) -> Any:
    """Build experiment ``name`` from a preset and overrides.

    Parameters
    ----------
    name : str
        A name from :func:`names`.
    preset : str, default "small"
    **overrides
        Config field values, e.g. ``seed=1``.

    Returns
    -------
    Experiment
    """
    spec = get(name)
    return spec.build(spec.config(preset, overrides))
