"""The activation family γ(x; n, s) against closed forms (docs/papers/activations.md §6: limits, linearity in s,
largest slope, gradients, monotonicity) and the shape modes, guards and clamping of ``AdaptiveActivation`` (§2.2, §8).

Everything in float64.
"""

from __future__ import annotations

import math

import pytest
import torch

from neurodyn.activations.gamma import (
    N_MIN,
    AdaptiveActivation,
    check_shape,
    gamma,
    gamma_derivatives,
    max_slope,
    value_at_zero,
)

torch.set_num_threads(1)
F64 = torch.float64
LN2 = math.log(2.0)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _grid(half_width: float, steps_per_unit: int) -> torch.Tensor:
    """A uniform float64 grid on [-half_width, half_width] that holds x = 0 exactly."""
    k = int(round(half_width * steps_per_unit))
    return torch.arange(-k, k + 1, dtype=F64) / steps_per_unit


X6 = _grid(6.0, 100)  # [-6, 6], step 0.01, x = 0 included


def _slope(x: torch.Tensor, n: float, s: float) -> torch.Tensor:
    """Autograd's ∂γ/∂x at every point of ``x``."""
    x = x.clone().requires_grad_(True)
    gamma(x, n, s).sum().backward()
    return x.grad


# ---------------------------------------------------------------------------------------------------------------
# limits and named members


def test_named_members_on_minus_6_to_6():
    assert X6.dtype == F64 and bool((X6 == 0).any())
    softplus = torch.log1p(torch.exp(X6))
    sigmoid = 1 / (1 + torch.exp(-X6))
    half_tanh = (1 + torch.tanh(X6)) / 2
    assert (gamma(X6, 1.0, 0.0) - softplus).abs().max().item() < 1e-12
    assert (gamma(X6, 1.0, 1.0) - sigmoid).abs().max().item() < 1e-12
    assert (gamma(X6, 2.0, 1.0) - half_tanh).abs().max().item() < 1e-12
    # the members are really different functions (the checks above can tell them apart)
    assert (gamma(X6, 1.0, 1.0) - half_tanh).abs().max().item() > 0.05


@pytest.mark.parametrize("n", [10.0, 100.0, 1000.0])
def test_relu_limit_uniform_error_is_ln2_over_n_at_zero(n):
    err = (gamma(X6, n, 0.0) - torch.relu(X6)).abs()
    assert abs(err.max().item() - LN2 / n) < 1e-9
    assert X6[err.argmax()].item() == 0.0  # the worst point is x = 0
    assert err.max().item() > 0.9 * LN2 / n


@pytest.mark.parametrize("n", [10.0, 100.0, 1000.0])
@pytest.mark.parametrize("delta", [0.05, 0.5, 1.0])
def test_step_limit_bound_away_from_zero(n, delta):
    step = (X6 > 0).to(F64)
    far = X6.abs() >= delta
    err = (gamma(X6, n, 1.0) - step)[far].abs()
    bound = math.exp(-n * delta) / (1 + math.exp(-n * delta))  # 1/(1 + e^{nδ}) without overflow
    assert err.max().item() <= bound * (1 + 1e-12)
    # the bound is tight: reached at x = −δ
    at = torch.tensor([-delta], dtype=F64)
    assert gamma(at, n, 1.0).item() == pytest.approx(bound, rel=1e-9, abs=0)
    assert gamma(torch.zeros(1, dtype=F64), n, 1.0).item() == 0.5  # the step's value at 0


@pytest.mark.parametrize("n, s", [(1.0, 0.0), (1.0, 1.0), (2.0, 1.0), (5.0, 0.5), (10.0, 0.25), (0.3, 0.75),
                                  (20.0, 1.75), (3.0, -0.15)])
def test_value_at_zero(n, s):
    closed = (1 - s) * LN2 / n + s / 2
    assert value_at_zero(n, s) == pytest.approx(closed, abs=1e-15, rel=0)
    got = gamma(torch.zeros((), dtype=F64), n, s).item()
    assert abs(got - value_at_zero(n, s)) <= 1e-15


@pytest.mark.parametrize("n", [0.5, 1.0, 5.0, 20.0])
@pytest.mark.parametrize("s", [-0.15, 0.25, 0.5, 0.9, 1.75])
def test_linear_in_s(n, s):
    mixed = (1 - s) * gamma(X6, n, 0.0) + s * gamma(X6, n, 1.0)
    assert (gamma(X6, n, s) - mixed).abs().max().item() < 1e-12


# ---------------------------------------------------------------------------------------------------------------
# largest slope

SLOPE_GRID = torch.arange(-100_000, 100_001, dtype=F64) / 10_000  # 200,001 points on [-10, 10], x = 0 included


