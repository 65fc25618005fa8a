"""G one-hidden-layer MLPs trained as one model (``docs/papers/starvation.md §2``).

The paper's two-moons network is Linear(2, 500) - ReLU - Linear(500, 1) with PyTorch's default initialisation. Its
figures average several seeds, and the page compares three regularisers side by side, so every (seed, regulariser)
pair is one row of a stacked model: one ``baddbmm`` per layer for all of them, with the hidden activations in buffers
reused between training steps (``benchmarks/starvation.py`` times it against the same networks trained one after the
other; tested against autograd of the plain expression).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

__all__ = ["StackedMLP", "default_init"]


class _Buffers:
    """Hidden-layer buffers reused from one training step to the next (see :class:`_StackedForward`)."""

    def __init__(self) -> None:
        self.shape: tuple[int, ...] = ()
        self.hidden = self.grad = self.mask = torch.empty(0)
        self.token = 0  # the forward pass whose activations the buffers hold

    def get(self, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """The hidden-layer buffer for ``shape`` (re)allocated when the shape, dtype or device changes."""
        if self.shape != shape or self.hidden.dtype != like.dtype or self.hidden.device != like.device:
            self.shape = shape
            self.hidden, self.mask = (torch.empty(shape, dtype=like.dtype, device=like.device) for _ in range(2))
            self.grad = torch.empty(0)  # only networks with several outputs form dH (see the backward)
        return self.hidden

    def grad_hidden(self) -> Tensor:
        """dH's buffer, allocated on first use."""
        if self.grad.shape != self.hidden.shape:
            self.grad = torch.empty_like(self.hidden)
        return self.grad


class _StackedForward(torch.autograd.Function):
    """``W2 relu(W1 x + b1) + b2`` for G networks with a hand-written backward into reused buffers.

    On one CPU thread a stacked hidden layer (G · n · hidden floats, 4.8 MB for 8 × 300 × 500) allocated afresh at
    every step costs more in page faults than the arithmetic (a ReLU into a new 4.8 MB tensor: 1.0 ms; into an
    existing one: 0.2 ms), which cancelled the gain of stacking. The activations therefore live in buffers owned by
    the model and overwritten by the next training forward; a backward after a newer forward is refused.
    """

    @staticmethod
    def forward(ctx, x, W1, b1, W2, b2, buffers: _Buffers):  # noqa: D102 - documented on the class
        G, n = x.shape[0], x.shape[1]
        hidden = buffers.get((G, n, W1.shape[1]), W1)
        # the bias as a weight on a column of ones: one bmm writes the pre-activation (a baddbmm would first copy the
        # broadcast bias into the 4.8 MB output), and the backward gets the bias gradient from the same product
        x = torch.cat([x, x.new_ones(G, n, 1)], dim=2)  # (G, n, d_in + 1)
        torch.bmm(x, torch.cat([W1, b1[:, :, None]], dim=2).transpose(1, 2), out=hidden)
        hidden.clamp_min_(0.0)
        buffers.token += 1
        ctx.token, ctx.buffers = buffers.token, buffers
        ctx.save_for_backward(x, W2)
        return torch.bmm(hidden, W2.transpose(1, 2)).add_(b2[:, None, :])

    @staticmethod
    def backward(ctx, grad_out):  # noqa: D102 - documented on the class
        buffers: _Buffers = ctx.buffers
        if ctx.token != buffers.token:
            raise RuntimeError("StackedMLP: backward through an older forward pass; its activations were overwritten "
                               "by a newer one (call backward before the next forward with gradients)")
        x, W2 = ctx.saved_tensors
        hidden, mask = buffers.hidden, buffers.mask
        grad_W2 = torch.bmm(grad_out.transpose(1, 2), hidden)  # (G, d_out, hidden)
        grad_b2 = grad_out.sum(1)
        torch.gt(hidden, 0.0, out=mask)  # 1 where the unit is on, 0 where it is off (hidden is the ReLU's output)
        if grad_out.shape[-1] == 1:
            # One output: dW1_aug[h] = W2[h] · Σ_n go[n] x_aug[n] mask[n, h], so (go ⊙ x_aug)ᵀ mask is the only pass
            # over the hidden layer in the backward (dH = go W2ᵀ ⊙ mask is never formed).
            weighted = (x * grad_out).transpose(1, 2)  # (G, d_in + 1, n)
            grad_aug = (torch.bmm(weighted, mask) * W2).transpose(1, 2)  # (G, hidden, d_in + 1)
        else:
            grad_hidden = buffers.grad_hidden()
            torch.bmm(grad_out, W2, out=grad_hidden)  # (G, n, hidden)
            grad_hidden.mul_(mask)
            grad_aug = torch.bmm(x.transpose(1, 2), grad_hidden).transpose(1, 2)  # (G, hidden, d_in + 1)
        grad_W1, grad_b1 = grad_aug[:, :, :-1], grad_aug[:, :, -1]
        return None, grad_W1, grad_b1, grad_W2, grad_b2, None


