"""Spectral radii (docs/papers/lead.md §9, checks 1-3): the per-mode form against the full matrix, the map against
simulated rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurodyn.lead import LEAD
from neurodyn.lead.games import adversarial_gammas, quadratic_game, random_bilinear_game, xy_game
from neurodyn.lead.spectral import METHODS, best_rho_vs_adversarialness, spectral_radius, update_matrix

HYPER = {"lr": 0.2, "beta": 0.3, "alpha": 0.25, "gamma": 0.5}
NEEDS = {"gda": ("lr",), "altgda": ("lr",), "eg": ("lr",), "ogda": ("lr",), "momentum": ("lr", "beta"),
         "altmomentum": ("lr", "beta"), "co": ("lr", "gamma"), "lead": ("lr", "beta", "alpha"),
         "altlead": ("lr", "beta", "alpha")}


def random_diagonal_game(seed=0, d=5, gamma=0.7):
    rng = np.random.default_rng(seed)
    return quadratic_game(gamma, s=rng.uniform(0.1, 3.0, d), a=rng.uniform(0.1, 3.0, d))


@pytest.mark.parametrize("method", METHODS)
def test_per_mode_roots_equal_full_update_matrix(method):
    # §9 check 1 (d = 5, gamma = 0.7, eta = 0.2, beta = 0.3, alpha = 0.25), for every method
    for seed in range(3):
        game = random_diagonal_game(seed)
        h = {k: HYPER[k] for k in NEEDS[method]}
        assert spectral_radius(method, game, **h) == pytest.approx(
            spectral_radius(method, game, route="matrix", **h), abs=1e-9)
    bil = random_bilinear_game(3, 1)  # per-mode through the singular values of a rotated A
    h = {k: HYPER[k] for k in NEEDS[method]}
    assert spectral_radius(method, bil, **h) == pytest.approx(spectral_radius(method, bil, route="matrix", **h),
                                                              abs=1e-9)


def simulated_rate(game, n_burn=400, n_window=100, seed=0, **kw):
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.standard_normal(game.n), dtype=torch.float64, requires_grad=True)
    y = torch.tensor(rng.standard_normal(game.m), dtype=torch.float64, requires_grad=True)
    opt = LEAD([{"params": [x], "role": "min"}, {"params": [y], "role": "max"}], **kw)
    norms = []
    for k in range(n_burn + n_window + 1):
        if k >= n_burn:
            norms.append(torch.cat([x, y]).norm().item())
        opt.step(lambda: game.value(x, y))
    return (norms[-1] / norms[0]) ** (1.0 / n_window)


def test_simulated_lead_rate_equals_spectral_radius():
    # §9 check 2: after 400 steps the per-step contraction over 100 steps is rho(T_LEAD) to 1e-6
    game = random_diagonal_game(0)
    kw = dict(lr=0.2, beta=0.3, alpha=0.25)
    rho = float(spectral_radius("lead", game, route="matrix", **kw))
    assert simulated_rate(game, **kw) == pytest.approx(rho, abs=1e-6)


def test_rho_map_agrees_with_simulated_rates():
    """Panel B: points of the (eta, alpha) heat map match the contraction of the LEAD optimizer's iterates."""
    game = quadratic_game(0.8, s=[0.5, 1.0, 1.5], a=[0.5, 1.0, 1.5])
    etas, alphas = np.linspace(0.02, 1.0, 40), np.linspace(0.0, 1.0, 40)
    beta = 0.3
    rho_map = spectral_radius("lead", game, lr=etas[:, None], beta=beta, alpha=alphas[None, :])
    assert rho_map.shape == (40, 40)
    assert (rho_map < 1).any() and (rho_map > 1).any()  # the rho = 1 contour crosses the map
    rng = np.random.default_rng(3)
    ok = np.argwhere(rho_map < 1.6)  # keep 500 steps of growth inside float64 range
    for i, j in ok[rng.choice(len(ok), 8, replace=False)]:
        rate = simulated_rate(game, lr=etas[i], beta=beta, alpha=alphas[j])
        assert rate == pytest.approx(rho_map[i, j], rel=1e-4), (etas[i], alphas[j])


