"""Experiments ``lyapunov`` and ``lyapunov_sweep``: contract, schedule of spectra, figure 1 and 2 facts
(``docs/papers/lyapunov.md §5``)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import scipy.stats

from neurodyn.core.loop import run
from neurodyn.core.testing import check_experiment
from neurodyn.lyapunov.experiment import (
    PRESETS,
    SWEEP_PRESETS,
    Config,
    SweepConfig,
    build,
    build_sweep,
    run_init_sweep,
    spearman_rho,
)
from neurodyn.lyapunov.tasks import load_corpus

LE_METRICS = ("val_loss", "lambda_max", "lambda_mean", "n_positive", "kaplan_yorke_dim", "ks_entropy", "le_seconds")


@pytest.mark.parametrize("name", ["lyapunov", "lyapunov_sweep"])
def test_experiment_contract(name):
    check_experiment(name, preset="small")


def test_corpus_is_offline_python_help_text_split_ninety_ten():
    corpus = load_corpus()
    n = len(corpus.train) + len(corpus.val)
    assert n > 300_000 and abs(len(corpus.val) / n - 0.1) < 1e-3
    assert 60 <= corpus.n_symbols <= 100
    assert "def" in corpus.decode(corpus.train[:5000])


def test_tiny_gru_weights_give_exponents_near_log_half():
    # §5 figure 1: a GRU with tiny weights has z ~ 1/2, so every exponent is ~ log 0.5 = -0.69 nats (-1 bit)
    cfg = Config(init_scale=0.01, n_steps=1, le_every=1, le_steps=100, le_warmup=10, device="cpu")
    recs = list(run(build(cfg)))
    spectra = [r.artifacts["spectrum"] for r in recs if r.artifacts]
    assert len(spectra) == 2  # before and after the single update
    assert np.max(np.abs(spectra[0] - math.log(0.5))) < 0.05
    bits = list(run(build(Config(init_scale=0.01, n_steps=1, le_every=1, le_steps=100, units="bits",
                                 device="cpu"))))
    assert np.max(np.abs([r for r in bits if r.artifacts][0].artifacts["spectrum"] + 1.0)) < 0.07


def test_spectra_are_scheduled_every_le_every_steps_and_at_the_end():
    cfg = Config(cell="lstm", lstm_state="h", hidden=16, n_steps=30, le_every=10, le_steps=40, le_warmup=8,
                 n_exponents=6, transpose_jacobian=True, units="bits", t_ons=2, device="cpu")
    exp = build(cfg)
    recs = list(run(exp))
    assert exp.done and len(recs) == exp.total_steps
    arts = [r.artifacts for r in recs if r.artifacts]
    assert [a["le_step"] for a in arts] == [0.0, 10.0, 20.0, 30.0]
    for a in arts:
        assert a["spectrum"].shape == (6,) and a["spectrum_std"].shape == (6,)
        assert a["curves"].shape[1] == 5 and a["curves"].shape[0] == a["curve_steps"].shape[0]
        assert np.all(np.diff(a["spectrum"]) <= 0) and np.isfinite(a["spectrum"]).all()
    keys = set(recs[0].metrics)
    assert all(set(r.metrics) == keys for r in recs) and set(LE_METRICS) <= keys
    assert all(math.isfinite(v) for r in recs for v in r.metrics.values())
    assert recs[-1].metrics["le_checkpoint"] == 30.0 and recs[-1].metrics["train_step"] == 30.0


@pytest.mark.slow
def test_small_preset_runs_within_a_minute_and_learns():
    exp = build(PRESETS["small"].__class__(**{**PRESETS["small"].__dict__, "device": "cpu"}))
    t0 = time.perf_counter()
    recs = list(run(exp))
    elapsed = time.perf_counter() - t0
    assert elapsed < 60.0
    arts = [r.artifacts for r in recs if r.artifacts]
    assert [a["le_step"] for a in arts] == [0.0, 100.0, 200.0, 300.0, 400.0]
    val = [a["val_loss"] for a in arts]
    assert val[0] > 4.0 and val[-1] < 2.3  # measured 4.53 -> 2.02 (docs/papers/lyapunov.md §7)
    # §5 figure 1 (GRU): the tail falls while lambda_max stays near -0.5 to -0.8 nats
    assert arts[-1]["spectrum"][-1] < arts[0]["spectrum"][-1] - 3.0
    assert -1.0 < arts[-1]["lambda_max"] < 0.0


def test_spearman_rho_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 20).astype(float)
    y = x + rng.normal(size=20)
    assert spearman_rho(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
    assert spearman_rho([1.0, 2.0], [3.0, 4.0]) == 0.0 and spearman_rho([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) == 0.0


def test_sweep_steps_through_networks_and_reports_each_once():
    cfg = SweepConfig(hidden=8, n_networks=3, n_steps=5, le_steps=20, le_warmup=5, le_chunk=10, device="cpu")
    exp = build_sweep(cfg)
    recs = list(run(exp))
    arts = [r.artifacts for r in recs if r.artifacts]
    assert len(arts) == 3 and sorted(a["net"] for a in arts) == [0.0, 1.0, 2.0]
    assert all(0.04 <= a["p"] <= 0.5 for a in arts)
    assert recs[-1].metrics["networks_done"] == 3.0
    assert recs[-1].metrics["spearman_rho"] == pytest.approx(
        spearman_rho([a["lambda_max"] for a in arts], [a["val_loss"] for a in arts]))


@pytest.mark.slow
def test_small_sweep_finishes_within_two_minutes_and_lambda_max_tracks_loss():
    t0 = time.perf_counter()
    out = run_init_sweep(SweepConfig(**{**SWEEP_PRESETS["small"].__dict__, "device": "cpu"}))
    assert time.perf_counter() - t0 < 120.0
    assert out["spectra"].shape == (8, 32) and out["val_loss"].shape == (8,)
    # §5 figure 2: lower loss goes with lambda_max closer to 0; measured rho = -0.74, seed 0
    assert out["spearman_rho"] < -0.5


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [(Config, {"hidden": 16, "n_exponents": 40}, "n_exponents"),
     (SweepConfig, {"p_min": 0.3, "p_max": 0.2}, "p_min")],
)
def test_inconsistent_configs_raise_value_error(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)
