"""The γ-RNN of the adaptive-activation paper and a grid of them trained as one model (``activations.md §2-3``).

Elman recurrence ``a_t = U x_t + b_U + V h_{t−1} + b_V``, ``h_t = γ(a_t; n, s)``, ``h_0 = 0``, read out from the last
state. ``V`` starts as an orthogonal rotation (the "Henaff" init: the exponential of a block-diagonal skew-symmetric
matrix with angles θ_k ~ U(−π, 0)).

:class:`GammaRNNGrid` stacks G such networks along a leading configuration axis, so that a whole (n, s) grid, or the
three shape modes side by side, is one batched model: one ``bmm`` per time step instead of G small products
(card §7; ``benchmarks/activations.py`` times it against G separate models). Each configuration keeps its own
mode: its shape gradients are zeroed (static), summed over units (homogeneous: one shared pair, kept equal under
Adam, which is elementwise) or kept per unit (heterogeneous).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neurodyn.activations.gamma import MODES, N_MIN, AdaptiveActivation, Mode, check_shape, gamma

__all__ = ["henaff_matrix", "GammaRNN", "GammaRNNGrid", "FreeRecurrence"]


def henaff_matrix(num_units: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
                  ) -> Tensor:
    """An orthogonal rotation ``expm(A)``, A block-diagonal with 2×2 blocks ``[[0, θ], [−θ, 0]]``, θ ~ U(−π, 0).

    Parameters
    ----------
    num_units : int
        N; when N is odd the last block is a 1×1 zero (eigenvalue 1).
    generator : torch.Generator, optional
    dtype : torch.dtype, default float32

    Returns
    -------
    Tensor, shape (N, N)
        Orthogonal, with eigenvalues ``e^{±iθ_k}``.
    """
    theta = -math.pi * torch.rand(num_units // 2, generator=generator, dtype=torch.float64)
    A = torch.zeros(num_units, num_units, dtype=torch.float64)
    idx = torch.arange(0, 2 * len(theta), 2)
    A[idx, idx + 1] = theta
    A[idx + 1, idx] = -theta
    return torch.linalg.matrix_exp(A).to(dtype)


def _uniform_(t: Tensor, bound: float, generator: torch.Generator | None) -> Tensor:
    with torch.no_grad():
        return t.uniform_(-bound, bound, generator=generator)


class GammaRNN(nn.Module):
    """Elman RNN with the γ activation, read out from the last state (card §2.2).

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        I, N and the number of classes C.
    n, s : float
        Initial shape, the same for every unit (n finite and > 0).
    mode : {"static", "homogeneous", "heterogeneous"}
    generator : torch.Generator, optional
        Draws every initial weight: the same generator state gives the same weights in every mode.

    Notes
    -----
    Init: ``V`` by :func:`henaff_matrix`; ``U`` Kaiming-normal; the readout Xavier-normal with a zero bias; the two
    recurrent biases U(±1/sqrt(fan_in)) like ``nn.Linear``'s default, drawn from ``generator``.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, *, n: float = 1.0, s: float = 0.0,
                 mode: Mode = "static", generator: torch.Generator | None = None) -> None:
        super().__init__()
        # skip_init: every weight is drawn below from ``generator``; the global RNG is never touched
        self.U = nn.utils.skip_init(nn.Linear, input_size, hidden_size)
        self.V = nn.utils.skip_init(nn.Linear, hidden_size, hidden_size)
        self.out = nn.utils.skip_init(nn.Linear, hidden_size, output_size)
        self.act = AdaptiveActivation(hidden_size, n, s, mode)
        with torch.no_grad():
            self.V.weight.copy_(henaff_matrix(hidden_size, generator))
            nn.init.kaiming_normal_(self.U.weight, generator=generator)
            _uniform_(self.U.bias, 1 / math.sqrt(input_size), generator)
            _uniform_(self.V.bias, 1 / math.sqrt(hidden_size), generator)
            nn.init.xavier_normal_(self.out.weight, generator=generator)
            self.out.bias.zero_()

    @property
    def hidden_size(self) -> int:
        return self.V.weight.shape[0]

    def forward(self, x: Tensor, *, return_states: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Logits from the last state.

        Parameters
        ----------
        x : Tensor, shape (B, T, I)
        return_states : bool
            Also return every hidden state.

        Returns
        -------
        logits : Tensor, shape (B, C)
        states : Tensor, shape (B, T, N)
            Only with ``return_states``.
        """
        B, T, _ = x.shape
        # the input part of every step at once, split per step: unbind's backward stacks the step gradients once
        # (indexing drive[:, t] would add a full-size zero tensor per step in the backward pass)
        drives = self.U(x).unbind(1)  # T tensors (B, N)
        h = x.new_zeros(B, self.hidden_size)
        states = []
        for t in range(T):
            h = self.act(drives[t] + self.V(h))
            states.append(h)
        logits = self.out(h)
        return (logits, torch.stack(states, 1)) if return_states else logits


class FreeRecurrence(nn.Module):
    """The input-free, bias-free recurrence ``h ← γ(V h; n, s)`` whose largest Lyapunov exponent the paper tracks.

    A step ``(x_t, h) -> h_next`` for ``neurodyn.lyapunov.lyapunov_spectrum`` (``x_t`` is ignored).

    Parameters
    ----------
    V : Tensor, shape (N, N)
    n, s : Tensor, shape () or (N,)
    """

    def __init__(self, V: Tensor, n: Tensor, s: Tensor) -> None:
        super().__init__()
        self.register_buffer("V", V.detach().clone())
        self.register_buffer("n", n.detach().clamp_min(N_MIN).clone())
        self.register_buffer("s", s.detach().clone())

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        """``γ(h Vᵀ; n, s)`` for rows ``h`` (R, N)."""
        return gamma(h @ self.V.T, self.n, self.s)


class GammaRNNGrid(nn.Module):
    """G γ-RNNs with a leading configuration axis, each with its own weights, shape and mode.

    Parameters
    ----------
    models : sequence of GammaRNN
        The G networks to stack (their current weights and shapes are copied; they share I, N and C).

    Attributes
    ----------
    U : Parameter, shape (G, N, I)
    b_U : Parameter, shape (G, N)
    V : Parameter, shape (G, N, N)
    b_V : Parameter, shape (G, N)
    W : Parameter, shape (G, C, N)
    b : Parameter, shape (G, C)
    n, s : Parameter, shape (G, N)
        Per-unit shapes; a static row gets no gradient, a homogeneous row gets the sum over its units on every
        unit (so it stays one shared pair), a heterogeneous row keeps per-unit gradients.
    modes : tuple of str, length G

    Notes
    -----
    The summed loss ``Σ_g loss_g`` gives every configuration exactly the gradient it would get alone (tested against
    separate models to 1e-10 in float64).
    """

    def __init__(self, models: Sequence[GammaRNN]) -> None:
        super().__init__()
        if not models:
            raise ValueError("a grid needs at least one model")
        N = models[0].hidden_size

        def stack(get) -> nn.Parameter:
            return nn.Parameter(torch.stack([get(m).detach().clone() for m in models]))

        self.U = stack(lambda m: m.U.weight)
        self.b_U = stack(lambda m: m.U.bias)
        self.V = stack(lambda m: m.V.weight)
        self.b_V = stack(lambda m: m.V.bias)
        self.W = stack(lambda m: m.out.weight)
        self.b = stack(lambda m: m.out.bias)
        self.n = stack(lambda m: m.act.n.expand(N))
        self.s = stack(lambda m: m.act.s.expand(N))
        self.modes = tuple(m.act.mode for m in models)
        static = torch.tensor([mode == "static" for mode in self.modes])
        homogeneous = torch.tensor([mode == "homogeneous" for mode in self.modes])
        self.register_buffer("_static", static[:, None], persistent=False)
        self.register_buffer("_homogeneous", homogeneous[:, None], persistent=False)
        self.n.register_hook(self._project)
        self.s.register_hook(self._project)

    @classmethod
    def from_shapes(cls, shapes: Sequence[tuple[float, float, str]], input_size: int, hidden_size: int,
                    output_size: int, generator_seeds: Sequence[int]) -> "GammaRNNGrid":
        """A grid whose configuration g starts from shape ``shapes[g] = (n, s, mode)`` and the weights that
        ``GammaRNN`` draws from a generator seeded with ``generator_seeds[g]``.

        Parameters
        ----------
        shapes : sequence of (float, float, str), length G
        input_size, hidden_size, output_size : int
        generator_seeds : sequence of int, length G
            Equal seeds give equal initial weights (e.g. the same network at every grid point).

        Returns
        -------
        GammaRNNGrid
        """
        if len(shapes) != len(generator_seeds):
            raise ValueError(f"{len(shapes)} shapes but {len(generator_seeds)} seeds")
        models = []
        for (n, s, mode), seed in zip(shapes, generator_seeds):
            check_shape(n, s)
            if mode not in MODES:
                raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
            g = torch.Generator().manual_seed(int(seed))
            models.append(GammaRNN(input_size, hidden_size, output_size, n=n, s=s, mode=mode, generator=g))
        return cls(models)

    def _project(self, grad: Tensor) -> Tensor:
        summed = grad.sum(dim=1, keepdim=True).expand_as(grad)
        grad = torch.where(self._homogeneous, summed, grad)
        return torch.where(self._static, torch.zeros_like(grad), grad)

    @property
    def size(self) -> int:
        """G, the number of configurations."""
        return self.V.shape[0]

    def shape_parameters(self) -> list[nn.Parameter]:
        """``[n, s]``: the shape parameters (for their own optimizer group)."""
        return [self.n, self.s]

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter except the shape."""
        return [self.U, self.b_U, self.V, self.b_V, self.W, self.b]

    def clamped(self) -> int:
        """Units (over all configurations) whose gain is below ``N_MIN`` and held at the floor."""
        return int((self.n.detach() < N_MIN).sum())

    def forward(self, x: Tensor, rows: Sequence[int] | None = None) -> Tensor:
        """Logits of every configuration (or of the configurations ``rows``).

        Parameters
        ----------
        x : Tensor, shape (B, T, I) or (G', B, T, I)
            One batch for every configuration, or one per configuration (G' = G, or ``len(rows)``).
        rows : sequence of int, optional
            Only these configurations (e.g. to evaluate a large grid in parts).

        Returns
        -------
        Tensor, shape (G', B, C)
        """
        pick = (lambda p: p) if rows is None else (lambda p: p[list(rows)])
        U, b_U, V, b_V, W, b = (pick(p) for p in self.weight_parameters())
        n_all, s_all = pick(self.n), pick(self.s)
        G = V.shape[0]
        if x.dim() == 3:
            x = x.unsqueeze(0).expand(G, *x.shape)
        _, B, T, _ = x.shape
        drives = (torch.einsum("gbti,gni->gbtn", x, U) + b_U[:, None, None, :]).unbind(2)  # T x (G, B, N)
        n = n_all.clamp_min(N_MIN)[:, None, :]
        s = s_all[:, None, :]
        Vt = V.transpose(1, 2)
        bias = b_V[:, None, :]
        h = x.new_zeros(G, B, V.shape[1])
        for t in range(T):
            h = gamma(torch.baddbmm(bias, h, Vt) + drives[t], n, s)
        return torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))

    def losses(self, x: Tensor, y: Tensor, rows: Sequence[int] | None = None) -> tuple[Tensor, Tensor]:
        """Mean cross-entropy and accuracy of every configuration (or of ``rows``).

        Parameters
        ----------
        x : Tensor, shape (B, T, I) or (G', B, T, I)
        y : Tensor, shape (B,) or (G', B), int64
        rows : sequence of int, optional

        Returns
        -------
        loss : Tensor, shape (G',)
        accuracy : Tensor, shape (G',)
        """
        logits = self(x, rows)  # (G', B, C)
        if y.dim() == 1:
            y = y.unsqueeze(0).expand(logits.shape[0], -1)
        loss = F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(dim=1)
        acc = (logits.argmax(-1) == y).to(logits.dtype).mean(dim=1)
        return loss, acc

    def free_recurrence(self, g: int) -> FreeRecurrence:
        """Configuration g's input-free recurrence ``h ← γ(V_g h; n_g, s_g)`` (a step for ``lyapunov_spectrum``)."""
        return FreeRecurrence(self.V[g], self.n[g], self.s[g])
