"""Lyapunov spectra of recurrent networks by the discrete QR (Benettin) method.

Vogt, Puelma Touzel, Shlizerman, Lajoie, *On Lyapunov Exponents for RNNs: Understanding Information Propagation
Using Dynamical Systems Tools*, arXiv:2006.14123 (2020).

Symbols and code names
----------------------
- ``s_t = F(s_{t-1}, x_t)``: one step of the cell; ``state`` of shape (B, D) in the code.
- ``J_t = dS_t / dS_{t-1}`` (D x D): never built from dense diagonal matrices for ``torch.nn`` cells. Every
  Jacobian handled here has the form ``J = diag(d) + sum_g diag(c_g) W_hg`` (plus LSTM cell-state blocks), so
  ``J @ Q`` costs one product ``M = W_hh @ Q`` (B, G*H, k) and a few row scalings of its gate blocks
  (``docs/papers/lyapunov.md §3``). Deviation from "never form J": when ``k >= 16`` and the cell has several gate
  blocks, the (B, H, H) block ``sum_g diag(c_g) W_hg`` is assembled by broadcasting (B*G*H^2 work) and applied with one
  batched product (B*H^2*k), which is G times fewer flops than ``M``; the result is the same to rounding.
  Second deviation, on CPU when ``4k >= 3D``: the whole ``J_t`` (B, D, D) is assembled the same way (closed-form
  blocks, no autograd) and ``Q`` is never formed: it stays as the Householder reflectors of ``geqrf`` and
  ``J_t Q`` is one ``ormqr`` from the right, about 30 % less time per step than ``orgqr`` plus a product.
- Any other batched ``step(x_t, s)`` callable: ``J_t`` by automatic differentiation, for a block of time steps at
  once (one reverse-mode pass over stacked rows) when D is small or most of the spectrum is wanted, else k JVPs per
  step (:class:`_GenericCell`, ``docs/papers/lyapunov.md §3``).
- ``Q`` (B, D, k): orthonormal tangent basis; ``Z = J_t Q``; ``Q, R = qr(Z)``; ``acc += log|diag R|``.
- ``lambda_i = acc_i / T``: the exponents, in nats per step (``base=2``: bits per step).
- Finite-time curves ``lambda_i(t) = (1/t) sum_{tau <= t} log|R_tau,ii|``.

Deviations from the reference code (``shlizee/lyapunov-hyperopt``), all on purpose and switchable: we multiply by
``J`` (the reference uses ``J^T``; ``transpose_jacobian=True`` reproduces it); we report nats (``base=2`` for bits);
the LSTM state is ``(h, c)`` by default (``lstm_state="h"`` is the reference's h-only Jacobian with ``c`` held
fixed); warm-up re-orthonormalises and uses its own inputs (the first ``warmup`` columns of ``inputs``), after which
the measurement continues from the warmed-up state with the next inputs.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Generator, Union

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "LyapunovSpectrum", "lyapunov_spectrum", "iter_lyapunov_spectrum", "kaplan_yorke_dimension", "ks_entropy",
]

StepFn = Callable[[Tensor, Tensor], Tensor]
Cell = Union[nn.RNN, nn.GRU, nn.LSTM, StepFn]


@dataclass(frozen=True)
class LyapunovSpectrum:
    """Result of :func:`lyapunov_spectrum`.

    Attributes
    ----------
    exponents : Tensor, shape (B, k)
        Exponents of each driving sequence, sorted in descending order within each row.
    mean : Tensor, shape (k,)
        Batch mean of ``exponents``.
    std : Tensor, shape (k,)
        Unbiased batch standard deviation (zeros when B = 1; NaN where a column holds ``-inf``).
    curves : Tensor or None, shape (n, B, k)
        Finite-time estimates after each QR, columns permuted like ``exponents`` so that ``curves[-1]`` equals
        ``exponents``; ``None`` unless ``return_curves=True``.
    curve_steps : Tensor or None, shape (n,)
        Number of measured steps ``t`` at which each row of ``curves`` was taken.
    base : str
        ``"e"`` (nats per step) or ``"2"`` (bits per step).
    """

    exponents: Tensor
    mean: Tensor
    std: Tensor
    curves: Tensor | None = None
    curve_steps: Tensor | None = None
    base: str = "e"


# ----------------------------------------------------------------------------------------------------------------
# analytic tangent maps for torch.nn cells


def _dsigmoid(s: Tensor) -> Tensor:
    return s * (1.0 - s)


# With k >= this many exponents and G >= 2 gate blocks, assemble each sequence's block
# sum_g diag(c_g) W_hg (B, H, H) by broadcasting (B*G*H^2 work) and apply it with one batched product (B*H^2*k):
# G times fewer flops than the row-scaled M = W_hh @ Q (B*G*H^2*k), which stays in use for small k.
_ASSEMBLE_MIN_K = 16


def _assemble(W: Tensor, coefs: list[Tensor]) -> Tensor:
    """``sum_g diag(c_g) W_g`` of shape (B, H, H) from ``W`` (G*H, H) and G coefficient vectors (B, H)."""
    G, H = len(coefs), W.shape[1]
    blocks = W.view(G, H, H)
    J = coefs[0].unsqueeze(-1) * blocks[0]  # row i of W_g scaled by c_g[i]
    for g in range(1, G):
        J.addcmul_(coefs[g].unsqueeze(-1), blocks[g])
    return J


def _scaled_products(W: Tensor, coefs: list[Tensor], Q: Tensor, transpose: bool) -> Tensor:
    """``(sum_g diag(c_g) W_g) @ Q``, or its transpose applied to ``Q``.

    ``W`` (G*H, H) stacks the gate blocks ``W_g``; ``coefs`` holds G vectors of shape (B, H); ``Q`` (B, H, k).
    Returns (B, H, k). No dense diagonal matrix is ever built (``docs/papers/lyapunov.md §3``).
    """
    G, H = len(coefs), W.shape[1]
    if G >= 2 and Q.shape[-1] >= _ASSEMBLE_MIN_K:
        Jb = _assemble(W, coefs)
        return torch.bmm(Jb.transpose(1, 2) if transpose else Jb, Q)
    if transpose:
        V = torch.cat([c.unsqueeze(-1) * Q for c in coefs], dim=1)  # (B, G*H, k)
        return torch.matmul(W.transpose(0, 1), V)  # (B, H, k)
    M = torch.matmul(W, Q)  # (B, G*H, k), one product shared by the batch
    Z = coefs[0].unsqueeze(-1) * M[:, :H]
    for g in range(1, G):
        Z.addcmul_(coefs[g].unsqueeze(-1), M[:, g * H:(g + 1) * H])
    return Z


class _TorchCell:
    """Analytic state update and tangent map of a one-layer ``nn.RNN`` (tanh), ``nn.GRU`` or ``nn.LSTM``."""

    def __init__(self, cell: nn.Module, lstm_state: str, dtype: torch.dtype, device: torch.device):
        if cell.num_layers != 1:
            raise ValueError(f"cell must have num_layers=1, got {cell.num_layers}")
        if cell.bidirectional:
            raise ValueError("cell must not be bidirectional")
        if isinstance(cell, nn.LSTM) and cell.proj_size != 0:
            raise ValueError(f"LSTM with proj_size={cell.proj_size} is not supported; expected 0")
        if isinstance(cell, nn.LSTM):
            self.kind = "lstm"
        elif isinstance(cell, nn.GRU):
            self.kind = "gru"
        elif isinstance(cell, nn.RNN):
            if cell.nonlinearity != "tanh":
                raise ValueError(f"nn.RNN must use nonlinearity='tanh', got {cell.nonlinearity!r}")
            self.kind = "rnn"
        else:  # pragma: no cover - guarded by the caller
            raise ValueError(f"unsupported cell {type(cell).__name__}")
        self.H = cell.hidden_size
        self.lstm_state = lstm_state
        self.hc = self.kind == "lstm" and lstm_state == "hc"

        def get(name: str) -> Tensor | None:
            p = getattr(cell, name, None)
            return None if p is None else p.detach().to(device=device, dtype=dtype, copy=True)

        self.W_ih, self.W_hh = get("weight_ih_l0"), get("weight_hh_l0")
        G = self.W_hh.shape[0] // self.H
        zeros = torch.zeros(G * self.H, device=device, dtype=dtype)
        self.b_ih = get("bias_ih_l0") if cell.bias else zeros
        self.b_hh = get("bias_hh_l0") if cell.bias else zeros

    @property
    def state_dim(self) -> int:
        return 2 * self.H if self.kind == "lstm" else self.H

    @property
    def tangent_dim(self) -> int:
        return 2 * self.H if self.hc else self.H

    def project_inputs(self, x: Tensor) -> Tensor:
        """``W_ih x_t + b_ih`` for all steps at once: (B, T, I) -> (B, T, G*H)."""
        return torch.matmul(x, self.W_ih.transpose(0, 1)) + self.b_ih

    def _local(self, xw: Tensor, state: Tensor) -> tuple[Tensor, dict[str, Any]]:
        """New state (B, D_state) and the coefficients of the step's Jacobian (``docs/papers/lyapunov.md §2``)."""
        H, W = self.H, self.W_hh
        if self.kind == "rnn":  # J = diag(1 - h'^2) W_hh
            h_new = torch.tanh(xw + torch.matmul(state, W.transpose(0, 1)) + self.b_hh)
            return h_new, {"coefs": [1.0 - h_new * h_new], "diag": None}
        if self.kind == "gru":  # J = diag(z) + sum_{r,z,n} diag(c_g) W_hg
            h = state
            gh = torch.matmul(h, W.transpose(0, 1)) + self.b_hh  # (B, 3H)
            xr, xz, xn = xw.split(H, dim=1)
            hr, hz, g = gh.split(H, dim=1)
            r = torch.sigmoid(xr + hr)
            z = torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * g)
            h_new = (1.0 - z) * n + z * h
            u = (1.0 - z) * (1.0 - n * n)
            return h_new, {"coefs": [u * g * _dsigmoid(r), (h - n) * _dsigmoid(z), u * r], "diag": z}
        # LSTM, blocks i, f, g, o
        h, c = state[:, :H], state[:, H:]
        a = xw + torch.matmul(h, W.transpose(0, 1)) + self.b_hh  # (B, 4H)
        ai, af, ag, ao = a.split(H, dim=1)
        i, f, gg, o = torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao)
        c_new = f * c + i * gg
        tc = torch.tanh(c_new)
        state_new = torch.cat([o * tc, c_new], dim=1)  # (B, 2H)
        p = o * (1.0 - tc * tc)  # dh'/dc'
        q = tc * _dsigmoid(o)  # coefficient of W_ho in dh'/dh
        cc = [gg * _dsigmoid(i), c * _dsigmoid(f), i * (1.0 - gg * gg)]  # A = dc'/dh = sum_{i,f,g} diag(cc) W_h.
        if not self.hc:  # reference "h-only": J = dh'/dh = diag(p) A + diag(q) W_ho, c held fixed
            return state_new, {"coefs": [p * cc[0], p * cc[1], p * cc[2], q], "diag": None}
        return state_new, {"cc": cc, "p": p, "q": q, "f": f}

    def advance(self, xw: Tensor, state: Tensor, Q: Tensor, transpose: bool) -> tuple[Tensor, Tensor]:
        """One step: new state (B, D_state) and ``J Q`` (or ``J^T Q``) of shape (B, D, k)."""
        H, W = self.H, self.W_hh
        state_new, loc = self._local(xw, state)
        if not self.hc:
            Z = _scaled_products(W, loc["coefs"], Q, transpose)
            return state_new, Z if loc["diag"] is None else Z.addcmul_(loc["diag"].unsqueeze(-1), Q)
        cc, p, q, f = loc["cc"], loc["p"], loc["q"], loc["f"]
        Qh, Qc = Q[:, :H], Q[:, H:]  # (B, H, k) each
        W_ifg, W_o = W[:3 * H], W[3 * H:]  # (3H, H), (H, H)
        if transpose:
            # (J^T Q)_h = A^T (p Qh + Qc) + W_ho^T (q Qh);  (J^T Q)_c = f (p Qh + Qc)
            V = Qc.addcmul(p.unsqueeze(-1), Qh)
            Zh = _scaled_products(W_ifg, cc, V, True) + _scaled_products(W_o, [q], Qh, True)
            return state_new, torch.cat([Zh, f.unsqueeze(-1) * V], dim=1)
        # (J Q)_c = A Qh + f Qc;  (J Q)_h = p (J Q)_c + q W_ho Qh
        Zc = _scaled_products(W_ifg, cc, Qh, False).addcmul_(f.unsqueeze(-1), Qc)
        Zh = _scaled_products(W_o, [q], Qh, False).addcmul_(p.unsqueeze(-1), Zc)
        return state_new, torch.cat([Zh, Zc], dim=1)  # (B, 2H, k)

    def jacobian(self, xw: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """One step: new state (B, D_state) and the dense Jacobian ``J`` (B, D, D), assembled from its blocks.

        Used only where the full tangent space is tracked (k close to D), for the implicit-Q route of
        :func:`_qr_loop`; it costs B*G*H^2 multiply-adds, less than one product with a (B, H, k) basis.
        """
        H, W = self.H, self.W_hh
        state_new, loc = self._local(xw, state)
        if not self.hc:
            J = _assemble(W, loc["coefs"])
            if loc["diag"] is not None:
                J.diagonal(dim1=1, dim2=2).add_(loc["diag"])
            return state_new, J
        cc, p, q, f = loc["cc"], loc["p"], loc["q"], loc["f"]
        A = _assemble(W[:3 * H], cc)  # dc'/dh, (B, H, H)
        J = torch.zeros(A.shape[0], 2 * H, 2 * H, dtype=A.dtype, device=A.device)
        J[:, H:, :H] = A
        J[:, H:, H:].diagonal(dim1=1, dim2=2).copy_(f)
        J[:, :H, :H] = p.unsqueeze(-1) * A + q.unsqueeze(-1) * W[3 * H:]
        J[:, :H, H:].diagonal(dim1=1, dim2=2).copy_(p * f)
        return state_new, J


# Generic callables: Jacobians by blocks of time steps (one reverse-mode pass per block) when the state has at most
# this many dimensions or half the spectrum is wanted; blocks hold at most _BLOCK_STEPS steps and _BLOCK_ROWS
# stacked rows (B * D per step), which bounds their memory (_BLOCK_ROWS * D values per block).
_JACOBIAN_MAX_D = 128
_BLOCK_STEPS = 256
_BLOCK_ROWS = 16_384


class _GenericCell:
    """Tangent map of any batched ``step(x_t, s) -> s_next`` by automatic differentiation.

    Two routes (``docs/papers/lyapunov.md §3``). Small state (``D <= _JACOBIAN_MAX_D``) or most of the spectrum
    (``2 k >= D``): the trajectory of a block of time steps is computed first, then every Jacobian ``J_t`` of the
    block comes from one reverse-mode pass over stacked rows (row ``(t, b, i)`` holds state ``s_{t,b}`` and pulls
    back ``e_i``, giving row i of ``J_t``), so the per-step cost is one plain call of ``step`` (under
    ``torch.inference_mode``) and a product; this needs ``step`` to treat batch rows independently and to accept any
    number of rows, as any batched cell does. Otherwise (large D, few exponents):
    ``k`` JVPs (VJPs when transposed) per step, vectorised with ``torch.func.vmap``.
    """

    def __init__(self, step: StepFn, dtype: torch.dtype, device: torch.device):
        if isinstance(step, nn.Module):  # a private copy in the tangent space's precision, weights frozen
            module = copy.deepcopy(step).to(device=device, dtype=dtype)
            module.requires_grad_(False)
            self.step: StepFn = module
        else:
            self.step = step
        self.xs: Tensor | None = None  # (B, n_total, I): all inputs, set by the QR loop on the block route
        self._start = 0
        self._states: tuple[Tensor, ...] = ()
        self._jac: tuple[Tensor, ...] = ()

    def project_inputs(self, x: Tensor) -> Tensor:
        return x

    def use_blocks(self, D: int, k: int) -> bool:
        """Whether the block route (batched reverse-mode Jacobians) is cheaper than k JVPs per step."""
        return D <= _JACOBIAN_MAX_D or 2 * k >= D

    def jacobians(self, xs: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """Trajectory and Jacobians of a block of n steps.

        Parameters
        ----------
        xs : Tensor, shape (B, n, I)
            Inputs of the block.
        state : Tensor, shape (B, D)
            State before the block.

        Returns
        -------
        states : Tensor, shape (n, B, D)
            ``s_{t+1}`` after each step of the block.
        J : Tensor, shape (n, B, D, D)
            ``J_t = d s_{t+1} / d s_t`` at each step.
        """
        B, n, _ = xs.shape
        D = state.shape[1]
        before, after = [], []
        s = state
        with torch.inference_mode():  # the trajectory is sequential: one plain call per step, no autograd bookkeeping
            for t in range(n):
                before.append(s)
                s = self.step(xs[:, t], s)
                after.append(s)
            S = torch.stack(before)  # (n, B, D)
            S_next = torch.stack(after)
        rows = n * B * D
        s_rep = S.unsqueeze(2).expand(n, B, D, D).reshape(rows, D).clone()
        x_rep = xs.transpose(0, 1).unsqueeze(2).expand(n, B, D, xs.shape[2]).reshape(rows, xs.shape[2])
        pull = torch.eye(D, dtype=S.dtype, device=S.device).expand(n * B, D, D).reshape(rows, D)
        with torch.enable_grad():
            s_rep.requires_grad_(True)
            out = self.step(x_rep, s_rep)
            if out.requires_grad:
                (g,) = torch.autograd.grad(out, s_rep, grad_outputs=pull, allow_unused=True)
            else:  # the step ignores its state
                g = None
        J = torch.zeros(n, B, D, D, dtype=S.dtype, device=S.device) if g is None else g.view(n, B, D, D)
        return S_next, J

    def advance_block(self, t: int, state: Tensor, Q: Tensor, transpose: bool) -> tuple[Tensor, Tensor]:
        """Step ``t`` of the block route: new state (B, D) and ``J_t Q`` (or ``J_t^T Q``), (B, D, k)."""
        assert self.xs is not None
        if not self._start <= t < self._start + len(self._jac):
            B, n_total, _ = self.xs.shape
            n = max(1, min(n_total - t, _BLOCK_STEPS, _BLOCK_ROWS // (B * state.shape[1])))
            self._start = t
            states, J = self.jacobians(self.xs[:, t:t + n], state)
            # per-step views made once per block: indexing a tuple costs nothing per step
            self._states, self._jac = states.unbind(0), (J.transpose(2, 3) if transpose else J).unbind(0)
        i = t - self._start
        return self._states[i], torch.matmul(self._jac[i], Q)

    def advance(self, x: Tensor, state: Tensor, Q: Tensor, transpose: bool) -> tuple[Tensor, Tensor]:
        """One step of the JVP route: new state (B, D) and ``J Q`` (or ``J^T Q``), (B, D, k)."""
        def f(s: Tensor) -> Tensor:
            return self.step(x, s)

        if transpose:
            s_new, vjp_fn = torch.func.vjp(f, state)
            Z = torch.func.vmap(lambda u: vjp_fn(u)[0], in_dims=2, out_dims=2)(Q)
            return s_new, Z
        s_new = f(state)
        Z = torch.func.vmap(lambda v: torch.func.jvp(f, (state,), (v,))[1], in_dims=2, out_dims=2)(Q)
        return s_new, Z


# ----------------------------------------------------------------------------------------------------------------
# the QR driver


def _initial_basis(q0: str | Tensor, B: int, D: int, k: int, generator: torch.Generator | None,
                   dtype: torch.dtype, device: torch.device) -> Tensor:
    if isinstance(q0, Tensor):
        Q = q0.to(device=device, dtype=dtype)
        if Q.dim() == 2:
            Q = Q.unsqueeze(0).expand(B, -1, -1)
        if tuple(Q.shape) != (B, D, k):
            raise ValueError(f"q0 tensor must have shape ({D}, {k}) or ({B}, {D}, {k}), got {tuple(q0.shape)}")
        return Q.contiguous()
    if q0 == "identity":
        Q = torch.eye(D, k, dtype=dtype, device=device)  # first k columns of I_D
    elif q0 == "random":
        gen_device = generator.device if generator is not None else torch.device("cpu")
        A = torch.randn(D, k, generator=generator, dtype=dtype, device=gen_device).to(device)
        Q = torch.linalg.qr(A, mode="reduced").Q
    else:
        raise ValueError(f"q0 must be 'identity', 'random' or a tensor, got {q0!r}")
    return Q.unsqueeze(0).expand(B, D, k).contiguous()  # (B, D, k)


def iter_lyapunov_spectrum(
    cell: Cell,
    inputs: Tensor,
    *,
    h0: Tensor | None = None,
    k: int | None = None,
    warmup: int = 0,
    t_ons: int = 1,
    lstm_state: str = "hc",
    base: str | int = "e",
    transpose_jacobian: bool = False,
    q0: str | Tensor = "identity",
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    return_curves: bool = False,
    chunk: int | None = None,
) -> Generator[int, None, LyapunovSpectrum]:
    """Resumable form of :func:`lyapunov_spectrum`: yields the number of time steps done after every ``chunk``.

    Arguments are checked and the weights copied when this function is called, so the cell may keep training
    between ``next`` calls: the spectrum belongs to the weights at the call. The result is the generator's return
    value (``StopIteration.value``). Arguments as in :func:`lyapunov_spectrum`; ``chunk`` (time steps per ``next``)
    defaults to all steps.

    Examples
    --------
    >>> import torch
    >>> gru = torch.nn.GRU(3, 8, batch_first=True)
    >>> x = torch.randn(2, 50, 3, generator=torch.Generator().manual_seed(0))
    >>> it = iter_lyapunov_spectrum(gru, x, chunk=20)
    >>> [next(it), next(it)]
    [20, 40]
    >>> try:
    ...     next(it)
    ... except StopIteration as stop:
    ...     result = stop.value
    >>> result.exponents.shape
    torch.Size([2, 8])
    """
    if chunk is not None and (int(chunk) != chunk or chunk < 1):
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    gen = _spectrum_steps(cell, inputs, h0=h0, k=k, warmup=warmup, t_ons=t_ons, lstm_state=lstm_state, base=base,
                          transpose_jacobian=transpose_jacobian, q0=q0, generator=generator, dtype=dtype,
                          return_curves=return_curves)
    return _chunked(gen, inputs.shape[1] if chunk is None else int(chunk))


def _chunked(gen: Generator[None, None, LyapunovSpectrum], chunk: int) -> Generator[int, None, LyapunovSpectrum]:
    done = 0
    while True:
        with torch.no_grad():  # grad mode is entered and left within one chunk, never across a yield
            try:
                for _ in range(chunk):
                    next(gen)
                    done += 1
            except StopIteration as stop:
                return stop.value
        yield done


def lyapunov_spectrum(
    cell: Cell,
    inputs: Tensor,
    *,
    h0: Tensor | None = None,
    k: int | None = None,
    warmup: int = 0,
    t_ons: int = 1,
    lstm_state: str = "hc",
    base: str | int = "e",
    transpose_jacobian: bool = False,
    q0: str | Tensor = "identity",
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    return_curves: bool = False,
) -> LyapunovSpectrum:
    """Lyapunov spectrum of a recurrent cell driven by ``inputs``, by repeated QR of ``J_t Q``.

    Parameters
    ----------
    cell : nn.RNN (tanh), nn.GRU, nn.LSTM, or callable
        A one-layer torch cell (its ``J Q`` is analytic: from closed-form gate blocks, see the module notes), or
        any ``step(x_t, s) -> s_next`` mapping (B, I) and (B, D) tensors to (B, D) row by row (any number of
        rows), whose Jacobians come from automatic differentiation: one reverse-mode pass per block of time steps
        when D <= 128 or 2k >= D, else k batched JVPs per step (``docs/papers/lyapunov.md §3``). An ``nn.Module``
        step is used as a copy with its parameters cast to ``dtype`` and frozen; the module itself is untouched.
    inputs : Tensor, shape (B, warmup + T, I)
        Driving sequences, batch first; the first ``warmup`` steps only orthonormalise.
    h0 : Tensor, shape (B, D), optional
        Initial state. Zeros by default for torch cells (an LSTM's state is ``[h, c]``, shape (B, 2H); with
        ``lstm_state="h"`` a (B, H) ``h0`` means ``c0 = 0``). Required for a callable.
    k : int, optional
        Number of exponents, ``1 <= k <= D`` (default: the columns of a ``q0`` tensor, else D; D = 2H for an LSTM
        with ``lstm_state="hc"``).
    warmup : int, default 0
        Steps ``T_w`` before measuring.
    t_ons : int, default 1
        Orthonormalise every ``t_ons`` steps (and at the last step).
    lstm_state : {"hc", "h"}, default "hc"
        LSTM tangent space: the full state ``(h, c)``, or the reference's ``h`` alone with ``c`` held fixed.
    base : {"e", 2}, default "e"
        Nats per step or bits per step.
    transpose_jacobian : bool, default False
        Multiply by ``J^T`` instead of ``J``, as the reference code does (only to reproduce its numbers).
    q0 : {"identity", "random"} or Tensor, default "identity"
        Initial basis: the first k columns of ``I_D``, a random orthonormal (D, k) basis drawn from ``generator``
        (shared by the batch), or an explicit (D, k) or (B, D, k) tensor with orthonormal columns.
    generator : torch.Generator, optional
        Randomness for ``q0="random"``.
    dtype : torch.dtype, default torch.float64
        Precision of the trajectory and the tangent space (weights are cast to it).
    return_curves : bool, default False
        Also return the finite-time estimates after every QR.

    Returns
    -------
    LyapunovSpectrum
        ``exponents`` (B, k) sorted descending, ``mean`` and ``std`` (k,), optional ``curves`` (n, B, k).
        ``log 0`` (a direction mapped to zero) gives ``-inf``, never an error.

    Examples
    --------
    >>> import torch
    >>> gru = torch.nn.GRU(3, 8, batch_first=True)
    >>> x = torch.randn(2, 50, 3, generator=torch.Generator().manual_seed(0))
    >>> lyapunov_spectrum(gru, x).exponents.shape
    torch.Size([2, 8])
    """
    gen = _spectrum_steps(cell, inputs, h0=h0, k=k, warmup=warmup, t_ons=t_ons, lstm_state=lstm_state, base=base,
                          transpose_jacobian=transpose_jacobian, q0=q0, generator=generator, dtype=dtype,
                          return_curves=return_curves)
    with torch.no_grad():
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value


def _spectrum_steps(cell, inputs, *, h0, k, warmup, t_ons, lstm_state, base, transpose_jacobian, q0, generator,
                    dtype, return_curves) -> Generator[None, None, LyapunovSpectrum]:
    """Validate, copy the weights, and return the QR iteration as a generator (one ``next`` per time step)."""
    if not isinstance(inputs, Tensor) or inputs.dim() != 3:
        raise ValueError(f"inputs must be a tensor of shape (B, warmup + T, I), got "
                         f"{getattr(inputs, 'shape', type(inputs).__name__)}")
    if lstm_state not in ("hc", "h"):
        raise ValueError(f"lstm_state must be 'hc' or 'h', got {lstm_state!r}")
    base_name = str(base)
    if base_name not in ("e", "2"):
        raise ValueError(f"base must be 'e' or 2, got {base!r}")
    if int(warmup) != warmup or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer, got {warmup!r}")
    if int(t_ons) != t_ons or t_ons < 1:
        raise ValueError(f"t_ons must be an integer >= 1, got {t_ons!r}")
    B, n_total, _ = inputs.shape
    T = n_total - warmup
    if T < 1:
        raise ValueError(f"inputs have {n_total} steps, need more than warmup={warmup}")
    device = inputs.device
    x = inputs.detach().to(dtype)

    if isinstance(cell, (nn.RNN, nn.GRU, nn.LSTM)):
        model: _TorchCell | _GenericCell = _TorchCell(cell, lstm_state, dtype, device)
        D_state, D = model.state_dim, model.tangent_dim
        if h0 is None:
            state = torch.zeros(B, D_state, dtype=dtype, device=device)
        else:
            state = h0.detach().to(device=device, dtype=dtype)
            if model.kind == "lstm" and lstm_state == "h" and state.shape == (B, model.H):
                state = torch.cat([state, torch.zeros_like(state)], dim=1)  # c0 = 0
            if tuple(state.shape) != (B, D_state):
                raise ValueError(f"h0 must have shape ({B}, {D_state}), got {tuple(h0.shape)}")
    elif callable(cell):
        if h0 is None:
            raise ValueError("h0 of shape (B, D) is required when cell is a callable step(x_t, s)")
        model = _GenericCell(cell, dtype, device)
        state = h0.detach().to(device=device, dtype=dtype)
        if state.dim() != 2 or state.shape[0] != B:
            raise ValueError(f"h0 must have shape ({B}, D), got {tuple(h0.shape)}")
        D = state.shape[1]
    else:
        raise ValueError(f"cell must be nn.RNN, nn.GRU, nn.LSTM or a callable, got {type(cell).__name__}")

    if k is None:
        k = q0.shape[-1] if isinstance(q0, Tensor) else D
    if int(k) != k or not 1 <= k <= D:
        raise ValueError(f"k must be an integer in [1, {D}], got {k!r}")
    Q = _initial_basis(q0, B, D, int(k), generator, dtype, device)  # (B, D, k)

    with torch.no_grad():
        xw = model.project_inputs(x)  # (B, warmup + T, G*H) for torch cells
    return _qr_loop(model, xw, state, Q, warmup=warmup, T=T, t_ons=t_ons, transpose=transpose_jacobian,
                    base_name=base_name, return_curves=return_curves)


def _implicit_q(model: Any, D: int, k: int, device: torch.device) -> bool:
    """Whether to keep Q as Householder reflectors and apply it to the dense ``J`` from the right.

    ``Z = J Q`` then costs one ``ormqr`` instead of forming Q (``orgqr``) and multiplying: about a third less work
    once k is close to D, and LAPACK's blocked kernels are faster still on CPU. Only for torch cells, on CPU, with
    ``4 k >= 3 D`` (for smaller k the full D x D product wastes the saving).
    """
    return hasattr(model, "jacobian") and device.type == "cpu" and 4 * k >= 3 * D


def _qr_loop(model, xw, state, Q, *, warmup, T, t_ons, transpose, base_name,
             return_curves) -> Generator[None, None, LyapunovSpectrum]:
    """Warm-up then measurement; yields after every time step but the last (the caller holds no_grad).

    The basis is either an explicit tensor Q (B, D, k) or, on the implicit route, the pair ``(a, tau)`` of
    ``torch.geqrf`` whose Householder reflectors represent it; ``R``'s diagonal is then ``a``'s.
    """
    B, D, k = Q.shape
    implicit = _implicit_q(model, D, k, Q.device)
    blocks = isinstance(model, _GenericCell) and model.use_blocks(D, k)
    if blocks:
        model.xs = xw

    def advance(t: int, s: Tensor, basis: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        if blocks:
            return model.advance_block(t, s, basis, transpose)
        if isinstance(basis, Tensor):
            return model.advance(xw[:, t], s, basis, transpose)
        s_new, J = model.jacobian(xw[:, t], s)
        Z = torch.ormqr(basis[0], basis[1], J.transpose(1, 2) if transpose else J, left=False, transpose=False)
        return s_new, Z[:, :, :k]  # J Q_full, first k columns = J Q

    def orthonormalise(Z: Tensor) -> tuple[Tensor | tuple[Tensor, Tensor], Tensor]:
        if implicit:
            a, tau = torch.geqrf(Z)
            return (a, tau), torch.diagonal(a, dim1=-2, dim2=-1)
        Qn, R = torch.linalg.qr(Z, mode="reduced")  # Q (B, D, k), R (B, k, k)
        return Qn, torch.diagonal(R, dim1=-2, dim2=-1)

    acc = torch.zeros(B, k, dtype=Q.dtype, device=Q.device)
    curves: list[Tensor] = []
    curve_steps: list[int] = []
    basis: Tensor | tuple[Tensor, Tensor] = Q
    for t in range(warmup):
        state, basis = advance(t, state, basis)
        if (t + 1) % t_ons == 0 or t + 1 == warmup:
            basis = orthonormalise(basis)[0]
        yield
    for t in range(1, T + 1):
        state, Z = advance(warmup + t - 1, state, basis)
        if t % t_ons == 0 or t == T:
            basis, r_diag = orthonormalise(Z)
            acc.add_(r_diag.abs().log_())  # log 0 -> -inf
            if return_curves:
                curves.append(acc / t)
                curve_steps.append(t)
        else:
            basis = Z
        if t < T:
            yield

    lam = acc / T  # (B, k)
    if base_name == "2":
        lam = lam / math.log(2.0)
    exponents, order = torch.sort(lam, dim=1, descending=True, stable=True)
    mean = exponents.mean(dim=0)
    std = exponents.std(dim=0, unbiased=True) if B > 1 else torch.zeros_like(mean)
    curves_t = steps_t = None
    if return_curves:
        curves_t = torch.stack(curves)  # (n, B, k)
        if base_name == "2":
            curves_t = curves_t / math.log(2.0)
        curves_t = torch.gather(curves_t, 2, order.unsqueeze(0).expand_as(curves_t))
        steps_t = torch.tensor(curve_steps, device=acc.device)
    return LyapunovSpectrum(exponents, mean, std, curves_t, steps_t, base_name)


# ----------------------------------------------------------------------------------------------------------------
# summaries of a spectrum


def _as_sorted_array(exponents: Tensor | np.ndarray | list) -> np.ndarray:
    lam = exponents.detach().cpu().numpy() if isinstance(exponents, Tensor) else np.asarray(exponents, dtype=float)
    if lam.ndim not in (1, 2) or lam.shape[-1] == 0:
        raise ValueError(f"exponents must have shape (k,) or (B, k) with k >= 1, got {lam.shape}")
    return -np.sort(-lam, axis=-1)


def kaplan_yorke_dimension(exponents: Tensor | np.ndarray | list) -> Tensor | np.ndarray | float:
    """Kaplan-Yorke (Lyapunov) dimension ``D_KY = j + sum_{i<=j} lambda_i / |lambda_{j+1}|``.

    ``j`` is the largest number of leading exponents whose sum is ``>= 0``; ``D_KY = 0`` if ``lambda_1 < 0`` and
    ``D_KY = k`` if the total sum is ``>= 0``. Exponents are sorted first; their unit does not matter.

    Parameters
    ----------
    exponents : array-like, shape (k,) or (B, k)

    Returns
    -------
    float for a (k,) input, else an array (B,) (a Tensor for Tensor input).

    Examples
    --------
    >>> round(kaplan_yorke_dimension([0.5, 0.1, -0.4, -1.0]), 12)
    3.2
    """
    lam = _as_sorted_array(exponents)
    rows = np.atleast_2d(lam)
    out = np.empty(rows.shape[0])
    for b, row in enumerate(rows):
        with np.errstate(invalid="ignore"):
            partial = np.cumsum(row)  # partial[j-1] = sum of the first j exponents
        nonneg = np.nonzero(partial >= 0)[0]
        if nonneg.size == 0:
            out[b] = 0.0
            continue
        j = int(nonneg[-1]) + 1
        out[b] = float(j) if j == row.size else j + partial[j - 1] / abs(row[j])
    if isinstance(exponents, Tensor):
        return torch.as_tensor(out if lam.ndim == 2 else out[0], dtype=torch.float64)
    return out if lam.ndim == 2 else float(out[0])


def ks_entropy(exponents: Tensor | np.ndarray | list) -> Tensor | np.ndarray | float:
    """Pesin upper bound on the Kolmogorov-Sinai entropy: ``sum_i max(lambda_i, 0)``.

    Parameters
    ----------
    exponents : array-like, shape (k,) or (B, k)

    Returns
    -------
    float for a (k,) input, else an array (B,) (a Tensor for Tensor input); same unit as ``exponents``.
    """
    lam = _as_sorted_array(exponents)
    out = np.clip(lam, 0.0, None).sum(axis=-1)
    if isinstance(exponents, Tensor):
        return torch.as_tensor(out, dtype=torch.float64)
    return out if lam.ndim == 2 else float(out)
