"""Grouped leaky ReLU RNNs with block-diagonal (modular) recurrence (``docs/papers/multitask.md §2``).

One :class:`LeakyRNN` holds G independent networks ("groups", e.g. one per task) of M modules of n units each
(N = M n units per group). The leaky rate equation of the doc (§2), with alpha = dt / tau,

    h(t+1) = (1 - alpha) h(t) + alpha relu(W_rec h(t) + W_in x(t) + b_in + b_rec + sqrt(2 / alpha) sigma_rec xi(t)),
    y(t)   = W_out h(t+1) + b_out,

is run for all groups at once. Output index t is the state after consuming x[t], as in ``torch.nn.RNN``. The
recurrence is stored only as its diagonal blocks ``w_rec`` of shape (Gr, M, n, n) (Gr = 1 when the groups share one
recurrent core, as the MoLaP networks do) and applied as one batched matrix product over all (group, module) blocks
per time step; a dense N x N matrix is never formed (:meth:`LeakyRNN.recurrent_matrix` builds one for plots and
checks). The input drive of every time step is one product before the time loop.

The time loop runs inside a custom autograd function: the forward pass is computed without an autograd graph and
stores the states and the ReLU gates, and a hand-written backward-through-time loop returns the gradients of the drive,
of the recurrent blocks (skipped when they are frozen) and of h0. This replaces about ten autograd nodes per time step
by none; the tests check it against plain autograd of the same loop in float64. Set ``model.fused = False`` to run
the plain autograd loop instead.

Also here: the closed-form parameter counts of the four multi-task strategies (§2, the doc's parameter table), the two
perturbations of the robustness sweep (Gaussian noise on the stored recurrent weights scaled by each group's weight
spread, and silenced units), and the masked MSE loss. All randomness comes from explicit ``torch.Generator``s.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn

from neurodyn.core.validation import check_positive_ints

__all__ = ["LeakyRNN", "rnn_parameter_count", "strategy_parameter_counts", "perturb_recurrence", "silence_units",
           "masked_mse", "STRATEGIES"]

STRATEGIES: tuple[str, ...] = ("Separate", "Joint", "Modular-random", "MoLaP")


# -------------------------------------------------------------------------------------------------------- time loop


class _LeakyScan(torch.autograd.Function):
    """The leaky ReLU recurrence over T steps with a hand-written backward through time.

    Layout: R = Gr * M independent (recurrence group, module) blocks, each driving C = K * B rows of n units
    (K = G / Gr groups per stored recurrence, B trials).

    Forward inputs: drive (T, R, C, n) (everything but the recurrent term, noise included), wt (R, n, n) = the
    transposed blocks W^T, h0 (R, C, n), keep (R, C, n) 0/1 or None, alpha float. Output: states (T, R, C, n).
    """

    @staticmethod
    def forward(ctx, drive: Tensor, wt: Tensor, h0: Tensor, keep: Tensor | None, alpha: float) -> Tensor:
        steps = drive.shape[0]
        states = torch.empty_like(drive)
        gates = torch.empty_like(drive)  # relu'(pre) (times keep): the only extra thing the backward needs
        h = h0
        for t in range(steps):
            out = states[t]
            torch.baddbmm(drive[t], h, wt, out=out)
            torch.gt(out, 0, out=gates[t])
            out.clamp_(min=0)
            if alpha != 1.0:
                out.mul_(alpha).add_(h, alpha=1.0 - alpha)
            if keep is not None:
                out.mul_(keep)
                gates[t].mul_(keep)
            h = out
        ctx.alpha = alpha
        ctx.save_for_backward(states, gates, wt, h0, keep)
        return states

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_states: Tensor):
        states, gates, wt, h0, keep = ctx.saved_tensors
        alpha = ctx.alpha
        steps = states.shape[0]
        g_pre = torch.empty_like(states)  # gradient of the pre-activations = gradient of the drive
        w = wt.transpose(1, 2)
        leak = 1.0 - alpha
        gh = grad_states[steps - 1]
        for t in range(steps - 1, -1, -1):
            if t < steps - 1:
                gh = gh + grad_states[t]
            gp = g_pre[t]
            torch.mul(gh, gates[t], out=gp)
            if alpha != 1.0:
                gp.mul_(alpha)
                carry = gh * keep if keep is not None else gh
                gh = torch.baddbmm(carry, gp, w, beta=leak)
            else:
                gh = torch.bmm(gp, w)
        g_wt = None
        if ctx.needs_input_grad[1]:
            r, c, n = h0.shape
            prev = torch.cat([h0.unsqueeze(0), states[:-1]], 0)  # h(t-1) for every t
            prev = prev.permute(1, 0, 2, 3).reshape(r, steps * c, n)
            g_wt = torch.bmm(prev.transpose(1, 2), g_pre.permute(1, 0, 2, 3).reshape(r, steps * c, n))
        g_h0 = gh if ctx.needs_input_grad[2] else None
        return g_pre if ctx.needs_input_grad[0] else None, g_wt, g_h0, None, None


def _scan_autograd(drive: Tensor, wt: Tensor, h0: Tensor, keep: Tensor | None, alpha: float) -> Tensor:
    """The same recurrence as :class:`_LeakyScan` as a plain loop differentiated by autograd (the reference)."""
    h, out = h0, []
    for t in range(drive.shape[0]):
        h = (1.0 - alpha) * h + alpha * torch.relu(torch.baddbmm(drive[t], h, wt))
        if keep is not None:
            h = h * keep
        out.append(h)
    return torch.stack(out)


# -------------------------------------------------------------------------------------------------------- the model


def _orthogonal(n: int, generator: torch.Generator) -> Tensor:
    """A Haar-random n x n orthogonal matrix (QR of a Gaussian matrix with the signs of R's diagonal)."""
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).float()


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> Tensor:
    """U(-bound, bound) drawn from ``generator``."""
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


