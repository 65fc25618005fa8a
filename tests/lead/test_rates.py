from __future__ import annotations

import numpy as np

from neurodyn.core import registry
from neurodyn.core.loop import run
from neurodyn.lead.experiment import make_game
from neurodyn.lead.rates import measured_rate, rate_agrees
from neurodyn.lead.spectral import spectral_radius


def test_measured_rates_on_xy_match_the_closed_forms():
    # docs/papers/lead.md §9 check 3: GDA-sim grows by sqrt(1 + eta^2) per step; LEAD(0.1, 0.5, 0.51) contracts
    # at 0.87766
    exp = registry.build("lead", preset="small", n_steps=200, device="cpu")
    recs = list(run(exp))
    assert abs(measured_rate(recs, "simgda") - np.sqrt(1 + 0.1**2)) < 1e-6
    rho = float(spectral_radius("lead", make_game(exp.config), lr=0.1, beta=0.5, alpha=0.51))
    assert abs(rho - 0.87766) < 1e-5
    got = measured_rate(recs, "lead", window=50, skip=50)
    assert rate_agrees(got, rho, rtol=1e-3), (got, rho)


def test_no_rate_before_enough_steps():
    exp = registry.build("lead", preset="small", device="cpu")
    assert measured_rate(list(run(exp, 10)), "lead") is None
    assert rate_agrees(None, 0.9) is None
