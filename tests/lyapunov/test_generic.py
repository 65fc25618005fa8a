"""The generic-callable path of ``lyapunov_spectrum`` (``docs/papers/lyapunov.md §3`` and §6): known exponents of
small systems, an independent NumPy oracle, agreement of its two routes, and its cost against a NumPy loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from neurodyn.lyapunov import iter_lyapunov_spectrum, lyapunov_spectrum, spectrum
from neurodyn.lyapunov.systems import LORENZ_EXPONENTS, logistic_step, lorenz_rk4_step

F64 = torch.float64
SIGMA, RHO, BETA, DT = 10.0, 28.0, 8.0 / 3.0, 0.01


def jvp_route(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the per-step JVP route (the only route before issue 13)."""
    monkeypatch.setattr(spectrum._GenericCell, "use_blocks", lambda self, D, k: False)


def numpy_lorenz_oracle(T: int, s0: np.ndarray, warmup: int = 0) -> np.ndarray:
    """Independent oracle: Lorenz RK4 with the step's Jacobian by the chain rule, NumPy QR; (3,) per step."""
    def field(s):
        x, y, z = s
        return (np.array([SIGMA * (y - x), x * (RHO - z) - y, x * y - BETA * z]),
                np.array([[-SIGMA, SIGMA, 0.0], [RHO - z, -1.0, -x], [y, x, -BETA]]))

    s, Q, acc, eye = np.array(s0, dtype=float), np.eye(3), np.zeros(3), np.eye(3)
    for t in range(warmup + T):
        k1, j1 = field(s)
        k2, j2 = field(s + 0.5 * DT * k1)
        d2 = j2 @ (eye + 0.5 * DT * j1)
        k3, j3 = field(s + 0.5 * DT * k2)
        d3 = j3 @ (eye + 0.5 * DT * d2)
        k4, j4 = field(s + DT * k3)
        d4 = j4 @ (eye + DT * d3)
        J = eye + (DT / 6.0) * (j1 + 2.0 * d2 + 2.0 * d3 + d4)
        s = s + (DT / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        Q, R = np.linalg.qr(J @ Q)
        if t >= warmup:
            acc += np.log(np.abs(np.diag(R)))
    return np.sort(acc / T)[::-1]


def lorenz_inputs(B: int, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    h0 = torch.tensor([[1.0, 1.0, 1.0], [-3.0, 2.0, 20.0]], dtype=F64)[:B]
    return torch.zeros(B, T, 1, dtype=F64), h0


def test_logistic_map_at_r4_has_exponent_ln2():
    x = torch.zeros(4, 2000, 1, dtype=F64)
    h0 = torch.tensor([[0.1], [0.2], [0.3], [0.4]], dtype=F64)
    res = lyapunov_spectrum(logistic_step(4.0), x, h0=h0)
    assert res.exponents.shape == (4, 1)
    assert abs(res.mean.item() - math.log(2.0)) < 2e-3  # measured 2.5e-4
    assert torch.max(torch.abs(res.exponents - math.log(2.0))).item() < 5e-3


def test_lorenz_rk4_equals_numpy_oracle_with_hand_written_jacobian():
    x, h0 = lorenz_inputs(1, 600)
    res = lyapunov_spectrum(lorenz_rk4_step(DT), x, h0=h0, warmup=100)
    want = numpy_lorenz_oracle(500, np.array([1.0, 1.0, 1.0]), warmup=100)
    assert np.max(np.abs(res.exponents[0].numpy() - want)) < 1e-10


def test_lorenz_exponents_sum_to_the_divergence():
    # the flow's volume contracts at trace = -(sigma + 1 + beta) per unit time; RK4's determinant differs by O(dt^4)
    x, h0 = lorenz_inputs(2, 1500)
    res = lyapunov_spectrum(lorenz_rk4_step(DT), x, h0=h0)
    total = res.exponents.sum(dim=1) / DT
    assert torch.max(torch.abs(total + (SIGMA + 1.0 + BETA))).item() < 1e-3  # measured 1.0e-4


@pytest.mark.slow
def test_lorenz_rk4_reproduces_published_exponents():
    x, h0 = lorenz_inputs(1, 1000 + 20_000)
    lam = lyapunov_spectrum(lorenz_rk4_step(DT), x, h0=h0, warmup=1000).exponents[0].numpy() / DT
    assert np.all(np.abs(lam - np.array(LORENZ_EXPONENTS)) < np.array([0.03, 0.015, 0.03]))


@pytest.mark.parametrize("transpose", [False, True])
def test_block_route_equals_jvp_route(monkeypatch, transpose):
    cases = []
    x, h0 = lorenz_inputs(2, 100)  # the JVP route costs tens of ms per Lorenz step: keep T short
    cases.append((lorenz_rk4_step(DT), x, h0, None))
    cases.append((logistic_step(3.7), torch.zeros(2, 100, 1, dtype=F64), torch.tensor([[0.2], [0.6]], dtype=F64),
                  None))
    g = torch.Generator().manual_seed(3)
    W = torch.randn(5, 5, generator=g, dtype=F64) * 0.6
    U = torch.randn(5, 2, generator=g, dtype=F64)
    cases.append((lambda xt, s: torch.tanh(s @ W.T + xt @ U.T), torch.randn(3, 60, 2, generator=g, dtype=F64),
                  torch.zeros(3, 5, dtype=F64), 3))  # k < D
    blocks = [lyapunov_spectrum(f, xs, h0=s0, k=k, transpose_jacobian=transpose, warmup=5, t_ons=2)
              for f, xs, s0, k in cases]
    jvp_route(monkeypatch)
    for (f, xs, s0, k), a in zip(cases, blocks):
        b = lyapunov_spectrum(f, xs, h0=s0, k=k, transpose_jacobian=transpose, warmup=5, t_ons=2)
        assert torch.max(torch.abs(a.exponents - b.exponents)).item() < 1e-12


def test_block_sizes_do_not_change_the_exponents(monkeypatch):
    x, h0 = lorenz_inputs(2, 400)
    ref = lyapunov_spectrum(lorenz_rk4_step(DT), x, h0=h0, return_curves=True)
    monkeypatch.setattr(spectrum, "_BLOCK_STEPS", 7)  # many blocks, the last one short
    a = lyapunov_spectrum(lorenz_rk4_step(DT), x, h0=h0, return_curves=True)
    monkeypatch.setattr(spectrum, "_BLOCK_ROWS", 12)  # B * D = 6 rows per step: blocks of 2 steps
    b = lyapunov_spectrum(lorenz_rk4_step(DT), x, h0=h0, return_curves=True)
    for r in (a, b):
        assert torch.max(torch.abs(r.exponents - ref.exponents)).item() < 1e-13
        assert torch.max(torch.abs(r.curves - ref.curves)).item() < 1e-13


def test_route_choice_blocks_for_small_states_or_most_of_the_spectrum():
    cell = spectrum._GenericCell(logistic_step(), F64, torch.device("cpu"))
    assert cell.use_blocks(3, 1) and cell.use_blocks(128, 2)
    assert not cell.use_blocks(600, 2)  # large state, two exponents (the adaptive-activation PTB case): JVPs
    assert cell.use_blocks(600, 300)


def test_block_route_takes_no_per_step_functorch_transform(monkeypatch):
    # the cause of the old cost: a vmap of jvp on every step (2-50 ms per step on a scalar map or Lorenz RK4)
    def refuse(*args, **kwargs):
        raise AssertionError("torch.func.vmap called on the block route")

    monkeypatch.setattr(torch.func, "vmap", refuse)
    res = lyapunov_spectrum(logistic_step(4.0), torch.zeros(1, 50, 1, dtype=F64),
                            h0=torch.tensor([[0.3]], dtype=F64))
    assert res.exponents.shape == (1, 1)


def numpy_logistic(T: int, s: float) -> float:
    Q, acc = np.eye(1), 0.0
    for _ in range(T):
        J = np.array([[4.0 * (1.0 - 2.0 * s)]])
        s = 4.0 * s * (1.0 - s)
        Q, R = np.linalg.qr(J @ Q)
        acc += math.log(abs(R[0, 0]))
    return acc / T


def test_generic_path_equals_a_numpy_qr_loop_on_a_scalar_map():
    # the speed goal (within 3x of this loop) is measured by benchmarks/lyapunov.py --generic-only, not here
    T, step = 1000, logistic_step(4.0)
    x, h0 = torch.zeros(1, T, 1, dtype=F64), torch.tensor([[0.3]], dtype=F64)
    assert abs(lyapunov_spectrum(step, x, h0=h0).exponents.item() - numpy_logistic(T, 0.3)) < 1e-12


def test_step_that_ignores_its_state_gives_minus_infinity():
    res = lyapunov_spectrum(lambda xt, s: torch.ones_like(s), torch.zeros(2, 20, 1, dtype=F64),
                            h0=torch.zeros(2, 3, dtype=F64))
    assert torch.all(torch.isneginf(res.exponents))


class LinearStep(nn.Module):
    """s -> W s + U x, a float32 module (its weights are cast to the tangent space's float64)."""

    def __init__(self, W: torch.Tensor):
        super().__init__()
        self.W = nn.Parameter(W.float())
        self.U = nn.Parameter(torch.ones(W.shape[0], 1))

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return s @ self.W.T + x @ self.U.T


def test_module_step_is_copied_in_float64_and_left_untouched():
    g = torch.Generator().manual_seed(5)
    A = torch.randn(4, 4, generator=g, dtype=F64)
    W = (A + A.T) / 4  # symmetric: exponents = sorted log|eig W|, exactly for a constant Jacobian
    W32 = W.float().double()  # the module holds float32 weights; its float64 copy has exactly these values
    module = LinearStep(W)
    res = lyapunov_spectrum(module, torch.randn(2, 1500, 1, generator=g, dtype=F64), h0=torch.zeros(2, 4, dtype=F64))
    want = torch.sort(torch.log(torch.abs(torch.linalg.eigvalsh(W32))), descending=True).values
    assert torch.max(torch.abs(res.exponents - want)).item() < 2e-3  # finite T, symmetric W (the C3 tolerance)
    assert module.W.dtype == torch.float32 and module.W.requires_grad and module.W.grad is None


def test_resumable_generic_iteration_equals_one_shot():
    x, h0 = lorenz_inputs(2, 300)
    one = lyapunov_spectrum(lorenz_rk4_step(DT), x, h0=h0, warmup=20)
    it = iter_lyapunov_spectrum(lorenz_rk4_step(DT), x, h0=h0, warmup=20, chunk=64)
    done = []
    while True:
        try:
            done.append(next(it))
        except StopIteration as stop:
            res = stop.value
            break
    assert done == [64, 128, 192, 256]
    assert torch.equal(res.exponents, one.exponents)
