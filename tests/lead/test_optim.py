"""LEAD and baseline optimizers: docs/papers/lead.md §9, checks 3-8, and the update written out by hand (float64
throughout)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurodyn.lead import (
    LEAD,
    AltGDA,
    ConsensusOptimization,
    ExtraGradient,
    LEADAdam,
    Momentum,
    OptimisticGDA,
    SimGDA,
    mixed_hvp,
)
from neurodyn.lead.games import QuadraticGame, quadratic_game, random_bilinear_game, xy_game
from neurodyn.lead.spectral import update_matrix

D = torch.float64


def players(x0, y0):
    x = torch.tensor(np.atleast_1d(x0), dtype=D, requires_grad=True)
    y = torch.tensor(np.atleast_1d(y0), dtype=D, requires_grad=True)
    return x, y, [{"params": [x], "role": "min"}, {"params": [y], "role": "max"}]


def run(cls, game: QuadraticGame, x0, y0, n, **kw):
    """Iterates (n + 1, n + m) of optimizer ``cls`` on ``game`` from (x0, y0)."""
    x, y, groups = players(x0, y0)
    opt = cls(groups, **kw)
    out = [np.concatenate([x0, y0])]
    for _ in range(n):
        opt.step(lambda: game.value(x, y))
        out.append(torch.cat([x, y]).detach().numpy().copy())
    return np.array(out), opt


def random_quadratic(seed=0, n=3, m=2):
    rng = np.random.default_rng(seed)
    Bx, By = rng.standard_normal((n, n)), rng.standard_normal((m, m))
    return QuadraticGame(rng.standard_normal((n, m)), 0.3 * (Bx @ Bx.T), 0.3 * (By @ By.T)), rng


R2 = math.sqrt(2) / 2


def test_simgda_norm_grows_by_sqrt1plus_lr2_on_xy():
    w, _ = run(SimGDA, xy_game(), [R2], [R2], 50, lr=0.1)
    ratios = np.linalg.norm(w[1:], axis=1) / np.linalg.norm(w[:-1], axis=1)
    np.testing.assert_allclose(ratios, math.sqrt(1 + 0.1**2), rtol=1e-12)  # exact per step, float64


def test_lead_contracts_at_the_closed_form_rate_on_xy():
    w, _ = run(LEAD, xy_game(), [R2], [R2], 200, lr=0.1, beta=0.5, alpha=0.51)
    norms = np.linalg.norm(w, axis=1)
    assert 2.0e-6 < norms[100] < 3.0e-6  # §9 check 3: 2.45e-6 after 100 steps
    assert 3e-12 < norms[200] < 8e-12  # about 5e-12 after 200
    rate = (norms[200] / norms[100]) ** (1 / 100)
    assert rate == pytest.approx(0.87766, abs=1e-5)


def test_lead_iterates_equal_update_written_out_by_hand_on_quadratic_game():
    game, rng = random_quadratic(1)
    x0, y0 = rng.standard_normal(3), rng.standard_normal(2)
    eta, beta, alpha = 0.05, 0.4, 0.3
    w, _ = run(LEAD, game, x0, y0, 30, lr=eta, beta=beta, alpha=alpha)
    A, Sx, Sy = game.A, game.Sx, game.Sy
    x, y, xp, yp = x0.copy(), y0.copy(), x0.copy(), y0.copy()
    for k in range(30):
        gx, gy = Sx @ x + A @ y, A.T @ x - Sy @ y
        dx, dy = x - xp, y - yp
        xn = x + beta * dx - eta * gx - alpha * A @ dy
        yn = y + beta * dy + eta * gy + alpha * A.T @ dx
        xp, yp, x, y = x, y, xn, yn
        np.testing.assert_allclose(w[k + 1], np.concatenate([x, y]), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("alternating", [False, True])
def test_lead_alpha0_reproduces_heavy_ball_bit_for_bit(alternating):
    game, rng = random_quadratic(2)
    x0, y0 = rng.standard_normal(3), rng.standard_normal(2)
    a, _ = run(LEAD, game, x0, y0, 40, lr=0.05, beta=0.6, alpha=0.0, alternating=alternating)
    b, _ = run(Momentum, game, x0, y0, 40, lr=0.05, beta=0.6, alternating=alternating)
    assert np.array_equal(a, b)


def test_lead_alpha0_beta0_reproduces_gda_bit_for_bit():
    game, rng = random_quadratic(3)
    x0, y0 = rng.standard_normal(3), rng.standard_normal(2)
    a, _ = run(LEAD, game, x0, y0, 40, lr=0.05, beta=0.0, alpha=0.0)
    b, _ = run(SimGDA, game, x0, y0, 40, lr=0.05)
    assert np.array_equal(a, b)


def test_lead_beta0_alpha_eta_reproduces_ogda_on_bilinear_game():
    game = random_bilinear_game(4, 5)
    rng = np.random.default_rng(5)
    x0, y0 = rng.standard_normal(4), rng.standard_normal(4)
    a, _ = run(LEAD, game, x0, y0, 60, lr=0.2, beta=0.0, alpha=0.2)
    b, _ = run(OptimisticGDA, game, x0, y0, 60, lr=0.2)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_first_lead_step_equals_a_gda_step():
    game, rng = random_quadratic(4)
    x0, y0 = rng.standard_normal(3), rng.standard_normal(2)
    a, _ = run(LEAD, game, x0, y0, 1, lr=0.1, beta=0.7, alpha=0.9)
    b, _ = run(SimGDA, game, x0, y0, 1, lr=0.1)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


@pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")  # torch.func.jvp's own import
def test_double_backprop_coupling_equals_A_dy_and_At_dx_and_torch_func_jvp():
    rng = np.random.default_rng(6)
    A = torch.tensor(rng.standard_normal((4, 3)), dtype=D)
    B = torch.tensor(rng.standard_normal((4, 4)), dtype=D)
    x = torch.tensor(rng.standard_normal(4), dtype=D, requires_grad=True)
    y = torch.tensor(rng.standard_normal(3), dtype=D, requires_grad=True)
    dx, dy = torch.tensor(rng.standard_normal(4), dtype=D), torch.tensor(rng.standard_normal(3), dtype=D)

    def f(x, y):
        return x @ A @ y + 0.5 * x @ B @ x

    (hxy_dy,), (hyx_dx,) = mixed_hvp(f(x, y), [x], [y], [dx], [dy])
    torch.testing.assert_close(hxy_dy, A @ dy, rtol=0, atol=1e-6)
    torch.testing.assert_close(hyx_dx, A.T @ dx, rtol=0, atol=1e-6)
    # forward-over-reverse: d/dt grad_x f(x, y + t dy) at t = 0
    grad_x = torch.func.grad(f, argnums=0)
    _, jvp = torch.func.jvp(lambda yy: grad_x(x.detach(), yy), (y.detach(),), (dy,))
    torch.testing.assert_close(hxy_dy, jvp, rtol=0, atol=1e-6)


@pytest.mark.parametrize("alternating", [False, True])
def test_lyapunov_function_nonincreasing_on_xy(alternating):
    w, _ = run(LEAD, xy_game(), [R2], [R2], 100, lr=0.1, beta=0.5, alpha=0.51, alternating=alternating)
    V = 2 * np.sum(np.diff(w, axis=0) ** 2, axis=1) + 7.7 * np.sum(w[1:] ** 2, axis=1)
    assert np.all(np.diff(V) <= 1e-15)  # docs/papers/lead.md §9 check 6, both orderings


@pytest.mark.parametrize("alternating", [False, True])
def test_general_sum_closure_equals_zero_sum_update(alternating):
    game, rng = random_quadratic(7)
    x0, y0 = rng.standard_normal(3), rng.standard_normal(2)
    kw = dict(lr=0.05, beta=0.3, alpha=0.4, alternating=alternating)
    a, _ = run(LEAD, game, x0, y0, 25, **kw)
    x, y, groups = players(x0, y0)
    opt = LEAD(groups, **kw)
    b = [np.concatenate([x0, y0])]
    for _ in range(25):
        opt.step(lambda: (game.value(x, y), -game.value(x, y)))  # (L_x, L_y) = (f, -f)
        b.append(torch.cat([x, y]).detach().numpy().copy())
    np.testing.assert_allclose(a, np.array(b), rtol=0, atol=1e-14)


METHOD_CASES = [
    (SimGDA, "gda", {"lr": 0.07}),
    (AltGDA, "altgda", {"lr": 0.07}),
    (ExtraGradient, "eg", {"lr": 0.07}),
    (OptimisticGDA, "ogda", {"lr": 0.07}),
    (ConsensusOptimization, "co", {"lr": 0.07, "gamma": 0.3}),
]


@pytest.mark.parametrize("cls,method,kw", METHOD_CASES + [
    (Momentum, "momentum", {"lr": 0.07, "beta": 0.4}),
    (LEAD, "lead", {"lr": 0.07, "beta": 0.4, "alpha": 0.2}),
])
def test_optimizer_iterates_follow_their_update_matrix(cls, method, kw):
    """Each optimizer class and the spectral module's operator describe the same linear recurrence."""
    game, rng = random_quadratic(8)
    x0, y0 = rng.standard_normal(3), rng.standard_normal(2)
    w, _ = run(cls, game, x0, y0, 20, **kw)
    T = update_matrix(method, game, **{k: v for k, v in kw.items()})
    state = np.concatenate([x0, y0])
    lagged = T.shape[0] == 2 * state.size
    z = np.concatenate([state, state]) if lagged else state
    for k in range(20):
        z = T @ z
        np.testing.assert_allclose(w[k + 1], z[: state.size], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method,cls,kw", [
    ("altmomentum", Momentum, {"lr": 0.07, "beta": -0.3, "alternating": True}),
    ("altlead", LEAD, {"lr": 0.07, "beta": 0.4, "alpha": 0.2, "alternating": True}),
])
def test_alternating_optimizers_follow_their_update_matrix(method, cls, kw):
    game, rng = random_quadratic(9)
    x0, y0 = rng.standard_normal(3), rng.standard_normal(2)
    w, _ = run(cls, game, x0, y0, 20, **kw)
    T = update_matrix(method, game, **{k: v for k, v in kw.items() if k != "alternating"})
    z = np.concatenate([x0, y0, x0, y0])
    for k in range(20):
        z = T @ z
        np.testing.assert_allclose(w[k + 1], z[:5], rtol=1e-10, atol=1e-12)


