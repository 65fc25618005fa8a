"""The tangent kernel and its statistics against explicit constructions (feature-alignment card §6: checks 1-8 without
nngeometry): a row-by-row autograd kernel, chunking, layer blocks, centring, the one-backward numerator, alignment
invariances and ceiling, effective rank, cumulative spectra, the linear model, and the 2-500-1 MLP of the
gradient-starvation card (P = 2001, 300 points).

Everything in float64 except the 2-500-1 kernel (float32, as the dashboard runs it).
"""

from __future__ import annotations

import math
import time

import pytest
import torch
from torch import nn

from neurodyn.alignment import (
    alignment_numerator,
    center_kernel,
    centered_alignment,
    cumulative_spectrum,
    effective_rank,
    tangent_kernel,
)

torch.set_num_threads(1)
F64 = torch.float64


def _mlp(c: int, seed: int = 0, d: int = 3, h: int = 5, dtype: torch.dtype = F64) -> nn.Sequential:
    """A tiny d-h-h-c tanh MLP; c = 0 builds a scalar-output net whose output is (n,)."""
    torch.manual_seed(seed)
    layers = [nn.Linear(d, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, max(c, 1))]
    if c == 0:
        layers.append(nn.Flatten(0))
    return nn.Sequential(*layers).to(dtype)


