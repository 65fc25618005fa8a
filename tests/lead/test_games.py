"""Games: quadratic-game structure, the 8-Gaussian mixture, mode statistics, LEAD-Adam
(docs/papers/lead.md §9, check 9)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodyn.core.seeding import torch_generator
from neurodyn.lead import LEADAdam
from neurodyn.lead.games import (
    GAUSS_SCALE,
    GAUSS_STD,
    StackedMLP,
    gan_losses,
    gaussian_centres,
    mode_stats,
    quadratic_game,
    random_bilinear_game,
    sample_eight_gaussians,
    xy_game,
)


def test_quadratic_game_jacobian_eigenvalues_are_mixed_by_adversarialness():
    s = np.array([0.5, 1.0, 2.0])
    gam = np.array([0.0, 0.4, 1.0])
    game = quadratic_game(gam, s=s, a=s)
    eig = np.sort_complex(np.linalg.eigvals(game.jacobian()))
    expected = np.sort_complex(np.concatenate([(1 - gam) * s + 1j * gam * s, (1 - gam) * s - 1j * gam * s]))
    np.testing.assert_allclose(eig, expected, atol=1e-12)
    ms, ma = game.modes()
    np.testing.assert_allclose(ms, (1 - gam) * s)
    np.testing.assert_allclose(ma, gam * s)


def test_game_value_matches_numpy_and_modes_need_structure():
    game = random_bilinear_game(3, 0)
    x, y = np.ones(3), np.arange(3.0)
    assert float(game.value(torch.tensor(x), torch.tensor(y))) == pytest.approx(x @ game.A @ y)
    assert xy_game().value(np.array([2.0]), np.array([3.0])) == 6.0
    from neurodyn.lead.games import QuadraticGame

    with pytest.raises(ValueError, match="route='matrix'"):
        QuadraticGame(np.eye(2), np.diag([1.0, 2.0]), np.diag([2.0, 1.0])).modes()


def test_eight_gaussians_have_the_reference_geometry():
    pts = sample_eight_gaussians((20000,), torch_generator(0)).numpy()
    centres = gaussian_centres()
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2.0 / GAUSS_SCALE)
    d = np.linalg.norm(pts[:, None] - centres, axis=-1)
    near = d.argmin(1)
    assert np.bincount(near, minlength=8).min() > 2200  # about 2500 each
    resid = pts - centres[near]
    assert resid.std() == pytest.approx(GAUSS_STD / GAUSS_SCALE, rel=0.03)


def test_mode_stats_on_data_and_on_a_collapsed_generator():
    pts = sample_eight_gaussians((2, 2000), torch_generator(1)).numpy()
    modes, hq = mode_stats(pts)
    assert modes.tolist() == [8, 8]
    np.testing.assert_allclose(hq, 1 - np.exp(-4.5), atol=0.006)  # 2-D: P(|noise| <= 3 std) = 1 - e^{-9/2}
    collapsed = np.repeat(gaussian_centres()[:1], 1000, axis=0)
    m, q = mode_stats(collapsed)
    assert int(m) == 1 and float(q) == 1.0
    spray = np.random.default_rng(0).uniform(-2, 2, (1000, 2))
    m, q = mode_stats(spray)
    assert q < 0.05 and m < 8


def make_gan(seed, n_stack=1):
    g = torch_generator(seed)
    G = StackedMLP(n_stack, (4, 16, 16, 2), g)
    D = StackedMLP(n_stack, (2, 16, 16, 1), g)
    return G, D


def test_lead_adam_with_alpha0_equals_alternating_torch_adam():
    # §9 check 9: LEAD-Adam with alpha = 0 is Adam (discriminator step first, then generator)
    G1, D1 = make_gan(0)
    G2, D2 = make_gan(0)
    lead = LEADAdam([{"params": G1.parameters(), "role": "min", "betas": (0.5, 0.9)},
                     {"params": D1.parameters(), "role": "max", "betas": (0.55, 0.9)}], lr=1e-3, alpha=0.0)
    adam_g = torch.optim.Adam(G2.parameters(), lr=1e-3, betas=(0.5, 0.9))
    adam_d = torch.optim.Adam(D2.parameters(), lr=1e-3, betas=(0.55, 0.9))
    gen = torch_generator(5)
    for _ in range(30):
        real = sample_eight_gaussians((1, 64), gen)
        z = torch.randn(1, 64, 4, generator=gen)
        lead.step(lambda: gan_losses(G1, D1, real, z))
        adam_d.zero_grad()
        gan_losses(G2, D2, real, z)[1].backward()
        adam_d.step()
        adam_g.zero_grad()
        gan_losses(G2, D2, real, z)[0].backward()
        adam_g.step()
    for p, q in zip(list(G1.parameters()) + list(D1.parameters()), list(G2.parameters()) + list(D2.parameters())):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)  # float32, 30 Adam steps


def test_lead_adam_couples_and_keeps_stacked_seeds_independent():
    """Seed 0 trained alone and inside a 2-seed stack ends at the same weights (the coupling does not mix seeds)."""
    G1, D1 = make_gan(3, 1)
    G2, D2 = make_gan(3, 2)
    with torch.no_grad():
        for p, q in zip(list(G1.parameters()) + list(D1.parameters()), list(G2.parameters()) + list(D2.parameters())):
            q[:1].copy_(p)
    opts = [LEADAdam([{"params": G.parameters(), "role": "min"}, {"params": D.parameters(), "role": "max"}],
                     lr=1e-3, alpha=0.6) for G, D in ((G1, D1), (G2, D2))]
    plain_G, plain_D = make_gan(3, 1)
    plain = LEADAdam([{"params": plain_G.parameters(), "role": "min"},
                      {"params": plain_D.parameters(), "role": "max"}], lr=1e-3, alpha=0.0)
    gen = torch_generator(6)
    for _ in range(10):
        real = sample_eight_gaussians((2, 64), gen)
        z = torch.randn(2, 64, 4, generator=gen)
        opts[0].step(lambda: gan_losses(G1, D1, real[:1], z[:1]))
        opts[1].step(lambda: gan_losses(G2, D2, real, z))
        plain.step(lambda: gan_losses(plain_G, plain_D, real[:1], z[:1]))
    for p, q in zip(list(G1.parameters()) + list(D1.parameters()), list(G2.parameters()) + list(D2.parameters())):
        torch.testing.assert_close(p, q[:1], rtol=1e-5, atol=1e-6)
    diff = max((p - q).abs().max().item() for p, q in zip(G1.parameters(), plain_G.parameters()))
    assert diff > 1e-6  # alpha = 0.6 changes the trajectory
    assert opts[0].grad_evals == 30 and plain.grad_evals == 10


def test_lead_adam_zero_sum_closure_equals_pair_closure():
    # §9 check 7 for LEAD-Adam: f and (f, -f) give the same iterates
    def f(x, y):
        return (x * y).sum() + 0.1 * (x**2).sum()

    results = []
    for pair in (False, True):
        x = torch.tensor([0.5, -0.2], dtype=torch.float64, requires_grad=True)
        y = torch.tensor([0.3, 0.1], dtype=torch.float64, requires_grad=True)
        opt = LEADAdam([{"params": [x], "role": "min"}, {"params": [y], "role": "max"}], lr=0.05, alpha=0.5)
        for _ in range(20):
            opt.step((lambda: (f(x, y), -f(x, y))) if pair else (lambda: f(x, y)))
        results.append(torch.cat([x, y]).detach())
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=1e-14)