@pytest.mark.parametrize("n, s, want", [(1.0, 0.8, 0.3125), (2.0, 0.5, 0.5625), (5.0, 0.5, 0.9), (10.0, 1.0, 2.5)])
def test_largest_slope_attained_at_finite_x(n, s, want):
    assert s > 1 / (n + 1)
    assert max_slope(n, s) == pytest.approx(want, abs=1e-15)
    slope = _slope(SLOPE_GRID, n, s)
    assert abs(slope.max().item() - want) < 1e-6
    x_max = SLOPE_GRID[slope.argmax()].item()
    assert abs(x_max) < 5.0  # inside the grid, not at an end
    assert slope[-1].item() < want - 1e-3 and slope[0].item() < want - 1e-3


def test_largest_slope_approached_as_x_to_infinity():
    n, s = 5.0, 0.1
    assert s <= 1 / (n + 1)
    assert max_slope(n, s) == pytest.approx(0.9, abs=1e-15)
    slope = _slope(SLOPE_GRID, n, s)
    assert abs(slope.max().item() - 0.9) < 1e-6
    assert abs(slope[-1].item() - 0.9) < 1e-6  # the grid's right end is at the supremum
    # no interior maximum: strictly increasing where softplus is smooth (n x < 20), below the supremum there
    smooth = SLOPE_GRID * n < 20
    rising = slope[smooth]
    assert bool((rising[1:] >= rising[:-1]).all())
    assert rising.max().item() < 0.9
    assert rising[0].item() < 1e-10  # far left: flat
    # a finite-x formula would be wrong here: (1 + s(n − 1))² / (4 n s) = 0.98
    assert (1 + s * (n - 1)) ** 2 / (4 * n * s) - slope.max().item() > 0.07


# ---------------------------------------------------------------------------------------------------------------
# gradients