def _probe(n: int, d: int = 3, seed: int = 1, dtype: torch.dtype = F64) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _rowwise_jacobian(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """J (n·c, P), examples major, from one autograd.grad call per (example, output) pair."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for x in X:
        out = model(x.unsqueeze(0)).reshape(-1)
        for a in range(out.numel()):
            grads = torch.autograd.grad(out[a], params, retain_graph=True)
            rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def _hand_centered(K: torch.Tensor, n: int) -> torch.Tensor:
    """(H ⊗ I_c) K (H ⊗ I_c) with explicit matrices."""
    c = K.shape[0] // n
    H = torch.eye(n, dtype=K.dtype) - torch.full((n, n), 1.0 / n, dtype=K.dtype)
    P = torch.kron(H, torch.eye(c, dtype=K.dtype))
    return P @ K @ P


def _one_hot(n: int, c: int, seed: int = 2) -> torch.Tensor:
    labels = torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(seed))
    return nn.functional.one_hot(labels, c).to(F64)


# ---------------------------------------------------------------------------------------------------------------
# the kernel itself


@pytest.mark.parametrize("c", [0, 1, 3])
def test_kernel_equals_rowwise_autograd_kernel(c):
    model, X = _mlp(c), _probe(7)
    J = _rowwise_jacobian(model, X)
    K = tangent_kernel(model, X, centered=False)
    m = 7 * max(c, 1)
    assert K.shape == (m, m) and K.dtype == F64
    assert (K - J @ J.T).abs().max().item() < 1e-10
    # the examples-major order matters: the output-major permutation of the same kernel differs (for c > 1)
    if c == 3:
        perm = torch.arange(m).reshape(7, 3).T.reshape(-1)
        assert (K - (J @ J.T)[perm][:, perm]).abs().max().item() > 1e-3


@pytest.mark.parametrize("c", [1, 3])
def test_centred_kernel_is_centred_feature_gram(c):
    model, X = _mlp(c, seed=3), _probe(6)
    J = _rowwise_jacobian(model, X)
    J3 = J.reshape(6, c, -1)
    Jc = (J3 - J3.mean(dim=0, keepdim=True)).reshape(6 * c, -1)
    Kc = tangent_kernel(model, X)  # centred by default
    K = tangent_kernel(model, X, centered=False)
    assert (Kc - Jc @ Jc.T).abs().max().item() < 1e-10
    assert (Kc - _hand_centered(K, 6)).abs().max().item() < 1e-12
    assert (center_kernel(K, 6) - _hand_centered(K, 6)).abs().max().item() < 1e-12
    assert (Kc - K).abs().max().item() > 1e-3  # centring does something
    # idempotent: a centred kernel is left as it is
    assert (center_kernel(Kc, 6) - Kc).abs().max().item() < 1e-12


@pytest.mark.parametrize("centered", [False, True])
def test_chunking_gives_the_same_kernel(centered):
    model, X = _mlp(3, seed=4), _probe(7)
    ref = tangent_kernel(model, X, centered=centered, chunk_size=None)
    for chunk in (1, 3, 7, 50):
        K = tangent_kernel(model, X, centered=centered, chunk_size=chunk)
        assert (K - ref).abs().max().item() < 1e-12, chunk
    with pytest.raises(ValueError, match="chunk_size"):
        tangent_kernel(model, X, chunk_size=0)


def test_layer_blocks_sum_to_the_full_kernel():
    model, X = _mlp(3, seed=5), _probe(5)
    full = tangent_kernel(model, X, chunk_size=2)
    each = tangent_kernel(model, X, layers="each", chunk_size=2)
    assert list(each) == ["0", "2", "4"]
    assert (sum(each.values()) - full).abs().max().item() < 1e-6 * full.abs().max().item()
    # each block is the kernel of that layer's parameters alone: the last layer's from its rows of J
    J = _rowwise_jacobian(model, X)
    p_last = sum(p.numel() for p in model[4].parameters())
    Jl = J[:, -p_last:].reshape(5, 3, -1)
    Jl = (Jl - Jl.mean(dim=0, keepdim=True)).reshape(15, -1)
    assert (each["4"] - Jl @ Jl.T).abs().max().item() < 1e-10
    # named groups, and frozen parameters left out
    named = tangent_kernel(model, X, layers=["0", "4"], centered=False)
    model[2].weight.requires_grad_(False)
    model[2].bias.requires_grad_(False)
    frozen = tangent_kernel(model, X, centered=False)
    assert (named["0"] + named["4"] - frozen).abs().max().item() < 1e-10
    with pytest.raises(ValueError, match="no module"):
        tangent_kernel(model, X, layers=["nope"])
    with pytest.raises(ValueError, match="requires grad"):
        tangent_kernel(model, X, layers=["2"])
    with pytest.raises(ValueError, match="overlap"):
        tangent_kernel(model, X, layers=["", "0"])


def test_linear_model_kernel_is_xxt_per_output_and_constant_in_training():
    torch.manual_seed(0)
    model = nn.Linear(4, 3, bias=False).to(F64)
    X = _probe(8, d=4)
    Y = _one_hot(8, 3)
    K0 = tangent_kernel(model, X, centered=False)
    expected = torch.kron(X @ X.T, torch.eye(3, dtype=F64))  # (xᵀx') I_c, examples major
    assert (K0 - expected).abs().max().item() < 1e-12
    Kc0 = tangent_kernel(model, X)
    a0 = centered_alignment(Kc0, Y)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    w0 = model.weight.detach().clone()
    for _ in range(20):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), Y.argmax(1)).backward()
        opt.step()
    assert (model.weight - w0).abs().max().item() > 1e-2  # the weights did move
    assert (tangent_kernel(model, X, centered=False) - K0).abs().max().item() < 1e-12
    assert abs(centered_alignment(tangent_kernel(model, X), Y) - a0) < 1e-12
    # a nonlinear model's kernel does move under the same training
    mlp, Xm = _mlp(3, seed=6, d=4), X
    K1 = tangent_kernel(mlp, Xm, centered=False)
    opt = torch.optim.SGD(mlp.parameters(), lr=0.5)
    for _ in range(20):
        opt.zero_grad()
        nn.functional.cross_entropy(mlp(Xm), Y.argmax(1)).backward()
        opt.step()
    assert (tangent_kernel(mlp, Xm, centered=False) - K1).abs().max().item() > 1e-4


def test_two_moons_mlp_kernel_at_init_is_quick_symmetric_psd():
    """The gradient-starvation card's NTK at init: 2-500-1 MLP, P = 2001, 300 points, chunks of 50."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 500), nn.ReLU(), nn.Linear(500, 1))
    assert sum(p.numel() for p in model.parameters()) == 2001
    X = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    tangent_kernel(model, X[:3])  # the first torch.func call of a process pays a one-off set-up (seconds)
    t0 = time.perf_counter()
    K = tangent_kernel(model, X, centered=False, chunk_size=50)
    elapsed = time.perf_counter() - t0
    assert K.shape == (300, 300) and K.dtype == torch.float32
    assert elapsed < 5.0, elapsed  # ~0.05 s measured on one thread (0.2 s when busy)
    assert (K - K.T).abs().max().item() <= 1e-5 * K.abs().max().item()
    lam = torch.linalg.eigvalsh(K.double())
    assert lam.min().item() > -1e-5 * lam.max().item()
    # spot check: the diagonal is each example's squared gradient norm
    for i in (0, 137, 299):
        model.zero_grad()
        model(X[i:i + 1]).sum().backward()
        sq = sum((p.grad ** 2).sum() for p in model.parameters()).item()
        assert abs(K[i, i].item() - sq) <= 1e-4 * sq


# ---------------------------------------------------------------------------------------------------------------
# alignment


@pytest.mark.parametrize("c", [1, 3])
def test_alignment_numerator_one_backward_equals_ytkcy(c):
    model, X = _mlp(c, seed=7), _probe(9)
    Y = _one_hot(9, 3) if c == 3 else torch.sign(_probe(9, d=1, seed=4)).reshape(-1)
    Kc = tangent_kernel(model, X)
    Yc = (Y.reshape(9, c) - Y.reshape(9, c).mean(dim=0, keepdim=True)).reshape(-1)
    explicit = (Yc @ Kc @ Yc).item()
    assert abs(alignment_numerator(model, X, Y) - explicit) < 1e-8 * max(1.0, abs(explicit))
    # without centring the targets, the raw kernel's quadratic form is a different number
    y = Y.reshape(-1)
    assert abs(y @ tangent_kernel(model, X, centered=False) @ y - explicit).item() > 1e-4
    assert all(p.grad is None for p in model.parameters())


def test_centered_alignment_formula_and_invariances():
    model, X = _mlp(3, seed=8), _probe(10)
    Y = _one_hot(10, 3)
    K = tangent_kernel(model, X, centered=False)
    Kc = _hand_centered(K, 10)
    y = (Y - Y.mean(0)).reshape(-1)
    expected = (y @ Kc @ y / (torch.linalg.matrix_norm(Kc) * (y @ y))).item()
    a = centered_alignment(K, Y)
    assert abs(a - expected) < 1e-12 and 0.0 <= a <= 1.0
    assert abs(centered_alignment(Kc, Y) - a) < 1e-12  # centred or not on the way in
    assert abs(centered_alignment(7.5 * K, Y) - a) < 1e-12
    assert abs(centered_alignment(torch.outer(y, y), Y) - 1.0) < 1e-12
    # permuting examples in both K and Y (rows i·c + a move together)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(3))
    rows = (perm.unsqueeze(1) * 3 + torch.arange(3)).reshape(-1)
    assert abs(centered_alignment(K[rows][:, rows], Y[perm]) - a) < 1e-12
    # permuting only the targets changes the value
    assert abs(centered_alignment(K, Y[perm]) - a) > 1e-4
    assert math.isnan(centered_alignment(K, torch.ones(10, 3, dtype=F64)))
    with pytest.raises(ValueError, match="does not match"):
        centered_alignment(K, Y[:9])


def test_alignment_ceiling_for_identical_output_blocks():
    """Card check 5: K = I_10 ⊗ (Yc Ycᵀ) on 10 balanced classes (n = 100) gives 1/sqrt(90)."""
    Y = nn.functional.one_hot(torch.arange(100) % 10, 10).to(F64)
    Yc = Y - Y.mean(0)
    K_output_major = torch.kron(torch.eye(10, dtype=F64), Yc @ Yc.T)
    K = torch.kron(Yc @ Yc.T, torch.eye(10, dtype=F64))  # the same kernel, examples major
    assert abs(centered_alignment(K, Y) - 1 / math.sqrt(90)) < 1e-12
    assert abs(1 / math.sqrt(90) - 0.105409) < 1e-6
    # read with the wrong (output-major) order, the value is not the ceiling
    assert abs(centered_alignment(K_output_major, Y) - 1 / math.sqrt(90)) > 1e-3


# ---------------------------------------------------------------------------------------------------------------
# spectrum statistics


def test_effective_rank_of_known_spectra():
    for m in (1, 5, 37):
        assert abs(effective_rank(torch.full((m,), 2.5)) - m) < 1e-4
    assert abs(effective_rank([0.0, 3.0, 0.0, 0.0]) - 1.0) < 1e-12
    assert abs(effective_rank([1.0, 1.0, 0.0, -1e-12]) - 2.0) < 1e-12  # round-off negatives count as 0
    p = torch.tensor([0.5, 0.25, 0.25], dtype=F64)
    assert abs(effective_rank(4 * p) - math.exp(-(p * p.log()).sum().item())) < 1e-12
    assert 1.0 < effective_rank([3.0, 1.0]) < 2.0
    lam = torch.linalg.eigvalsh(tangent_kernel(_mlp(3), _probe(6)))
    assert 1.0 <= effective_rank(lam) <= 18.0
    with pytest.raises(ValueError, match="positive"):
        effective_rank([0.0, 0.0])


def test_cumulative_spectrum_values():
    lam = torch.tensor([1.0, 4.0, 2.0, 3.0], dtype=F64)  # any order: sorted to 4, 3, 2, 1 (total 10)
    assert cumulative_spectrum(lam, 1) == pytest.approx(0.4, abs=1e-12)
    assert cumulative_spectrum(lam, [0, 1, 2, 3, 4, 160]) == pytest.approx([0.0, 0.4, 0.7, 0.9, 1.0, 1.0], abs=1e-12)
    assert isinstance(cumulative_spectrum(lam, 2), float)
    assert cumulative_spectrum(torch.linalg.eigvalsh(torch.diag(lam)), 2) == pytest.approx(0.7, abs=1e-12)
    with pytest.raises(ValueError, match="k must be"):
        cumulative_spectrum(lam, -1)
    with pytest.raises(ValueError, match="k must be"):
        cumulative_spectrum(lam, 1.5)


# ---------------------------------------------------------------------------------------------------------------
# the two routes: factorised nn.Linear features and torch.func


class _SharedLayer(nn.Module):
    """One Linear applied twice (the case nngeometry's hooks get wrong, card §8): the fast route must step aside."""

    def __init__(self) -> None:
        super().__init__()
        self.inp, self.shared, self.out = nn.Linear(3, 4), nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.shared(torch.tanh(self.shared(torch.tanh(self.inp(x)))))))