def test_gradient_equivalents_per_step():
    game = quadratic_game(0.5, s=[1.0, 2.0])
    expected = {SimGDA: 1, AltGDA: 1, ExtraGradient: 2, OptimisticGDA: 1, ConsensusOptimization: 2}
    for cls, cost in expected.items():
        _, opt = run(cls, game, [0.1, 0.2], [0.3, 0.4], 3, lr=0.1)
        assert opt.grad_evals == 3 * cost, cls.__name__
    _, opt = run(LEAD, game, [0.1, 0.2], [0.3, 0.4], 3, lr=0.1, beta=0.5, alpha=0.5)
    assert opt.grad_evals == 6  # gradient + coupling Hessian-vector product
    _, opt = run(LEAD, game, [0.1, 0.2], [0.3, 0.4], 3, lr=0.1, beta=0.5, alpha=0.5, alternating=True)
    assert opt.grad_evals == 9
    _, opt = run(Momentum, game, [0.1, 0.2], [0.3, 0.4], 3, lr=0.1, beta=-0.5, alternating=True)
    assert opt.grad_evals == 3


BAD = [-0.1, float("nan"), float("inf")]
OPTIMIZERS = [
    (SimGDA, {"lr": 0.1}),
    (AltGDA, {"lr": 0.1}),
    (ExtraGradient, {"lr": 0.1}),
    (OptimisticGDA, {"lr": 0.1}),
    (Momentum, {"lr": 0.1, "beta": -0.5}),
    (ConsensusOptimization, {"lr": 0.1, "gamma": 0.5}),
    (LEAD, {"lr": 0.1, "beta": 0.5, "alpha": 0.5}),
    (LEADAdam, {"lr": 1e-3, "alpha": 0.6}),
]