class LeakyRNN(nn.Module):
    """G independent leaky ReLU RNNs ("groups"), each of M modules of n units (N = M n), block-diagonal recurrence.

    ``h(t+1) = (1 - alpha) h(t) + alpha relu(W_rec h(t) + W_in x(t) + b_in + b_rec + sqrt(2/alpha) sigma_rec xi(t))``
    and ``y(t) = W_out h(t+1) + b_out``; output index t is the state after consuming x[t] (as ``torch.nn.RNN``).
    Module k of a group owns units k n ... (k + 1) n - 1 and its block of ``W_rec``; there are no connections
    between modules, and none between groups.

    Parameters
    ----------
    n_inputs, n_outputs : int
        d_in and d_out of every group.
    n_groups : int, default 1
        G, independent networks run side by side (each with its own input and output weights).
    n_modules : int, default 1
        M, modules per group.
    module_size : int, default 64
        n, units per module.
    shared_recurrence : bool, default False
        If True all groups share one stored recurrence (``w_rec`` and ``b_rec`` with Gr = 1), else each group has
        its own (Gr = G).
    alpha : float, default 0.5
        dt / tau, in (0, 1].
    sigma_rec : float, default 0.05
        Recurrent noise level (>= 0); the noise added to the pre-activation has std sqrt(2 / alpha) sigma_rec.
    generator : torch.Generator, optional
        Source of the initial weights; None uses a fresh generator seeded 0 (never the global RNG). Draw order: the
        recurrent blocks (stored group by group, module by module), then ``w_in``, then ``w_out``.

    Attributes
    ----------
    w_in : Parameter, shape (G, N, d_in)
        U(+-1/sqrt(d_in)).
    b_in : Parameter, shape (G, N)
        Zeros.
    w_rec : Parameter, shape (Gr, M, n, n)
        The diagonal blocks, block[i, j] = weight from unit j to unit i of the module; each 0.9 x a random
        orthogonal matrix.
    b_rec : Parameter, shape (Gr, N)
        Zeros.
    w_out : Parameter, shape (G, d_out, N)
        U(+-1/sqrt(N)).
    b_out : Parameter, shape (G, d_out)
        Zeros.
    fused : bool
        True (default): the time loop with the hand-written backward; False: plain autograd of the same loop.

    Raises
    ------
    ValueError
        On a size that is not a positive integer, alpha outside (0, 1] or sigma_rec < 0.

    Examples
    --------
    >>> net = LeakyRNN(5, 3, n_groups=2, n_modules=4, module_size=8, generator=torch.Generator().manual_seed(0))
    >>> y, h = net(torch.zeros(2, 6, 10, 5))
    >>> tuple(y.shape), tuple(h.shape), net.parameter_count()
    ((2, 6, 10, 3), (2, 6, 10, 32), 1158)
    """

    def __init__(self, n_inputs: int, n_outputs: int, *, n_groups: int = 1, n_modules: int = 1,
                 module_size: int = 64, shared_recurrence: bool = False, alpha: float = 0.5,
                 sigma_rec: float = 0.05, generator: torch.Generator | None = None) -> None:
        super().__init__()
        check_positive_ints(n_inputs=n_inputs, n_outputs=n_outputs, n_groups=n_groups, n_modules=n_modules,
                            module_size=module_size)
        self.n_inputs, self.n_outputs, self.n_groups = n_inputs, n_outputs, n_groups
        self.n_modules, self.module_size = n_modules, module_size
        if not 0.0 < float(alpha) <= 1.0:
            raise ValueError(f"alpha (dt / tau) must be in (0, 1], got {alpha!r}")
        if not float(sigma_rec) >= 0.0:
            raise ValueError(f"sigma_rec must be >= 0, got {sigma_rec!r}")
        self.alpha, self.sigma_rec = float(alpha), float(sigma_rec)
        self.shared_recurrence = bool(shared_recurrence)
        self.n_units = self.n_modules * self.module_size
        self.fused = True
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        g, gr, m, n, big_n = self.n_groups, self.n_recurrences, self.n_modules, self.module_size, self.n_units
        blocks = torch.stack([torch.stack([0.9 * _orthogonal(n, gen) for _ in range(m)]) for _ in range(gr)])
        self.w_rec = nn.Parameter(blocks)
        self.b_rec = nn.Parameter(torch.zeros(gr, big_n))
        self.w_in = nn.Parameter(_uniform((g, big_n, n_inputs), 1 / math.sqrt(n_inputs), gen))
        self.b_in = nn.Parameter(torch.zeros(g, big_n))
        self.w_out = nn.Parameter(_uniform((g, n_outputs, big_n), 1 / math.sqrt(big_n), gen))
        self.b_out = nn.Parameter(torch.zeros(g, n_outputs))

    @property
    def n_recurrences(self) -> int:
        """Gr: stored recurrent cores (1 when shared, else G)."""
        return 1 if self.shared_recurrence else self.n_groups

    def extra_repr(self) -> str:
        return (f"groups={self.n_groups}, modules={self.n_modules} x {self.module_size} units, "
                f"inputs={self.n_inputs}, outputs={self.n_outputs}, shared_recurrence={self.shared_recurrence}, "
                f"alpha={self.alpha:g}, sigma_rec={self.sigma_rec:g}")

    # ------------------------------------------------------------------------------------------------------ running

    def _keep(self, silenced: Tensor | None, like: Tensor) -> Tensor | None:
        """0/1 multiplier of shape (G, N) for the silenced units (None when nothing is silenced)."""
        if silenced is None:
            return None
        if silenced.dtype != torch.bool:
            raise ValueError(f"silenced must be a bool tensor, got dtype {silenced.dtype}")
        if silenced.shape == (self.n_units,):
            silenced = silenced.expand(self.n_groups, self.n_units)
        if silenced.shape != (self.n_groups, self.n_units):
            raise ValueError(f"silenced must have shape (N,) = ({self.n_units},) or (G, N) = "
                             f"({self.n_groups}, {self.n_units}), got {tuple(silenced.shape)}")
        if not bool(silenced.any()):
            return None
        return (~silenced).to(device=like.device, dtype=like.dtype)

    def forward(self, x: Tensor, *, h0: Tensor | None = None, noise: torch.Generator | None = None,
                silenced: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run every group on its own input sequence.

        Parameters
        ----------
        x : Tensor, shape (G, B, T, d_in)
            Inputs; group g reads x[g] only.
        h0 : Tensor, shape (G, B, N), optional
            Initial states (zeros if None). Silenced units start at 0 whatever h0 says.
        noise : torch.Generator, optional
            Source of xi, drawn as one standard normal tensor of shape (G, B, T, N) in x's dtype; None (or
            sigma_rec = 0) runs without recurrent noise.
        silenced : Tensor of bool, shape (G, N) or (N,), optional
            Units whose activity h is clamped to 0 at every step (and in h0).

        Returns
        -------
        y : Tensor, shape (G, B, T, d_out)
        h : Tensor, shape (G, B, T, N)
            h[:, :, t] is the state after consuming x[:, :, t].

        Raises
        ------
        ValueError
            On shapes that do not match the model.
        """
        g, gr, m, n, big_n = self.n_groups, self.n_recurrences, self.n_modules, self.module_size, self.n_units
        if x.dim() != 4 or x.shape[0] != g or x.shape[3] != self.n_inputs:
            raise ValueError(f"x must have shape (G, B, T, d_in) with G = {g} and d_in = {self.n_inputs}, "
                             f"got {tuple(x.shape)}")
        _, b, steps, _ = x.shape
        if steps < 1:
            raise ValueError("x must hold at least one time step (T >= 1)")
        k = g // gr
        bias = self.b_in + self.b_rec.expand(g, big_n) if gr == 1 else self.b_in + self.b_rec
        drive = torch.baddbmm(bias[:, None, :].to(x.dtype), x.reshape(g, b * steps, self.n_inputs),
                              self.w_in.to(x.dtype).transpose(1, 2))  # (G, B T, N): biases folded in
        if noise is not None and self.sigma_rec > 0:
            xi = torch.randn((g, b, steps, big_n), generator=noise, dtype=x.dtype, device=x.device)
            drive.add_(xi.view(g, b * steps, big_n), alpha=math.sqrt(2.0 / self.alpha) * self.sigma_rec)
        # layout of the loop: (T, Gr * M, K * B, n), rows of one (recurrence, module) block together
        drive = drive.reshape(gr, k, b, steps, m, n).permute(3, 0, 4, 1, 2, 5).reshape(steps, gr * m, k * b, n)
        keep = self._keep(silenced, drive)
        keep_l = None
        if keep is not None:
            keep_l = keep.reshape(gr, k, 1, m, n).expand(gr, k, b, m, n).permute(0, 3, 1, 2, 4)
            keep_l = keep_l.reshape(gr * m, k * b, n).contiguous()
        if h0 is None:
            h0_l = drive.new_zeros(gr * m, k * b, n)
        else:
            if h0.shape != (g, b, big_n):
                raise ValueError(f"h0 must have shape (G, B, N) = ({g}, {b}, {big_n}), got {tuple(h0.shape)}")
            h0_l = h0.to(drive.dtype).reshape(gr, k, b, m, n).permute(0, 3, 1, 2, 4).reshape(gr * m, k * b, n)
            if keep_l is not None:
                h0_l = h0_l * keep_l
        wt = self.w_rec.to(drive.dtype).reshape(gr * m, n, n).transpose(1, 2)
        if self.fused:
            states = _LeakyScan.apply(drive, wt, h0_l, keep_l, self.alpha)
        else:
            states = _scan_autograd(drive, wt, h0_l, keep_l, self.alpha)
        h = states.reshape(steps, gr, m, k, b, n).permute(1, 3, 4, 0, 2, 5).reshape(g, b, steps, big_n)
        y = torch.baddbmm(self.b_out[:, None, :].to(h.dtype), h.reshape(g, b * steps, big_n),
                          self.w_out.to(h.dtype).transpose(1, 2))
        return y.view(g, b, steps, self.n_outputs), h

    # ----------------------------------------------------------------------------------------------------- analysis

    def recurrent_matrix(self, group: int = 0) -> Tensor:
        """Dense block-diagonal recurrent matrix of one group (exact zeros between modules).

        Parameters
        ----------
        group : int, default 0
            A group in [0, G).

        Returns
        -------
        Tensor, shape (N, N)
            Entry [i, j] is the weight from unit j to unit i (a detached copy).
        """
        if isinstance(group, bool) or not isinstance(group, int) or not 0 <= group < self.n_groups:
            raise ValueError(f"group must be an integer in [0, {self.n_groups}), got {group!r}")
        blocks = self.w_rec.detach()[0 if self.shared_recurrence else group]
        return torch.block_diag(*blocks)

    def freeze_recurrence(self) -> None:
        """Stop training the recurrent blocks and their bias (``requires_grad_(False)`` on w_rec and b_rec)."""
        self.w_rec.requires_grad_(False)
        self.b_rec.requires_grad_(False)

    def trainable_parameter_count(self) -> int:
        """Number of stored parameters with ``requires_grad``."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def parameter_count(self) -> int:
        """Number of stored parameters (a shared recurrence counted once; off-block zeros are not stored)."""
        return sum(p.numel() for p in self.parameters())


