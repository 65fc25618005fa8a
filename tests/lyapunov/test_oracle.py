"""Independent slow oracle (``docs/papers/lyapunov.md §6``): explicit autograd Jacobians of the torch module, SciPy
QR, NumPy accumulation, one sequence at a time. The batched implementation must agree to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from neurodyn.lyapunov import lyapunov_spectrum, spectrum

F64 = torch.float64


def tiny_cell(kind: str, n_in: int, hidden: int, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        cell = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](n_in, hidden, batch_first=True).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_((torch.rand(p.shape, generator=g, dtype=F64) * 2 - 1) * 0.7)
    return cell


def oracle_spectrum(cell: nn.Module, x: np.ndarray, *, lstm_state: str, warmup: int, t_ons: int, k: int,
                    transpose: bool) -> np.ndarray:
    """Textbook discrete QR, one sequence at a time; returns (B, k) sorted descending, nats per step."""
    H = cell.hidden_size
    is_lstm = isinstance(cell, nn.LSTM)
    D_state = 2 * H if is_lstm else H
    D = H if (is_lstm and lstm_state == "h") else D_state

    def step(xt: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if is_lstm:
            _, (h1, c1) = cell(xt.view(1, 1, -1), (s[:H].view(1, 1, H), s[H:].view(1, 1, H)))
            return torch.cat([h1.view(H), c1.view(H)])
        return cell(xt.view(1, 1, -1), s.view(1, 1, H))[1].view(H)

    B, n_total, _ = x.shape
    T = n_total - warmup
    out = np.zeros((B, k))
    for b in range(B):
        s = torch.zeros(D_state, dtype=F64)
        Q = np.eye(D)[:, :k]
        acc = np.zeros(k)
        for t in range(n_total):
            xt = torch.from_numpy(x[b, t])
            J = torch.func.jacrev(lambda st: step(xt, st))(s).detach().numpy()[:D, :D]  # explicit (D, D)
            with torch.no_grad():
                s = step(xt, s)
            Z = (J.T if transpose else J) @ Q
            if t < warmup:
                if (t + 1) % t_ons == 0 or t + 1 == warmup:
                    Q = scipy.linalg.qr(Z, mode="economic")[0]
                else:
                    Q = Z
                continue
            m = t - warmup + 1  # measured steps so far
            if m % t_ons == 0 or m == T:
                Q, R = scipy.linalg.qr(Z, mode="economic")
                acc += np.log(np.abs(np.diag(R)))
            else:
                Q = Z
        out[b] = np.sort(acc / T)[::-1]
    return out


@pytest.fixture(params=["row-scaled", "assembled"])
def jq_path(request, monkeypatch):
    """Run each check through both analytic J Q paths (row-scaled W_hh Q, and per-sequence assembled blocks)."""
    monkeypatch.setattr(spectrum, "_ASSEMBLE_MIN_K", 10**9 if request.param == "row-scaled" else 1)
    return request.param


@pytest.mark.parametrize(
    "kind,lstm_state,warmup,t_ons,k,transpose",
    [
        ("rnn", "hc", 0, 1, 4, False),
        ("gru", "hc", 5, 1, 4, False),
        ("gru", "hc", 0, 3, 2, True),
        ("lstm", "hc", 4, 2, 8, False),
        ("lstm", "h", 0, 1, 4, True),
        ("lstm", "hc", 0, 1, 3, False),
    ],
)
def test_batched_spectrum_matches_slow_scipy_oracle(kind, lstm_state, warmup, t_ons, k, transpose, jq_path):
    cell = tiny_cell(kind, 3, 4, seed=7)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, warmup + 40, 3))
    ours = lyapunov_spectrum(cell, torch.from_numpy(x), lstm_state=lstm_state, warmup=warmup, t_ons=t_ons, k=k,
                             transpose_jacobian=transpose)
    ref = oracle_spectrum(cell, x, lstm_state=lstm_state, warmup=warmup, t_ons=t_ons, k=k, transpose=transpose)
    assert np.max(np.abs(ours.exponents.numpy() - ref)) <= 1e-10  # §6 oracle