@pytest.mark.parametrize("cls,kw", OPTIMIZERS, ids=[c.__name__ for c, _ in OPTIMIZERS])
def test_every_optimizer_rejects_bad_hyperparameters(cls, kw):
    _, _, groups = players([0.1], [0.2])
    cls(groups, **kw)  # the good values are accepted
    for bad in BAD:
        with pytest.raises(ValueError, match="lr"):
            cls(groups, **{**kw, "lr": bad})
        with pytest.raises(ValueError, match="lr"):  # per-group override is checked too
            cls([{**groups[0], "lr": bad}, groups[1]], **kw)
    for name in ("beta", "alpha", "gamma"):
        if name in kw:
            for bad in (float("nan"), float("inf"), -float("inf")):
                with pytest.raises(ValueError, match=name):
                    cls(groups, **{**kw, name: bad})
    with pytest.raises(ValueError, match="role"):
        cls([{"params": groups[0]["params"]}, groups[1]], **kw)
    with pytest.raises(ValueError, match="role"):
        cls([groups[0]], **kw)


def test_lead_adam_rejects_bad_betas():
    _, _, groups = players([0.1], [0.2])
    for betas in [(1.0, 0.9), (0.5, -0.1), (float("nan"), 0.9)]:
        with pytest.raises(ValueError, match="betas"):
            LEADAdam(groups, betas=betas)


def test_step_without_closure_is_an_error():
    _, _, groups = players([0.1], [0.2])
    with pytest.raises(ValueError, match="closure"):
        SimGDA(groups, lr=0.1).step(None)  # type: ignore[arg-type]


def test_pure_and_in_place_update_kernels_agree():
    from neurodyn.lead import functional as F

    g = torch.Generator().manual_seed(0)
    w, wp, v, c = (torch.randn(7, generator=g, dtype=D) for _ in range(4))
    expected = F.lead_update(w, wp, v, c, lr=0.1, beta=0.4, alpha=0.3)
    ws, wps = [w.clone()], [wp.clone()]
    F.lead_update_(ws, wps, [w - wp], [v], [c], lr=0.1, beta=0.4, alpha=0.3)
    torch.testing.assert_close(ws[0], expected, rtol=0, atol=1e-15)
    torch.testing.assert_close(wps[0], w)
    gs = [w.clone()]
    F.gda_update_(gs, [v], lr=0.1)
    torch.testing.assert_close(gs[0], F.gda_update(w, v, lr=0.1), rtol=0, atol=1e-15)
    torch.testing.assert_close(F.momentum_update(w, wp, v, lr=0.1, beta=0.4),
                               F.lead_update(w, wp, v, torch.zeros_like(w), lr=0.1, beta=0.4, alpha=0.0))
