"""The tangent kernel against the peer library (feature-alignment card §6, check 1): nngeometry 0.4's dense Gram
matrix ``FMatDense`` from ``TorchHooksJacobianBackend``, centring on and off, float32 and float64, on small MLPs with
3, 2 and 1 outputs.

What nngeometry 0.4 returns (read from ``nngeometry/backend/torch_hooks/torch_hooks.py``, ``get_gram_matrix``):

- a 4-D tensor ``G`` of shape ``[c, n, c, n]``, **output major**: ``G[a, i, b, j] = ⟨∂f_a(x_i)/∂w, ∂f_b(x_j)/∂w⟩``;
  our kernel is examples major, ``K[i·c + a, j·c + b]``, so ``K == G.permute(1, 0, 3, 2).reshape(n·c, n·c)``;
- **no normalisation**: the Gram matrix is the plain sum over parameters (unlike its FIM/covariance objects, which
  divide by n), so no factor is needed between the two;
- centring multiplies by ``C = I_n − 11ᵀ/n`` on both example axes, i.e. the same ``(H ⊗ I_c) K (H ⊗ I_c)`` as ours;
  but ``C`` is built in torch's *default* dtype, so with a float64 model and a float32 default the centred Gram raises
  a dtype mismatch in ``torch.mm``: the float64 comparisons below run with the default dtype set to float64.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import torch
from nngeometry.backend import TorchHooksJacobianBackend
from nngeometry.object import FMatDense
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from neurodyn.alignment import tangent_kernel

torch.set_num_threads(1)
N, D = 20, 8
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def _mlp(c: int, dtype: torch.dtype, seed: int = 0) -> nn.Sequential:
    """8-16-16-c MLP (ReLU then tanh), seeded default init, in ``dtype``."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(D, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, c)).to(dtype)


def _probe(dtype: torch.dtype, n: int = N, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, D, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Run with torch's default dtype set to ``dtype`` (nngeometry 0.4 builds its centring matrix in it)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _nngeometry_gram(model: nn.Module, X: torch.Tensor, centered: bool, batch_size: int | None = None) -> torch.Tensor:
    """nngeometry 0.4's dense Gram matrix, as it returns it: [c, n, c, n], output major, not divided by n."""
    backend = TorchHooksJacobianBackend(model=model, function=lambda *batch: model(batch[0]), centering=centered)
    examples = (X.clone(),) if batch_size is None else DataLoader(TensorDataset(X.clone()), batch_size=batch_size)
    with _default_dtype(X.dtype):
        return FMatDense(generator=backend, examples=examples).to_torch()


def _to_examples_major(G: torch.Tensor) -> torch.Tensor:
    """[c, n, c, n] (output major) -> (n·c, n·c) with row ``i·c + a`` (examples major)."""
    c, n = G.shape[:2]
    return G.permute(1, 0, 3, 2).reshape(n * c, n * c)


def _rel(A: torch.Tensor, B: torch.Tensor) -> float:
    """max |A − B| / max |B|."""
    return ((A - B).abs().max() / B.abs().max()).item()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("centered", [True, False], ids=["centred", "raw"])
@pytest.mark.parametrize("c", [3, 2, 1])
def test_matches_nngeometry_dense_gram(c: int, centered: bool, dtype: torch.dtype) -> None:
    model, X = _mlp(c, dtype), _probe(dtype)
    G = _nngeometry_gram(model, X, centered)
    assert G.shape == (c, N, c, N) and G.dtype == dtype
    K = tangent_kernel(model, X, centered=centered)
    assert K.shape == (N * c, N * c) and K.dtype == dtype
    assert _rel(K, _to_examples_major(G)) < TOL[dtype]


def test_matches_nngeometry_in_minibatches() -> None:
    """nngeometry fills its Gram block by block over a loader's minibatches; the kernel is the same."""
    model, X = _mlp(3, torch.float64), _probe(torch.float64)
    G = _nngeometry_gram(model, X, centered=True, batch_size=7)
    assert _rel(tangent_kernel(model, X, centered=True), _to_examples_major(G)) < TOL[torch.float64]


@pytest.mark.parametrize("centered", [True, False], ids=["centred", "raw"])
def test_output_major_flattening_does_not_match(centered: bool) -> None:
    """Flattening nngeometry's [c, n, c, n] as it stands (output major) is a different matrix: the order is checked."""
    model, X = _mlp(3, torch.float64), _probe(torch.float64)
    G = _nngeometry_gram(model, X, centered)
    K = tangent_kernel(model, X, centered=centered)
    wrong = G.reshape(N * 3, N * 3)
    assert _rel(K, wrong) > 1e-2
    # the same entries, merely permuted: same spectrum and Frobenius norm, which is why a mix-up goes unnoticed
    assert torch.allclose(torch.linalg.eigvalsh(K), torch.linalg.eigvalsh(wrong), rtol=1e-8, atol=1e-8 * K.norm())
    assert _rel(_to_examples_major(G), K) < TOL[torch.float64]


def test_nngeometry_gram_is_not_divided_by_n() -> None:
    """The Gram matrix is a plain sum over parameters: doubling the probe (each example twice) keeps its entries."""
    model, X = _mlp(2, torch.float64), _probe(torch.float64, n=6)
    G1 = _nngeometry_gram(model, X, centered=False)
    G2 = _nngeometry_gram(model, torch.cat([X, X]), centered=False)
    assert torch.allclose(G2[:, :6, :, :6], G1, rtol=1e-12, atol=0)
