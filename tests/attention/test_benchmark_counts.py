"""The multiply-add counts that ``benchmarks/attention.py`` prints beside its ratios, checked against torch's own
flop counter on the modules (so the "madd ratio" the benchmark judges rows by is what the modules compute)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from neurodyn.attention import CompositionalAttention, MultiHeadAttention

_spec = importlib.util.spec_from_file_location(
    "bench_attention", Path(__file__).resolve().parents[2] / "benchmarks" / "attention.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _counted_madds(module: torch.nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() / 2  # the counter reports 2 flops per multiply-add


@pytest.mark.parametrize("H", [2, 4, 8])
def test_benchmark_multiply_add_counts_match_torch_flop_counter(H):
    B, N, D = 2, 16, 32  # N <= 256: both modules take the explicit matmul path on CPU, which the counter sees
    x = torch.zeros(B, N, D)
    mha = _counted_madds(MultiHeadAttention(D, H), x)
    assert mha == bench.mha_madds(B, N, D, H)
    comp = _counted_madds(CompositionalAttention(D, H, H), x)
    # the counter sees the matmuls only: the value-score dot products (B N H D) are a batched matmul, the
    # mixing (another B N H D) is an elementwise sum, and the weight product Wq̄ Wk̄ adds S d_v d_r D
    counted_part = bench.comp_madds(B, N, D, H) - B * N * H * D + H * (D // H) ** 2 * D
    assert comp == counted_part