def default_init(d_in: int, d_out: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """PyTorch's default ``nn.Linear`` initialisation drawn from ``generator``: weight and bias ~ U(±1/sqrt(d_in)).

    (``nn.Linear`` uses Kaiming-uniform with a = sqrt(5) for the weight, whose bound is exactly 1/sqrt(d_in).)

    Parameters
    ----------
    d_in, d_out : int
    generator : torch.Generator

    Returns
    -------
    weight : Tensor, shape (d_out, d_in)
    bias : Tensor, shape (d_out,)
    """
    bound = 1.0 / math.sqrt(d_in)
    weight = (torch.rand(d_out, d_in, generator=generator) * 2 - 1) * bound
    bias = (torch.rand(d_out, generator=generator) * 2 - 1) * bound
    return weight, bias


class StackedMLP(nn.Module):
    """G networks ``x -> W2 relu(W1 x + b1) + b2`` with a leading network axis.

    Parameters
    ----------
    seeds : sequence of int, length G
        Row g is initialised from a generator seeded with ``seeds[g]`` (equal seeds, equal networks).
    d_in : int, default 2
    hidden : int, default 500
    d_out : int, default 1

    Attributes
    ----------
    W1 : Parameter, shape (G, hidden, d_in)
    b1 : Parameter, shape (G, hidden)
    W2 : Parameter, shape (G, d_out, hidden)
    b2 : Parameter, shape (G, d_out)
    """

    def __init__(self, seeds: Sequence[int], d_in: int = 2, hidden: int = 500, d_out: int = 1) -> None:
        super().__init__()
        if not seeds:
            raise ValueError("a stacked MLP needs at least one seed")
        rows = []
        for seed in seeds:
            g = torch.Generator().manual_seed(int(seed))
            rows.append((*default_init(d_in, hidden, g), *default_init(hidden, d_out, g)))
        self.W1, self.b1, self.W2, self.b2 = (nn.Parameter(torch.stack(p)) for p in zip(*rows))
        self._work = _Buffers()  # not "_buffers": nn.Module keeps its registered buffers there

    @property
    def size(self) -> int:
        """G, the number of networks."""
        return self.W1.shape[0]

    def forward(self, x: Tensor, rows: Sequence[int] | None = None) -> Tensor:
        """Outputs of every network (or of the networks ``rows``).

        Parameters
        ----------
        x : Tensor, shape (n, d_in) or (G', n, d_in)
        rows : sequence of int, optional
            Only these networks (G' = len(rows)); e.g. to evaluate a large grid of points one network at a time.

        Returns
        -------
        Tensor, shape (G', n) when d_out = 1, else (G', n, d_out)
        """
        W1, b1, W2, b2 = (p if rows is None else p[list(rows)] for p in (self.W1, self.b1, self.W2, self.b2))
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(W1.shape[0], *x.shape)
        if torch.is_grad_enabled() and rows is None and not x.requires_grad:  # training: reuse the buffers
            out = _StackedForward.apply(x, W1, b1, W2, b2, self._work)
        else:
            h = torch.relu(torch.baddbmm(b1[:, None, :], x, W1.transpose(1, 2)))
            out = torch.baddbmm(b2[:, None, :], h, W2.transpose(1, 2))
        return out.squeeze(-1) if out.shape[-1] == 1 else out

    def row(self, g: int) -> nn.Sequential:
        """Network g as a plain ``nn.Sequential`` (a copy of its current weights), e.g. for its tangent kernel."""
        d_in, hidden, d_out = self.W1.shape[2], self.W1.shape[1], self.W2.shape[1]
        net = nn.Sequential(nn.utils.skip_init(nn.Linear, d_in, hidden), nn.ReLU(),  # no draw from the global RNG
                            nn.utils.skip_init(nn.Linear, hidden, d_out))
        with torch.no_grad():
            net[0].weight.copy_(self.W1[g])
            net[0].bias.copy_(self.b1[g])
            net[2].weight.copy_(self.W2[g])
            net[2].bias.copy_(self.b2[g])
        return net
