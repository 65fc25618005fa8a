"""The stacked MLP's fused CPU kernels (forward and backward) against autograd of the plain expression."""

from __future__ import annotations

import pytest
import torch

from neurodyn.starvation.mlp import StackedMLP


def _plain(model: StackedMLP, x: torch.Tensor) -> torch.Tensor:
    """The same networks written out, differentiated by autograd."""
    if x.dim() == 2:
        x = x.unsqueeze(0).expand(model.size, *x.shape)
    h = torch.relu(torch.baddbmm(model.b1[:, None, :], x, model.W1.transpose(1, 2)))
    out = torch.baddbmm(model.b2[:, None, :], h, model.W2.transpose(1, 2))
    return out.squeeze(-1) if out.shape[-1] == 1 else out


@pytest.mark.parametrize("d_out", [1, 3])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_forward_and_gradients_equal_autograd(d_out, dtype):
    model = StackedMLP([0, 1, 2], d_in=2, hidden=40, d_out=d_out).to(dtype)
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(3, 30, 2, generator=gen, dtype=dtype)
    weights = torch.randn(3, 30, *([d_out] if d_out > 1 else []), generator=gen, dtype=dtype)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    grads = []
    for forward in (model, lambda inp: _plain(model, inp)):
        model.zero_grad(set_to_none=True)
        out = forward(x)
        (out * weights).sum().backward()
        grads.append([out.detach()] + [p.grad.clone() for p in model.parameters()])
    for ours, ref in zip(*grads):
        torch.testing.assert_close(ours, ref, rtol=tol, atol=tol)


def test_shared_input_and_units_that_are_off():
    model = StackedMLP([3, 4], hidden=25).double()
    with torch.no_grad():
        model.b1[:, :10] = -100.0  # ten units off for every point: their weights must get exactly zero gradient
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    model(x).pow(2).sum().backward()
    assert torch.all(model.W1.grad[:, :10] == 0) and torch.all(model.b1.grad[:, :10] == 0)
    ours = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    _plain(model, x).pow(2).sum().backward()
    for a, b in zip(ours, model.parameters()):
        torch.testing.assert_close(a, b.grad, rtol=1e-12, atol=1e-12)


def test_cpu_forward_goes_through_the_fused_kernels_and_input_gradients_through_autograd():
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    assert "Fused" in type(StackedMLP([0], hidden=8)(x).grad_fn).__name__
    assert "Fused" not in type(StackedMLP([0], hidden=8, d_out=2)(x).grad_fn).__name__  # several outputs
    assert "Fused" in type(StackedMLP([0, 1], hidden=8)(x, rows=[1]).grad_fn).__name__  # chosen rows
    assert "Fused" not in type(StackedMLP([0], hidden=8)(x.requires_grad_()).grad_fn).__name__  # input gradients


def test_backward_through_an_older_forward_gets_that_forwards_gradient():
    model = StackedMLP([0, 1], hidden=8).double()
    gen = torch.Generator().manual_seed(0)
    x1, x2 = (torch.randn(5, 2, generator=gen, dtype=torch.float64) for _ in range(2))
    first = model(x1).pow(2).sum()
    model(x2).sum()  # a newer training forward in between (the kernels keep no activations)
    first.backward()
    ours = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    _plain(model, x1).pow(2).sum().backward()
    for a, b in zip(ours, model.parameters()):
        torch.testing.assert_close(a, b.grad, rtol=1e-12, atol=1e-12)


def test_weights_changed_in_place_between_forward_and_backward_are_refused():
    model = StackedMLP([0], hidden=8)
    loss = model(torch.randn(5, 2, generator=torch.Generator().manual_seed(0))).sum()
    with torch.no_grad():
        model.W1.add_(1.0)  # e.g. an optimiser step before the backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_page_sized_float32_step_matches_autograd():
    """The two-moons page's size (8 networks, 300 points, 500 units) in float32, where the kernels' summation order
    differs most from the batched products'."""
    model = StackedMLP(list(range(8)), hidden=500)
    gen = torch.Generator().manual_seed(2)
    x, w = torch.randn(300, 2, generator=gen), torch.randn(8, 300, generator=gen)
    grads = []
    for forward in (model, lambda inp: _plain(model, inp)):
        model.zero_grad(set_to_none=True)
        out = forward(x)
        (out * w).sum().backward()
        grads.append([out.detach()] + [p.grad.clone() for p in model.parameters()])
    for ours, ref in zip(*grads):
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())


def test_evaluation_between_forward_and_backward_leaves_the_training_gradient_alone():
    model = StackedMLP([0, 1], hidden=8)
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    loss = model(x).sum()
    with torch.no_grad():
        model(torch.randn(100, 2, generator=torch.Generator().manual_seed(1)))  # e.g. a heat map between steps
    loss.backward()  # still the gradient of the training forward
    ref = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    _plain(model, x).sum().backward()
    for a, p in zip(ref, model.parameters()):
        torch.testing.assert_close(a, p.grad)
