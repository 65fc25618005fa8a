"""CUDA paths: every mechanism on the GPU gives the CPU's numbers, and every experiment trains there.

These run wherever ``torch.cuda.is_available()``; the project's CI machine has no GPU, so CI reports them as
skipped and they are run on a lent GPU machine (see the README's performance section for the last run).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurodyn.attention import CompositionalAttention, MultiHeadAttention
from neurodyn.core import registry
from neurodyn.core.loop import run
from neurodyn.lead import LEAD, LEADAdam
from neurodyn.udemd import udemd_embedding

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

F64 = torch.float64


def _grads(module: torch.nn.Module, x: torch.Tensor, **kw) -> tuple[torch.Tensor, list[torch.Tensor]]:
    x = x.detach().requires_grad_(True)
    out = module(x, **kw)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).view_as(out)).sum().backward()
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in module.parameters()]  # unused: zeros
    return out.detach().cpu(), [x.grad.cpu()] + [g.cpu() for g in grads]


@pytest.mark.parametrize("n_tokens", [10, 300])  # bmm path and fused SDPA path on CPU; SDPA on CUDA
@pytest.mark.parametrize("pairing", ["learned", "identity", "hard"])
def test_compositional_attention_cuda_matches_cpu(n_tokens, pairing):
    torch.manual_seed(0)
    cpu = CompositionalAttention(32, 4, 4, pairing=pairing).double()
    gpu = CompositionalAttention(32, 4, 4, pairing=pairing).double()
    gpu.load_state_dict(cpu.state_dict())
    gpu.cuda()
    x = torch.randn(3, n_tokens, 32, dtype=F64, generator=torch.Generator().manual_seed(1))
    mask = ~torch.eye(n_tokens, dtype=torch.bool)
    out_c, g_c = _grads(cpu, x, attn_mask=mask)
    out_g, g_g = _grads(gpu, x.cuda(), attn_mask=mask.cuda())
    assert torch.allclose(out_g, out_c, atol=1e-10, rtol=0)
    for a, b in zip(g_g, g_c):
        assert torch.allclose(a, b, atol=1e-9, rtol=0)


def test_multihead_baseline_cuda_matches_cpu():
    torch.manual_seed(0)
    cpu = MultiHeadAttention(32, 4).double()
    gpu = MultiHeadAttention(32, 4).double()
    gpu.load_state_dict(cpu.state_dict())
    gpu.cuda()
    x = torch.randn(2, 12, 32, dtype=F64, generator=torch.Generator().manual_seed(2))
    out_c, g_c = _grads(cpu, x)
    out_g, g_g = _grads(gpu, x.cuda())
    assert torch.allclose(out_g, out_c, atol=1e-10, rtol=0)
    for a, b in zip(g_g, g_c):
        assert torch.allclose(a, b, atol=1e-9, rtol=0)


def test_lead_on_cuda_follows_the_cpu_trajectory_and_contracts():
    A = torch.linalg.qr(torch.randn(20, 20, dtype=F64, generator=torch.Generator().manual_seed(3))).Q  # sigma = 1

    def trajectory(device: str) -> torch.Tensor:
        x = torch.ones(20, dtype=F64, device=device, requires_grad=True)
        y = torch.ones(20, dtype=F64, device=device, requires_grad=True)
        a = A.to(device)
        opt = LEAD([{"params": [x], "role": "min"}, {"params": [y], "role": "max"}], lr=0.1, beta=0.5, alpha=0.51)
        norms = []
        for _ in range(200):
            opt.step(lambda: x @ (a @ y))
            norms.append(torch.cat([x, y]).norm().item())
        return torch.tensor(norms)

    cpu, gpu = trajectory("cpu"), trajectory("cuda")
    assert torch.allclose(gpu, cpu, rtol=1e-9, atol=1e-12)
    assert gpu[-1] < 1e-2 * gpu[0]


def test_lead_adam_runs_on_cuda_with_general_sum_losses():
    torch.manual_seed(0)
    G = torch.nn.Linear(4, 2).double().cuda()
    D = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double().cuda()
    z = torch.randn(64, 4, dtype=F64, device="cuda")
    real = torch.randn(64, 2, dtype=F64, device="cuda") + 2.0
    sp = torch.nn.functional.softplus

    def losses():
        fake_logits, real_logits = D(G(z)), D(real)
        return sp(-fake_logits).mean(), -(sp(-real_logits).mean() + sp(fake_logits).mean())

    opt = LEADAdam([{"params": G.parameters(), "role": "min"}, {"params": D.parameters(), "role": "max"}], lr=1e-2)
    start = G(z).mean(0).detach()
    for _ in range(100):
        opt.step(losses)
    end = G(z).mean(0).detach()
    assert torch.isfinite(end).all()
    assert (end - real.mean(0)).norm() < (start - real.mean(0)).norm()


@pytest.mark.parametrize("n_nodes", [60, 700])  # dense route and sparse route on CUDA
def test_udemd_embedding_on_cuda_matches_cpu(n_nodes):
    rng = np.random.default_rng(4)
    adj = np.zeros((n_nodes, n_nodes))
    idx = np.arange(n_nodes - 1)
    adj[idx, idx + 1] = adj[idx + 1, idx] = 1.0  # a path ...
    extra = rng.integers(0, n_nodes, size=(n_nodes, 2))
    adj[extra[:, 0], extra[:, 1]] = adj[extra[:, 1], extra[:, 0]] = 1.0  # ... with random chords
    np.fill_diagonal(adj, 0.0)
    signals = rng.random((7, n_nodes))
    cpu = udemd_embedding(adj, signals, device="cpu")
    gpu = udemd_embedding(adj, signals, device="cuda")
    assert gpu.shape == cpu.shape
    assert np.allclose(gpu, cpu, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ["attention", "lead", "lead_gan", "lyapunov", "udemd"])
def test_experiment_small_preset_trains_on_cuda(name):
    exp = registry.build(name, preset="small", device="cuda", seed=0)
    records = list(run(exp, 5))
    assert records, f"{name} gave no record"
    for rec in records:
        bad = {k: v for k, v in rec.metrics.items() if isinstance(v, float) and not math.isfinite(v)}
        assert not bad, f"{name}: non-finite metrics {bad}"
