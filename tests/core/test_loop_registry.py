from __future__ import annotations

import json

import numpy as np
import pytest

from neurodyn.core import registry
from neurodyn.core.config import ConfigError
from neurodyn.core.loop import Record, non_finite_metrics, record_to_json, run
from neurodyn.core.seeding import derive_seed, numpy_generator, resolve_device, torch_generator
from neurodyn.core.testing import ContractError, check_experiment


def test_run_stops_at_done_or_at_n_steps(toy_build, toy_config):
    exp = toy_build(toy_config(n_steps=7))
    assert [r.step for r in run(exp, 3)] == [0, 1, 2]
    assert [r.step for r in run(exp)] == [3, 4, 5, 6] and exp.done


def test_run_stops_when_cancel_turns_true_and_asks_before_every_step(toy_build, toy_config):
    exp, asked = toy_build(toy_config(n_steps=50)), []

    def cancel():
        asked.append(exp.k)
        return exp.k >= 4

    assert [r.step for r in run(exp, cancel=cancel)] == [0, 1, 2, 3]
    assert asked == [0, 1, 2, 3, 4] and not exp.done


def test_record_json_turns_arrays_into_lists_and_nan_into_null():
    rec = Record(3, {"a": float("nan"), "b": 1.5}, {"x": np.arange(3.0)})
    out = json.loads(json.dumps(record_to_json(rec)))
    assert out == {"step": 3, "metrics": {"a": None, "b": 1.5}, "artifacts": {"x": [0.0, 1.0, 2.0]}}
    assert non_finite_metrics(rec) == ["a"]


def test_generators_are_fresh_and_reproducible_and_leave_global_state(rng_state):
    a = numpy_generator(5).normal(size=3)
    b = numpy_generator(5).normal(size=3)
    assert np.array_equal(a, b)
    ta = torch_generator(5).initial_seed()
    assert ta == 5
    assert derive_seed(1, "data") != derive_seed(1, "model") and derive_seed(1, "x") == derive_seed(1, "x")
    np_state, t_state = rng_state
    assert np.array_equal(np_state, np.random.get_state()[1])


def test_resolve_device_auto_is_cpu_without_cuda_and_rejects_nonsense():
    import torch

    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu-9")


def test_registry_builds_with_preset_and_overrides(toy_registered):
    exp = registry.build("template", preset="paper", lr="0.05", seed=3)
    assert exp.config.lr == 0.05 and exp.config.seed == 3 and exp.total_steps == 200
    assert "template" in registry.names()


def test_registry_unknown_name_and_preset_list_the_valid_ones(toy_registered):
    with pytest.raises(KeyError, match="template"):
        registry.get("nope")
    with pytest.raises(ConfigError, match="small, paper"):
        registry.build("template", preset="huge")


def test_template_passes_the_contract(toy_registered):
    check_experiment("template")


def test_contract_catches_slow_steps(toy_registered):
    toy_registered.presets["slow"] = toy_registered.config_cls(sleep=0.6)
    try:
        with pytest.raises(ContractError, match="0.5 s"):
            check_experiment("template", preset="slow")
    finally:
        del toy_registered.presets["slow"]


def test_every_paper_is_listed_once_with_an_arxiv_id():
    keys = [p.key for p in registry.papers()]
    assert keys[: len(registry.PACKAGES)] == list(registry.PACKAGES) and len(keys) == len(set(keys))
    assert all(p.arxiv.count(".") == 1 for p in registry.papers())