class _Scaled(nn.Module):
    """A trainable parameter outside any nn.Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.scale = _mlp(2), nn.Parameter(torch.tensor(1.5, dtype=F64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.body(x)


@pytest.mark.parametrize("c", [0, 1, 3])
def test_linear_route_equals_torch_func_route_per_layer(c):
    from neurodyn.alignment.kernel import _func_blocks, _layer_groups, _linear_blocks

    model, X = _mlp(c), _probe(9)
    groups = _layer_groups(model, "each")
    fast, generic = _linear_blocks(model, X, groups), _func_blocks(model, X, groups, None)
    assert fast is not None and list(fast) == ["0", "2", "4"]
    for key in groups:
        assert (fast[key] - generic[key]).abs().max().item() < 1e-12


@pytest.mark.parametrize("make", [lambda: _SharedLayer().double(), _Scaled,
                                  lambda: nn.Sequential(_mlp(2), nn.Dropout(0.0))])
def test_models_outside_the_linear_route_use_torch_func_and_stay_exact(make):
    from neurodyn.alignment.kernel import _layer_groups, _linear_blocks

    torch.manual_seed(0)
    model, X = make(), _probe(6)
    assert _linear_blocks(model, X, _layer_groups(model, None)) is None
    J = _rowwise_jacobian(model, X)
    assert (tangent_kernel(model, X, centered=False) - J @ J.T).abs().max().item() < 1e-10


def test_frozen_parameters_are_left_out_on_the_linear_route():
    model, X = _mlp(2), _probe(5)
    model[0].bias.requires_grad_(False)
    model[4].weight.requires_grad_(False)
    J = _rowwise_jacobian(model, X)  # over the trainable parameters only
    assert (tangent_kernel(model, X, centered=False) - J @ J.T).abs().max().item() < 1e-10