# ---------------------------------------------------------------------------------------------------------- counts


def rnn_parameter_count(n_units: int, n_inputs: int, n_outputs: int) -> int:
    """P(N) = N d_in + N + N^2 + N + d_out N + d_out of one fully connected RNN (``docs/papers/multitask.md §2``).

    Parameters
    ----------
    n_units, n_inputs, n_outputs : int
        N, d_in, d_out.

    Returns
    -------
    int

    Examples
    --------
    >>> rnn_parameter_count(64, 5, 3), rnn_parameter_count(128, 14, 3)
    (4739, 18819)
    """
    check_positive_ints(n_units=n_units, n_inputs=n_inputs, n_outputs=n_outputs)
    big_n, d_in, d_out = n_units, n_inputs, n_outputs
    return big_n * d_in + big_n + big_n * big_n + big_n + d_out * big_n + d_out


def strategy_parameter_counts(n_tasks: int, *, n_modules: int, module_size: int, separate_units: int,
                              joint_units: int, n_inputs: int = 5, n_outputs: int = 3) -> dict[str, dict[str, int]]:
    """Stored and updated parameters of the four multi-task strategies (``docs/papers/multitask.md §2``).

    Separate: one RNN of ``separate_units`` per task, all updated. Joint: one RNN of ``joint_units`` with
    d_in = n_inputs + n_tasks (task one-hot), all of it retrained for each new task. Modular-random and MoLaP: the
    M modules' blocks and biases (M n^2 + M n) stored once and frozen, and per task the input weights and bias and the
    read-out of N = M n units: N d_in + N + d_out N + d_out.

    Parameters
    ----------
    n_tasks : int
    n_modules, module_size : int
        M and n of the modular networks.
    separate_units, joint_units : int
    n_inputs, n_outputs : int, default 5, 3

    Returns
    -------
    dict
        ``{strategy: {"total": ..., "updated_per_task": ..., "shared_frozen": ...}}`` for the names in
        :data:`STRATEGIES`.

    Examples
    --------
    >>> c = strategy_parameter_counts(9, n_modules=4, module_size=32, separate_units=64, joint_units=128)
    >>> c["Separate"]["total"], c["Joint"]["total"], c["MoLaP"]["total"], c["MoLaP"]["updated_per_task"]
    (42651, 18819, 14619, 1155)
    """
    check_positive_ints(n_tasks=n_tasks, n_modules=n_modules, module_size=module_size, n_inputs=n_inputs,
                        n_outputs=n_outputs)
    m, n, d_in, d_out = n_modules, module_size, n_inputs, n_outputs
    separate = rnn_parameter_count(separate_units, d_in, d_out)
    joint = rnn_parameter_count(joint_units, d_in + n_tasks, d_out)
    big_n = m * n
    shared = m * n * n + big_n
    per_task = big_n * d_in + big_n + d_out * big_n + d_out
    modular = {"total": shared + n_tasks * per_task, "updated_per_task": per_task, "shared_frozen": shared}
    return {"Separate": {"total": n_tasks * separate, "updated_per_task": separate, "shared_frozen": 0},
            "Joint": {"total": joint, "updated_per_task": joint, "shared_frozen": 0},
            "Modular-random": dict(modular), "MoLaP": dict(modular)}


