"""Suite-wide settings (one torch thread, a fixed numba cache) and a toy experiment for the core tests."""

from __future__ import annotations

import os
import sys
import warnings

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".numba_cache"))
warnings.filterwarnings("ignore", message=".*render_modes.*")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))  # toy_experiment must be importable by worker processes too

from neurodyn.core import registry  # noqa: E402
from toy_experiment import ToyConfig, ToyExperiment  # noqa: E402

torch.set_num_threads(1)

# --- a tiny but real experiment for the core, CLI and UI tests ---------------------------------------------


TOY_PRESETS = {"small": ToyConfig(), "paper": ToyConfig(n_steps=200)}


@pytest.fixture
def toy_registered(monkeypatch):
    """Register the toy experiment as ``toy`` for the duration of a test."""
    spec = registry.ExperimentSpec(
        name="toy", config_cls=ToyConfig, presets=TOY_PRESETS, build=ToyExperiment, title="Toy least squares",
        paper="", module=__name__,
    )
    monkeypatch.setitem(registry._MODULES, "toy", __name__)
    monkeypatch.setitem(registry._CACHE, "toy", spec)
    return spec


@pytest.fixture
def toy_config():
    return ToyConfig


@pytest.fixture
def toy_build():
    return ToyExperiment


@pytest.fixture
def rng_state():
    return np.random.get_state()[1].copy(), torch.get_rng_state().clone()
