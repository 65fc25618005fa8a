"""G one-hidden-layer MLPs trained as one model (``docs/papers/starvation.md §2``).

The paper's two-moons network is Linear(2, 500) - ReLU - Linear(500, 1) with PyTorch's default initialisation. Its
figures average several seeds, and the page compares three regularisers side by side, so every (seed, regulariser)
pair is one row of a stacked model. On the CPU its forward and backward are fused numba kernels that never store the
stacked hidden layer (:mod:`neurodyn.starvation._fused`); the GPU, several outputs and gradients with respect to the
input use one ``baddbmm`` per layer and autograd. ``benchmarks/starvation.py`` times it against the same networks
trained one after the other; ``tests/starvation/test_mlp.py`` checks both routes against autograd of the plain
expression.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

__all__ = ["StackedMLP", "default_init"]


class _FusedForward(torch.autograd.Function):
    """``w2 · relu(W1 x + b1) + b2``, shape (G, n), for G one-output networks through the kernels of :mod:`._fused`.

    Nothing is saved but the inputs: the backward recomputes the pre-activations point by point, so the stacked
    hidden layer is never stored (see the module docstring of :mod:`._fused` for why).
    """

    @staticmethod
    def forward(ctx, x, W1, b1, W2, b2):  # noqa: D102 - documented on the class
        from neurodyn.starvation import _fused

        x = x[:1] if x.shape[0] > 1 and x.stride(0) == 0 else x  # one shared set of points: pass it once
        ctx.save_for_backward(x, W1, b1, W2)
        out = _fused.forward(*_arrays(x, W1, b1, W2), b2.detach()[:, 0].contiguous().numpy())
        return torch.from_numpy(out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):  # noqa: D102 - documented on the class
        from neurodyn.starvation import _fused

        go = grad_out.contiguous()
        gW1t, gb1, gw2 = _fused.backward(*_arrays(*ctx.saved_tensors), go.numpy())
        grad_W1 = torch.from_numpy(gW1t).transpose(1, 2).contiguous()
        return None, grad_W1, torch.from_numpy(gb1), torch.from_numpy(gw2).unsqueeze(1), go.sum(1, keepdim=True)


def _arrays(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor) -> tuple:
    """The kernels' arrays: x (G', n, d_in), W1 transposed to (G, d_in, hidden), b1 and w2 (G, hidden)."""
    return tuple(t.detach().contiguous().numpy() for t in (x, W1.transpose(1, 2), b1, W2[:, 0]))


def _fused_applies(x: Tensor, W1: Tensor, W2: Tensor) -> bool:
    """The fused kernels serve one-output networks on the CPU in float32 or float64 (not gradients for the input)."""
    return (W1.device.type == "cpu" and W2.shape[1] == 1 and W1.dtype in (torch.float32, torch.float64)
            and x.dtype == W1.dtype and not x.requires_grad)


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
        if _fused_applies(x, W1, W2):
            return _FusedForward.apply(x, W1, b1, W2, b2)  # (G', n)
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