# --------------------------------------------------------------------------------------------------- perturbations


def perturb_recurrence(model: LeakyRNN, eta: float, generator: torch.Generator) -> LeakyRNN:
    """A copy of ``model`` with Gaussian noise on its stored recurrent weights (``docs/papers/multitask.md §2``).

    Every stored block entry of recurrence g gets N(0, (eta s_g)^2), s_g = the (population) standard deviation of
    that recurrence's stored block entries, so the noise scales with each network's own weight spread; the exact zeros
    between modules are not stored and stay 0. The noise is drawn as one standard normal tensor of ``w_rec``'s shape
    whatever eta is, so a sweep over eta with one seed reuses the same direction. eta = 0 returns an exact copy.

    Parameters
    ----------
    model : LeakyRNN
        Left untouched.
    eta : float
        Relative noise scale, >= 0.
    generator : torch.Generator

    Returns
    -------
    LeakyRNN
        A deep copy (same ``requires_grad`` flags).
    """
    if not float(eta) >= 0.0:
        raise ValueError(f"eta (relative weight-noise scale) must be >= 0, got {eta!r}")
    new = copy.deepcopy(model)
    with torch.no_grad():
        w = new.w_rec
        xi = torch.randn(w.shape, generator=generator, dtype=w.dtype, device=w.device)
        spread = w.reshape(w.shape[0], -1).std(dim=1, correction=0)  # (Gr,)
        w.add_(xi * (float(eta) * spread)[:, None, None, None])
    return new


