"""Experiments ``lead`` and ``lead_gan``: the card's rates through the experiment, contract, paths, GAN metrics."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from neurodyn.core.config import ConfigError, apply_overrides, from_query, to_query
from neurodyn.core.loop import run
from neurodyn.core.testing import check_experiment
from neurodyn.games.experiment import GAN_PRESETS, PRESETS, Config, build, build_gan, start_record


def test_lead_experiment_reproduces_card_rates_on_xy():
    cfg = dataclasses.replace(PRESETS["small"], n_steps=100, device="cpu")
    recs = list(run(build(cfg)))
    assert len(recs) == 100 and recs[-1].step == 100
    norms = np.array([r.metrics["norm_simgda"] for r in recs])
    np.testing.assert_allclose(norms[1:] / norms[:-1], math.sqrt(1.01), rtol=1e-12)
    assert recs[-1].metrics["norm_lead"] == pytest.approx(2.45e-6, rel=0.05)  # card: ~2.4e-6 after 100
    assert recs[-1].metrics["grad_evals_lead"] == 200.0 and recs[-1].metrics["grad_evals_eg"] == 200.0
    V = np.array([r.metrics["lyapunov_lead"] for r in recs])
    assert np.all(np.diff(V) <= 0)


def test_lead_experiment_paths_concatenate_to_every_iterate():
    cfg = dataclasses.replace(PRESETS["small"], n_steps=23, log_every=5, device="cpu")
    recs = list(run(build(cfg)))
    logged = [r.step for r in recs if r.artifacts]
    assert logged == [1, 5, 10, 15, 20, 23]
    pts = np.concatenate([r.artifacts["path_lead"] for r in recs if r.artifacts])
    assert pts.shape == (24, 2)  # w_0 .. w_23
    np.testing.assert_allclose(pts[0], [math.sqrt(2) / 2] * 2)
    np.testing.assert_allclose(np.hypot(*pts[-1]), recs[-1].metrics["norm_lead"], rtol=1e-12)
    assert recs[0].artifacts["plane"].tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("game", ["xy", "bilinear", "quadratic"])
def test_start_record_is_where_the_run_starts(game):
    """The page's pre-run figure: f's plane and each enabled method's start, as the first record reports them."""
    cfg = dataclasses.replace(PRESETS["small"], game=game, use_co=True)
    before, first = start_record(cfg), build(cfg).step()
    np.testing.assert_array_equal(before.artifacts["plane"], first.artifacts["plane"])
    paths = sorted(k for k in first.artifacts if k.startswith("path_"))
    assert sorted(k for k in before.artifacts if k.startswith("path_")) == paths and "path_co" in paths
    for k in paths:
        np.testing.assert_array_equal(before.artifacts[k], first.artifacts[k][:1])


def test_diverging_methods_are_frozen_with_finite_metrics():
    cfg = Config(lr=1.5, n_steps=120, use_hb=True, device="cpu")
    recs = list(run(build(cfg)))
    last = recs[-1].metrics
    assert last["diverged_simgda"] == 1.0 and last["norm_simgda"] <= 1e6
    assert all(math.isfinite(v) for v in last.values())


@pytest.mark.parametrize("game", ["bilinear", "quadratic"])
def test_other_games_run_and_alternating_lead_converges(game):
    cfg = Config(game=game, lr=0.1, beta=0.3, alpha=0.3, lead_order="alternating", n_steps=150, use_co=True,
                 use_nm=True, device="cpu")
    recs = list(run(build(cfg)))
    assert recs[-1].metrics["norm_lead"] < 0.1 * recs[0].metrics["norm_lead"]
    assert recs[-1].metrics["grad_evals_lead"] == 3 * 150


def test_config_rejects_no_methods_and_round_trips():
    off = {f"use_{m}": False for m in ("simgda", "altgda", "eg", "ogda", "hb", "nm", "co", "lead")}
    with pytest.raises(ConfigError):
        apply_overrides(Config(), off)
    for cfg in list(PRESETS.values()) + list(GAN_PRESETS.values()):
        assert from_query(type(cfg), to_query(cfg))[0] == cfg


def test_lead_contract():
    from neurodyn.core import registry

    assert "lead" in registry.names()
    check_experiment("lead")


def test_lead_gan_contract_and_metrics():
    from neurodyn.core import registry

    if "lead_gan" in registry.names():
        check_experiment("lead_gan")
    cfg = dataclasses.replace(GAN_PRESETS["small"], n_steps=3, n_seeds=2, hidden=16, log_every=2, device="cpu")
    exp = build_gan(cfg)
    recs = list(run(exp))
    assert exp.done and [bool(r.artifacts) for r in recs] == [True, True, True]
    m = recs[-1].metrics
    for o in ("adam", "lead"):
        for i in range(2):
            assert 0 <= m[f"{o}_modes_s{i}"] <= 8 and 0 <= m[f"{o}_hq_s{i}"] <= 1
            assert m[f"{o}_d_loss_s{i}"] > 0
        assert recs[0].artifacts[f"samples_{o}"].shape == (cfg.n_samples, 2)
    assert m["adam_grad_evals"] == 3.0 and m["lead_grad_evals"] == 9.0
    # both optimizers start from the same weights and see the same batch: equal losses at step 1
    assert recs[0].metrics["adam_d_loss_s0"] == recs[0].metrics["lead_d_loss_s0"]


def test_small_gan_preset_fits_the_time_budget():
    """Per-step cost of the small preset, checked against the 60 s / 0.5 s budgets with a 2x margin for load."""
    import time

    cfg = dataclasses.replace(GAN_PRESETS["small"], device="cpu")
    exp = build_gan(cfg)
    exp.step()
    t0 = time.perf_counter()
    for _ in range(10):
        exp.step()
    per_step = (time.perf_counter() - t0) / 10
    assert per_step < 0.5
    assert per_step * cfg.n_steps < 120.0  # ~40 s on an idle core