def test_gradcheck_scalar_shape():
    g = _gen(0)
    x = (2 * torch.randn(3, 4, generator=g, dtype=F64)).requires_grad_(True)
    n = torch.tensor(1.7, dtype=F64, requires_grad=True)
    s = torch.tensor(0.35, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(gamma, (x, n, s), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_gradcheck_per_unit_shape():
    g = _gen(1)
    x = (2 * torch.randn(3, 5, generator=g, dtype=F64)).requires_grad_(True)
    n = (0.5 + 4 * torch.rand(5, generator=g, dtype=F64)).requires_grad_(True)
    s = (-0.2 + 1.4 * torch.rand(5, generator=g, dtype=F64)).requires_grad_(True)
    assert torch.autograd.gradcheck(gamma, (x, n, s), eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("n, s", [(1.0, 0.0), (1.0, 1.0), (2.5, 0.5), (10.0, 0.25), (0.3, 0.9), (20.0, 1.75),
                                  (7.5, -0.15)])
def test_closed_form_derivatives_match_autograd(n, s):
    x = X6.clone().requires_grad_(True)
    nn_ = torch.full_like(X6, n).requires_grad_(True)  # one n and s per point: autograd gives pointwise partials
    ss = torch.full_like(X6, s).requires_grad_(True)
    gamma(x, nn_, ss).sum().backward()
    dx, dn, ds = gamma_derivatives(X6, n, s)
    # to 1e-10 where softplus is smooth (|n x| <= 20); above n x = 20 softplus is exactly linear (its reference
    # guard), so autograd's slope there is 1 where the closed form has σ(n x) = 1 − O(e^{−20}): a few 1e-9 at most
    smooth = (n * X6).abs() <= 20
    bound_linear = 2 * max(1.0, abs(1 - s)) * max(1.0, X6.abs().max().item()) * math.exp(-20)
    for autograd, closed in ((x.grad, dx), (nn_.grad, dn), (ss.grad, ds)):
        assert (autograd - closed)[smooth].abs().max().item() < 1e-10
        assert (autograd - closed).abs().max().item() < bound_linear
    # and the closed forms of the card written out independently
    sig = 1 / (1 + torch.exp(-n * X6))
    g1 = torch.log1p(torch.exp(n * X6)) / n
    assert (dx - ((1 - s) * sig + s * n * sig * (1 - sig))).abs().max().item() < 1e-10
    assert (dn - ((1 - s) / n * (X6 * sig - g1) + s * X6 * sig * (1 - sig)))[smooth].abs().max().item() < 1e-10
    assert (ds - (sig - g1))[smooth].abs().max().item() < 1e-10


@pytest.mark.parametrize("n", [0.1, 1.0, 5.0, 20.0, 100.0])
@pytest.mark.parametrize("s", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_increasing_on_abs_nx_up_to_30(n, s):
    x = torch.linspace(-30 / n, 30 / n, 6001, dtype=F64)
    slope = _slope(x, n, s)
    assert bool((slope > 0).all()), slope.min().item()
    assert bool((gamma_derivatives(x, n, s)[0] > 0).all())
    values = gamma(x, n, s)
    assert bool((values[1:] >= values[:-1]).all())


# ---------------------------------------------------------------------------------------------------------------
# AdaptiveActivation


def test_heterogeneous_units_get_distinct_gradients():
    N = 6
    act = AdaptiveActivation(N, n=2.0, s=0.5, mode="heterogeneous").double()
    x = 2 * torch.randn(16, N, generator=_gen(2), dtype=F64)
    act(x).sum().backward()
    assert act.n.grad.shape == (N,) and act.s.grad.shape == (N,)
    for grad in (act.n.grad, act.s.grad):
        gaps = (grad[:, None] - grad[None, :]).abs() + torch.eye(N, dtype=F64)
        assert gaps.min().item() > 1e-6  # every pair of units differs (a shared pair would make them all equal)
    _, dn, ds = gamma_derivatives(x, 2.0, 0.5)
    assert (act.n.grad - dn.sum(0)).abs().max().item() < 1e-10
    assert (act.s.grad - ds.sum(0)).abs().max().item() < 1e-10

    shared = AdaptiveActivation(N, n=2.0, s=0.5, mode="homogeneous").double()
    shared(x).sum().backward()
    assert shared.n.grad.shape == ()
    assert abs(shared.n.grad.item() - act.n.grad.sum().item()) < 1e-10
    assert abs(shared.s.grad.item() - act.s.grad.sum().item()) < 1e-10


@pytest.mark.parametrize("n", [math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_bad_gain_is_refused(n):
    with pytest.raises(ValueError, match="gain"):
        check_shape(n, 0.5)
    for mode in ("static", "homogeneous", "heterogeneous"):
        with pytest.raises(ValueError, match="gain"):
            AdaptiveActivation(4, n=n, s=0.5, mode=mode)


@pytest.mark.parametrize("s", [math.nan, math.inf])
def test_non_finite_saturation_is_refused(s):
    with pytest.raises(ValueError, match="saturation"):
        check_shape(1.0, s)
    with pytest.raises(ValueError, match="saturation"):
        AdaptiveActivation(4, n=1.0, s=s, mode="heterogeneous")


def test_accepted_shapes_and_bad_mode():
    check_shape(1e-3, -0.15)  # small positive gains and s outside [0, 1] are allowed
    check_shape(20, 1.75)
    with pytest.raises(ValueError):
        AdaptiveActivation(4, mode="adaptive")
    with pytest.raises(ValueError):
        AdaptiveActivation(0)


def test_modes_hold_the_right_parameters_and_buffers():
    N = 5
    static = AdaptiveActivation(N, n=3.0, s=0.25, mode="static")
    assert list(static.parameters()) == []
    buffers = dict(static.named_buffers())
    assert set(buffers) == {"n", "s"} and buffers["n"].shape == () and buffers["s"].shape == ()
    assert buffers["n"].item() == 3.0 and buffers["s"].item() == 0.25

    homogeneous = AdaptiveActivation(N, n=3.0, s=0.25, mode="homogeneous")
    params = dict(homogeneous.named_parameters())
    assert set(params) == {"n", "s"} and params["n"].shape == () and params["s"].shape == ()
    assert dict(homogeneous.named_buffers()) == {}
    assert params["n"].item() == 3.0 and params["s"].item() == 0.25

    heterogeneous = AdaptiveActivation(N, n=3.0, s=0.25, mode="heterogeneous")
    params = dict(heterogeneous.named_parameters())
    assert set(params) == {"n", "s"} and params["n"].shape == (N,) and params["s"].shape == (N,)
    assert bool((params["n"] == 3.0).all()) and bool((params["s"] == 0.25).all())

    x = torch.randn(7, N, generator=_gen(3), dtype=F64)
    want = gamma(x, 3.0, 0.25)
    for act in (static, homogeneous, heterogeneous):
        assert act.clamped == 0
        assert (act.double()(x) - want).abs().max().item() < 1e-15


def test_gain_below_floor_is_clamped_and_counted():
    N = 6
    x = 3 * torch.randn(8, N, generator=_gen(4), dtype=F64)
    act = AdaptiveActivation(N, n=2.0, s=0.375, mode="heterogeneous").double()
    with torch.no_grad():
        act.n[1] = 1e-5
        act.n[4] = -2.0
    assert act.clamped == 2
    n_used = torch.tensor([2.0, N_MIN, 2.0, 2.0, N_MIN, 2.0], dtype=F64)
    got = act(x)
    assert bool(torch.isfinite(got).all())
    assert (got - gamma(x, n_used, 0.375)).abs().max().item() < 1e-15
    # a negative gain used as is would give another function: the clamp really acts
    assert (got - gamma(x, act.n.detach(), 0.375)).abs().max().item() > 1e-3

    shared = AdaptiveActivation(N, n=2.0, s=0.375, mode="homogeneous").double()
    with torch.no_grad():
        shared.n.fill_(-0.5)
    assert shared.clamped == N  # one shared gain: every unit sits at the floor
    assert (shared(x) - gamma(x, N_MIN, 0.375)).abs().max().item() < 1e-15

    static = AdaptiveActivation(N, n=2.0, s=0.375, mode="static").double()
    static.n.fill_(N_MIN / 10)
    assert static.clamped == N
    assert (static(x) - gamma(x, N_MIN, 0.375)).abs().max().item() < 1e-15

    at_floor = AdaptiveActivation(N, n=N_MIN, s=0.375, mode="heterogeneous")
    assert at_floor.clamped == 0  # the floor itself is allowed