def silence_units(n_units: int, fraction: float, generator: torch.Generator, n_groups: int = 1) -> Tensor:
    """Random units to silence: round(fraction N) per group, drawn independently for each group.

    Parameters
    ----------
    n_units : int
        N.
    fraction : float
        f in [0, 1].
    generator : torch.Generator
    n_groups : int, default 1

    Returns
    -------
    Tensor of bool, shape (n_groups, n_units)
    """
    check_positive_ints(n_units=n_units, n_groups=n_groups)
    big_n, groups = n_units, n_groups
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction of silenced units must be in [0, 1], got {fraction!r}")
    count = int(round(float(fraction) * big_n))
    out = torch.zeros(groups, big_n, dtype=torch.bool)
    for g in range(groups):
        out[g, torch.randperm(big_n, generator=generator)[:count]] = True
    return out


def masked_mse(y: Tensor, targets: Tensor, mask: Tensor, *, per_group: bool = False) -> Tensor:
    """Weighted mean squared error: sum(mask (y - targets)^2) / (sum(mask) d_out).

    Parameters
    ----------
    y, targets : Tensor, shape (..., T, d_out)
        Broadcastable to each other.
    mask : Tensor, shape (..., T)
        Loss weights per step, broadcastable to ``y.shape[:-1]``; the denominator counts the broadcast weights.
    per_group : bool
        One loss per index of the leading axis (the groups of a :class:`LeakyRNN`), each over its own weights.

    Returns
    -------
    Tensor, scalar, or shape (G,) with ``per_group``

    Examples
    --------
    >>> masked_mse(torch.ones(1, 2, 2), torch.zeros(1, 2, 2), torch.tensor([[1.0, 0.0]])).item()
    1.0
    """
    diff = y - targets
    try:
        weights = torch.broadcast_to(mask, diff.shape[:-1])
    except RuntimeError as exc:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to the outputs' (..., T) = "
                         f"{tuple(diff.shape[:-1])}") from exc
    if per_group:
        dims = tuple(range(1, weights.dim()))
        total = weights.sum(dims)
        if not bool((total > 0).all()):
            raise ValueError("mask must have a positive sum in every group (no step carries loss weight)")
        return (weights * diff.pow(2).sum(-1)).sum(dims) / (total * diff.shape[-1])
    total = weights.sum()
    if not bool(total > 0):
        raise ValueError("mask must have a positive sum (no step carries loss weight)")
    return (weights.unsqueeze(-1) * diff.pow(2)).sum() / (total * diff.shape[-1])
