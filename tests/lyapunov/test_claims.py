"""Claim checks of the Lyapunov paper (``docs/papers/lyapunov.md §9``): each verdict on synthetic records, and each
rule on a short real run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurodyn.core.loop import Record, run
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from neurodyn.lyapunov import SPEC
from neurodyn.lyapunov.experiment import Config, SweepConfig, build, build_sweep, spearman_rho

LN2 = math.log(2.0)


def claim(key: str):
    return next(c for c in SPEC.claims if c.key == key)


def training_records(spectra: dict[int, list[float]], n_steps: int = 400) -> list[Record]:
    """A ``lyapunov`` run's records: one per training step, a spectrum artifact at each given checkpoint."""
    recs = []
    for step in range(n_steps + 1):
        art = {}
        if step in spectra:
            art = {"le_step": float(step), "spectrum": np.array(spectra[step]), "val_loss": 2.0,
                   "lambda_max": spectra[step][0]}
        recs.append(Record(step, {"train_loss": 2.0}, art))
    return recs


def sweep_records(lam: list[float], loss: list[float]) -> list[Record]:
    return [Record(i, {"networks_done": float(i + 1)}, {"net": float(i), "p": 0.1, "lambda_max": a, "val_loss": b,
                                                        "lambda_mean": a - 1.0})
            for i, (a, b) in enumerate(zip(lam, loss))]


def test_claims_are_declared_with_derived_sources_and_no_paper_value():
    assert {c.key for c in SPEC.claims} == {"lambda_max_sign", "lambda_max_range", "sweep_rho"}
    assert all(c.paper_value is None and c.source.startswith("[D]") for c in SPEC.claims)
    assert "[D] −0.57 over 110 LSTM-512 networks" in claim("sweep_rho").source
    assert claim("sweep_rho").experiment == "lyapunov_sweep"


@pytest.mark.parametrize("units,lam_max,verdict", [
    ("nats", -0.3, REPRODUCED),
    ("nats", 0.2, NOT_REPRODUCED),
    ("bits", 0.04, REPRODUCED),  # within the +0.05 bits tolerance
    ("nats", 0.04, NOT_REPRODUCED),  # 0.058 bits
])
def test_sign_claim_verdicts(units, lam_max, verdict):
    cfg = Config(units=units)
    res = claim("lambda_max_sign").evaluate(training_records({0: [-0.7, -0.9], 400: [lam_max, -3.0]}), cfg)
    assert res.verdict == verdict
    assert res.measured == pytest.approx(lam_max if units == "bits" else lam_max / LN2)


@pytest.mark.parametrize("lam_max,verdict", [(-0.2, REPRODUCED), (-0.79, NOT_REPRODUCED), (0.1, NOT_REPRODUCED)])
def test_range_claim_verdicts(lam_max, verdict):
    res = claim("lambda_max_range").evaluate(training_records({0: [-0.5, -0.9], 400: [lam_max, -3.0]}), Config())
    assert res.verdict == verdict and res.measured == pytest.approx(lam_max / LN2)


@pytest.mark.parametrize("key", ["lambda_max_sign", "lambda_max_range"])
def test_trained_network_claims_wait_for_the_last_spectrum(key):
    recs = training_records({0: [-0.1, -0.9], 100: [-0.2, -2.0]})  # the run is still going
    res = claim(key).evaluate(recs, Config())
    assert res.verdict == INCONCLUSIVE and "trained network" in res.detail and res.measured is None


def test_sweep_claim_verdicts():
    cfg = SweepConfig()
    lam = list(np.linspace(-1.5, -0.2, 8))
    good = claim("sweep_rho").evaluate(sweep_records(lam, list(np.linspace(3.0, 2.0, 8))), cfg)
    assert good.verdict == REPRODUCED and good.measured == pytest.approx(-1.0)
    bad = claim("sweep_rho").evaluate(sweep_records(lam, list(np.linspace(2.0, 3.0, 8))), cfg)
    assert bad.verdict == NOT_REPRODUCED and bad.measured == pytest.approx(1.0)
    early = claim("sweep_rho").evaluate(sweep_records(lam[:5], list(np.linspace(3.0, 2.0, 5))), cfg)
    assert early.verdict == INCONCLUSIVE and "5 so far" in early.detail and early.measured == pytest.approx(-1.0)
    small = claim("sweep_rho").evaluate(sweep_records(lam[:4], [3.0, 2.5, 2.2, 2.0]), SweepConfig(n_networks=4))
    assert small.verdict == INCONCLUSIVE and "needs 8" in small.detail


def test_claim_rules_on_a_short_real_run():
    cfg = Config(hidden=12, n_steps=20, le_every=10, le_steps=30, le_warmup=5, device="cpu")
    recs = list(run(build(cfg)))
    last = [r for r in recs if "spectrum" in r.artifacts][-1]
    assert last.artifacts["le_step"] == 20.0
    for key in ("lambda_max_sign", "lambda_max_range"):
        res = claim(key).evaluate(recs, cfg)
        assert res.verdict != INCONCLUSIVE
        assert res.measured == pytest.approx(last.artifacts["spectrum"][0] / LN2)
    # the run as it was before the last spectrum: inconclusive
    cut = recs[:20]
    assert claim("lambda_max_sign").evaluate(cut, cfg).verdict == INCONCLUSIVE


def test_sweep_claim_on_a_short_real_sweep():
    cfg = SweepConfig(hidden=8, n_networks=8, n_steps=3, le_steps=20, le_warmup=0, le_chunk=20, device="cpu")
    recs = list(run(build_sweep(cfg)))
    res = claim("sweep_rho").evaluate(recs, cfg)
    assert res.verdict in (REPRODUCED, NOT_REPRODUCED)
    assert res.measured == pytest.approx(recs[-1].metrics["spearman_rho"])
    arts = [r.artifacts for r in recs if "lambda_max" in r.artifacts]
    assert res.measured == pytest.approx(spearman_rho([a["lambda_max"] for a in arts], [a["val_loss"] for a in arts]))
