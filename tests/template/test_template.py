"""The template paper: its closed-form rate against an independent numpy run, its claim's three verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from neurodyn.core import registry
from neurodyn.core.loop import Record, run
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from neurodyn.core.testing import check_experiment
from neurodyn.template import SPEC
from neurodyn.template.experiment import Config, LeastSquares, contraction_rate, measured_rate


def test_template_passes_the_experiment_contract():
    check_experiment("template")


@pytest.mark.parametrize("lr", [0.05, 0.1, 0.3])
def test_closed_form_rate_equals_the_error_contraction_of_a_numpy_run(lr):
    exp = LeastSquares(Config(lr=lr))
    X, y = exp.X.numpy(), exp.y.numpy()
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    rho = contraction_rate(exp.config)
    w, errs = np.zeros(X.shape[1]), []
    for _ in range(int(np.log(1e-10) / np.log(rho))):  # until the error is 1e-10 of its start: far above rounding
        w = w - lr * 2 * X.T @ (X @ w - y) / len(y)
        errs.append(np.linalg.norm(w - w_star))
    assert errs[-1] / errs[-2] == pytest.approx(rho, rel=1e-4)


def test_measured_rate_is_nan_before_two_losses():
    assert np.isnan(measured_rate(np.array([1.0])))
    assert measured_rate(np.array([4.0, 1.0])) == 0.5


def _records(losses):
    return [Record(k, {"loss": float(v)}) for k, v in enumerate(losses)]


def test_rate_claim_gives_each_verdict():
    cfg = Config()
    rho = contraction_rate(cfg)
    (claim,) = SPEC.claims
    good = claim.evaluate(_records(rho ** (2 * np.arange(30.0))), cfg)
    bad = claim.evaluate(_records((1.1 * rho) ** (2 * np.arange(30.0))), cfg)
    early = claim.evaluate(_records(rho ** (2 * np.arange(5.0))), cfg)
    assert (good.verdict, bad.verdict, early.verdict) == (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
    assert good.measured == pytest.approx(rho) and "waits for 10 steps" in early.detail


def test_rate_claim_is_reproduced_by_a_real_small_run():
    exp = registry.build("template", preset="small")
    records = list(run(exp))
    assert SPEC.claims[0].evaluate(records, exp.config).verdict == REPRODUCED
