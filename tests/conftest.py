"""Suite-wide settings (one torch thread, a fixed numba cache) and the template paper registered for the core tests."""

from __future__ import annotations

import os
import sys
import warnings

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".numba_cache"))
warnings.filterwarnings("ignore", message=".*render_modes.*")

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))  # worker_probe must be importable by worker processes too

from neurodyn.core import registry
from neurodyn.template.experiment import Config as TemplateConfig
from neurodyn.template.experiment import LeastSquares

torch.set_num_threads(1)
registry.add_package("neurodyn.template")  # the template paper: a small, real experiment for the core tests


@pytest.fixture
def toy_registered():
    """The template paper's experiment spec (registered as ``template`` for the whole suite)."""
    return registry.get("template")


@pytest.fixture
def toy_config():
    return TemplateConfig


@pytest.fixture
def toy_build():
    return LeastSquares


@pytest.fixture
def rng_state():
    return np.random.get_state()[1].copy(), torch.get_rng_state().clone()
