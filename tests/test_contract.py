"""Every registered experiment passes the contract (same seed -> same records, finite metrics, fast steps, ...)."""

from __future__ import annotations

import pytest

from neurodyn.core import registry
from neurodyn.core.config import validate
from neurodyn.core.testing import check_experiment


def test_at_least_the_first_headline_experiment_is_registered():
    assert "lead" in registry.names()


@pytest.mark.parametrize("name", registry.names())
def test_experiment_contract(name):
    check_experiment(name, preset="small")


@pytest.mark.parametrize("name", registry.names())
def test_every_preset_is_valid_and_small_and_paper_exist(name):
    spec = registry.get(name)
    assert {"small", "paper"} <= set(spec.presets)
    for cfg in spec.presets.values():
        validate(cfg)