SQ = 1 / math.sqrt(2)


@pytest.mark.parametrize("method,hyper,expected", [
    ("lead", {"lr": 0.1, "beta": 0.5, "alpha": 0.51}, 0.87766),
    ("ogda", {"lr": 0.5}, SQ),  # double root (1 - i)/2
    ("lead", {"lr": 0.5, "beta": 0.0, "alpha": 0.5}, SQ),
    ("gda", {"lr": 0.1}, math.sqrt(1.01)),
    ("gda", {"lr": 0.7}, math.sqrt(1.49)),
    ("eg", {"lr": 0.1}, math.sqrt((1 - 0.01) ** 2 + 0.01)),
    ("eg", {"lr": 0.7}, math.sqrt((1 - 0.49) ** 2 + 0.49)),
    ("altgda", {"lr": 0.5}, 1.0),
    ("altgda", {"lr": 1.9}, 1.0),
    ("altmomentum", {"lr": 0.5, "beta": -0.3}, 0.96485),
])
@pytest.mark.parametrize("route", ["modes", "matrix"])
def test_exact_spectral_radii_on_xy(method, hyper, expected, route):
    assert float(spectral_radius(method, xy_game(), route=route, **hyper)) == pytest.approx(expected, abs=1e-5)


def test_heavy_ball_never_converges_on_xy():
    betas = np.linspace(0.01, 0.99, 50)
    etas = np.linspace(0.01, 1.5, 60)
    rho = spectral_radius("momentum", xy_game(), lr=etas[:, None], beta=betas[None, :])
    assert (rho > 1.0).all()


def test_reference_toy_quad_lag_block_would_be_wrong():
    """docs/papers/lead.md §8: an extra +alpha J_v in the lag block gives rho 1.289 on xy; LEAD's iterates contract."""
    T = update_matrix("lead", xy_game(), lr=0.1, beta=0.5, alpha=0.51)
    J = xy_game().jacobian()
    wrong = T.copy()
    wrong[:2, 2:] += 0.51 * J
    assert np.abs(np.linalg.eigvals(wrong)).max() == pytest.approx(1.289, abs=1e-3)
    assert np.abs(np.linalg.eigvals(T)).max() == pytest.approx(0.87766, abs=1e-5)


def test_adversarial_gammas_pin_the_ends():
    g = adversarial_gammas(0.6, 7, 0)
    assert g[0] == 0.0 and g[-1] == 0.6 and ((g >= 0) & (g <= 0.6)).all()
    with pytest.raises(ValueError):
        adversarial_gammas(1.5)


def test_best_rho_vs_adversarialness_matches_the_recorded_table():
    # docs/papers/lead.md §6 table (per-mode version with toy_quad's draws); tolerance: the table has 3-4 digits
    rows = best_rho_vs_adversarialness(
        [0.0, 0.5, 1.0], ("gda", "eg", "ogda", "momentum", "lead"), rng=np.random.RandomState(0),
        lr_grid=np.linspace(0.005, 1.5, 300))
    got = {(r["gamma_max"], r["method"]): r["rho"] for r in rows}
    table = {
        "gda": (0.8825, 0.890, 1.0002), "eg": (0.972, 0.952, 0.9725), "ogda": (0.962, 0.948, 0.966),
        "momentum": (0.6325, 0.889, 1.000), "lead": (0.6325, 0.889, 0.950),
    }
    for method, values in table.items():
        for gmax, value in zip((0.0, 0.5, 1.0), values):
            assert got[(gmax, method)] == pytest.approx(value, abs=2e-3), (method, gmax)
    assert got[(1.0, "lead")] < min(got[(1.0, m)] for m in ("gda", "eg", "ogda", "momentum"))


def test_spectral_radius_rejects_unknown_method_and_hyperparameter():
    with pytest.raises(ValueError, match="method"):
        spectral_radius("adam", xy_game(), lr=0.1)
    with pytest.raises(ValueError, match="alpha"):
        spectral_radius("gda", xy_game(), lr=0.1, alpha=0.3)
    with pytest.raises(ValueError, match="lr"):
        spectral_radius("lead", xy_game(), lr=float("nan"), beta=0.1, alpha=0.1)
