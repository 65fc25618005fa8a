"""The stacked MLP's hand-written backward (reused hidden-layer buffers) against autograd of the plain expression."""

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


def test_backward_through_an_overwritten_forward_is_refused():
    model = StackedMLP([0], hidden=8)
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    first = model(x).sum()
    model(x).sum()  # a newer training forward overwrites the buffers
    with pytest.raises(RuntimeError, match="older forward pass"):
        first.backward()


def test_evaluation_without_gradients_leaves_the_training_buffers_alone():
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
