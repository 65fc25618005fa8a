"""Bidirectional recurrent independent mechanisms: layers of small LSTMs that compete to read their inputs.

Mittal, Lamb, Goyal, Voleti, Shanahan, Lajoie, Mozer, Bengio, "Learning to Combine Top-Down and Bottom-Up Signals
in Recurrent Neural Networks with Attention over Modules", ICML 2020, arXiv:2006.16981. The project's account:
``docs/papers/brims.md`` (§2 the equations as implemented, §3 the deviations, §5 the checks).

Symbols of ``docs/papers/brims.md §2.1`` and their code names:

=====================  ==========================  ==========================================================
symbol                 code                        shape / meaning
=====================  ==========================  ==========================================================
n_l, d_l, k_l          ``n_modules``, ``d_module``,  modules, units per module and active modules of a layer
                       ``k_active``
h^l_{t,m}, c^l_{t,m}   ``h``, ``c``                (B, n, d) per layer
s0, s1, s2             slots                       null (zeros), bottom-up (layer below at t), top-down
                                                   (layer above at t-1)
WQ_m; WK_s, WV_s       ``query``;                  module-specific query; slot-specific key and value, no bias
                       ``slot_proj[s]``            (one Linear per slot: the key rows, then the value rows)
alpha_{m,s}            ``alpha``                   (B, heads, n, slots) input attention, softmax over slots
nu_m                   ``null``                    (B, n) null attention averaged over heads
M_m                    ``mask``                    (B, n) bool, exactly k True per row (the k smallest nu)
=====================  ==========================  ==========================================================

Choices where the paper leaves room (``docs/papers/brims.md §3``; stated on the page too):

* Top-down wiring follows the paper: every layer but the top one reads the layer above at t - 1. (The reference code
  feeds only layer 1, from the top layer; for two layers the two agree.)
* Modules are one grouped LSTM: per-module weights applied with one batched product over modules, never a dense
  LSTM whose off-block-diagonal weights are zeroed (``docs/papers/brims.md §2.4``). Gate order (i, f, g, o); one
  bias per gate.
* Communication keys and values come from the candidates of all modules, as in the reference code; the gradient into
  an inactive module's candidate is blocked (identity forward, zero gradient), so it only ever informs the others
  during the forward pass and its state is left exactly as it was.
* Ties in the competition go to the lower module index: a stable sort of the null scores, the same on every device
  (``docs/papers/brims.md §2.3``). Ties are common: from the zero state every null score is exactly 1/3 at t = 0, and
  modules never yet active keep tying for a few steps. Which tied modules win changes the outputs, so the rule is
  part of the model (the reference's ``torch.topk`` leaves it unspecified).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neurodyn.core.validation import check_positive_ints

__all__ = ["GroupLinear", "GroupLSTMCell", "BRIMsLayer", "BRIMs", "LayerTrace"]


class GroupLinear(nn.Module):
    """``n`` independent linear maps, one per module, applied with one batched product.

    Parameters
    ----------
    n : int
        Number of modules.
    d_in, d_out : int
        Input and output width of each module's map.
    bias : bool
        One bias vector per module.

    Shapes
    ------
    (B, n, d_in) -> (B, n, d_out); ``weight`` is (n, d_in, d_out).
    """

    def __init__(self, n: int, d_in: int, d_out: int, bias: bool = True) -> None:
        super().__init__()
        check_positive_ints(n=n, d_in=d_in, d_out=d_out)
        self.n, self.d_in, self.d_out = n, d_in, d_out
        bound = 1.0 / math.sqrt(d_in)  # nn.Linear's default range, per module
        self.weight = nn.Parameter(torch.empty(n, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, d_out).uniform_(-bound, bound)) if bias else None

    def extra_repr(self) -> str:
        return f"n={self.n}, d_in={self.d_in}, d_out={self.d_out}, bias={self.bias is not None}"

    def forward(self, x: Tensor) -> Tensor:
        """Apply module m's map to ``x[:, m]``: (B, n, d_in) -> (B, n, d_out)."""
        out = torch.bmm(x.transpose(0, 1), self.weight).transpose(0, 1)  # (n, B, d_in) @ (n, d_in, d_out)
        return out if self.bias is None else out + self.bias


class GroupLSTMCell(nn.Module):
    """``n`` independent LSTM cells (one block-diagonal LSTM), gate order (i, f, g, o) as ``torch.nn.LSTMCell``.

    Parameters
    ----------
    n : int
        Number of modules.
    d_in : int
        Input width of each module.
    d_hidden : int
        State width of each module.

    Shapes
    ------
    ``forward(x, (h, c))``: x (B, n, d_in), h and c (B, n, d_hidden) -> (h', c'), each (B, n, d_hidden).
    Weights ``weight_ih`` (n, d_in, 4 d_hidden), ``weight_hh`` (n, d_hidden, 4 d_hidden), ``bias`` (n, 4 d_hidden).
    """

    def __init__(self, n: int, d_in: int, d_hidden: int) -> None:
        super().__init__()
        check_positive_ints(n=n, d_in=d_in, d_hidden=d_hidden)
        self.n, self.d_in, self.d_hidden = n, d_in, d_hidden
        bound = 1.0 / math.sqrt(d_hidden)  # nn.LSTMCell's default range
        self.weight_ih = nn.Parameter(torch.empty(n, d_in, 4 * d_hidden).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(n, d_hidden, 4 * d_hidden).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, 4 * d_hidden).uniform_(-bound, bound))

    def extra_repr(self) -> str:
        return f"n={self.n}, d_in={self.d_in}, d_hidden={self.d_hidden}"

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """One step of every module's LSTM: returns the candidate (h', c'), each (B, n, d_hidden)."""
        h, c = state
        both = torch.cat([x, h], dim=-1).transpose(0, 1)  # (n, B, d_in + d_hidden)
        weight = torch.cat([self.weight_ih, self.weight_hh], dim=1)  # (n, d_in + d_hidden, 4 d_hidden)
        gates = torch.baddbmm(self.bias.unsqueeze(1), both, weight).transpose(0, 1)  # (B, n, 4 d_hidden)
        i, f, g, o = gates.chunk(4, dim=-1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_new), c_new


def _block_gradient(x: Tensor, keep: Tensor) -> Tensor:
    """``x`` unchanged in the forward pass; in the backward pass the gradient passes only where ``keep`` is True.

    ``keep`` is (B, n) bool for ``x`` (B, n, d). The forward value is bitwise ``x``.
    """
    return torch.where(keep.unsqueeze(-1), x, x.detach())


@dataclass(frozen=True)
class LayerTrace:
    """What one layer did at one step (detached), for the activation raster and the slot-attention figures.

    Attributes
    ----------
    mask : Tensor
        (B, n) bool, the active modules.
    alpha : Tensor
        (B, n, slots) input attention averaged over heads; slot 0 is null, 1 bottom-up, 2 top-down (if any).
    """

    mask: Tensor
    alpha: Tensor


class BRIMsLayer(nn.Module):
    """One layer of recurrent independent mechanisms with input attention over slots, top-k competition and
    communication (``docs/papers/brims.md §2.2``, steps 1-6).

    Parameters
    ----------
    n_modules : int
        Modules n in the layer.
    d_module : int
        Units d per module (LSTM state width).
    k_active : int
        Modules updated per step (1 <= k <= n).
    slot_widths : sequence of int
        Widths of the non-null slots, bottom-up first, then top-down if the layer has one. The null slot is implicit.
    input_heads : int
        Heads of the input attention.
    d_key : int
        Query/key width per head of the input attention.
    read_width : int
        Width of what a module reads (all heads together; must be divisible by ``input_heads``).
    communication : bool
        Whether active modules exchange information after their update (step 5).
    comm_heads, comm_d_key, comm_d_value : int
        Heads and per-head widths of the communication attention.

    Shapes
    ------
    ``forward(slots, (h, c))`` with ``slots`` a list of (B, width) tensors in ``slot_widths`` order and h, c (B, n, d)
    returns the new ``(h, c)`` and a :class:`LayerTrace`.
    """

    def __init__(
        self,
        n_modules: int,
        d_module: int,
        k_active: int,
        slot_widths: Sequence[int],
        *,
        input_heads: int = 4,
        d_key: int = 32,
        read_width: int | None = None,
        communication: bool = True,
        comm_heads: int = 2,
        comm_d_key: int = 16,
        comm_d_value: int = 16,
    ) -> None:
        super().__init__()
        check_positive_ints(n_modules=n_modules, d_module=d_module, k_active=k_active, input_heads=input_heads,
                        d_key=d_key)
        if k_active > n_modules:
            raise ValueError(f"k_active={k_active} exceeds n_modules={n_modules}: at most every module can be active")
        if not slot_widths:
            raise ValueError("a layer needs at least one non-null slot (its bottom-up input)")
        check_positive_ints(**{f"slot_widths[{i}]": w for i, w in enumerate(slot_widths)})
        read_width = 2 * d_module if read_width is None else read_width
        check_positive_ints(read_width=read_width)
        if read_width % input_heads:
            raise ValueError(f"read_width={read_width} is not divisible by input_heads={input_heads}")
        n, d = n_modules, d_module
        self.n_modules, self.d_module, self.k_active = n, d, k_active
        self.slot_widths = tuple(int(w) for w in slot_widths)
        self.input_heads, self.d_key, self.read_width = input_heads, d_key, read_width
        self.communication = bool(communication)

        self.query = GroupLinear(n, d, input_heads * d_key, bias=False)  # WQ_m
        # [WK_s; WV_s] of slot s in one Linear: one matmul per slot and step instead of two
        self.slot_proj = nn.ModuleList(nn.Linear(w, input_heads * d_key + read_width, bias=False)
                                       for w in self.slot_widths)
        self.cell = GroupLSTMCell(n, read_width, d)
        if self.communication:
            check_positive_ints(comm_heads=comm_heads, comm_d_key=comm_d_key, comm_d_value=comm_d_value)
            self.comm_heads, self.comm_d_key, self.comm_d_value = comm_heads, comm_d_key, comm_d_value
            # module-specific query, key and value maps side by side (one batched product), then WG_m and WF_m
            self.comm_qkv = GroupLinear(n, d, comm_heads * (2 * comm_d_key + comm_d_value), bias=False)
            self.comm_gate_out = GroupLinear(n, comm_heads * comm_d_value, 2 * d)

    def extra_repr(self) -> str:
        return (f"n_modules={self.n_modules}, d_module={self.d_module}, k_active={self.k_active}, "
                f"slot_widths={self.slot_widths}, communication={self.communication}")

    def input_attention(self, slots: Sequence[Tensor], h: Tensor) -> tuple[Tensor, Tensor]:
        """Step 2: each module reads from [null, *slots].

        Returns the read (B, n, read_width) and alpha (B, heads, n, 1 + len(slots)); the null key and value are 0,
        so the null logit is exactly 0 and the null slot contributes nothing to the read.
        """
        B, n, _ = h.shape
        H, dk = self.input_heads, self.d_key
        q = self.query(h).view(B, n, H, dk).transpose(1, 2)  # (B, H, n, d_k)
        kv = torch.stack([proj(s) for proj, s in zip(self.slot_proj, slots)], dim=1)  # (B, slots, H*d_k + read)
        k, v = kv.split([H * dk, self.read_width], dim=-1)
        k = k.reshape(B, -1, H, dk).transpose(1, 2)  # (B, H, slots, d_k)
        v = v.reshape(B, -1, H, self.read_width // H).transpose(1, 2)  # (B, H, slots, d_v)
        logits = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dk)  # (B, H, n, slots)
        logits = F.pad(logits, (1, 0))  # the null slot: key 0, logit 0
        alpha = torch.softmax(logits, dim=-1)
        read = torch.matmul(alpha[..., 1:], v)  # (B, H, n, d_v); the null value is 0
        return read.transpose(1, 2).reshape(B, n, self.read_width), alpha

    def compete(self, alpha: Tensor) -> Tensor:
        """Step 3: the k modules with the smallest null attention (averaged over heads) win.

        Ties go to the lower module index: the winners are the first k of a stable ascending sort of the null
        scores (``docs/papers/brims.md §2.3``). From the zero state every module ties at t = 0, so the first active
        set is modules 0..k-1; ``torch.topk`` leaves the order of ties unspecified, and which tied modules win does
        change the outputs.

        Parameters
        ----------
        alpha : Tensor, shape (B, heads, n, slots)
            Input attention; slot 0 is null.

        Returns
        -------
        Tensor, shape (B, n), bool
            Exactly ``k_active`` True per row.
        """
        null = alpha[..., 0].mean(dim=1)  # (B, n)
        winners = torch.sort(null, dim=-1, stable=True).indices[..., : self.k_active]
        return torch.zeros_like(null, dtype=torch.bool).scatter_(-1, winners, True)

    def communication_attention(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Multi-head attention among the layer's modules, before the gate (step 5).

        ``h`` (B, n, d) are the candidates. Returns the output (B, n, comm_heads * comm_d_value) and the weights
        (B, comm_heads, n, n); with n a handful of modules the weights are formed explicitly.
        """
        B, n, _ = h.shape
        H = self.comm_heads
        dk, dv = self.comm_d_key, self.comm_d_value
        q, k, v = self.comm_qkv(h).split([H * dk, H * dk, H * dv], dim=-1)
        q = q.reshape(B, n, H, dk).transpose(1, 2)  # (B, H, n, d_k)
        k = k.reshape(B, n, H, dk).transpose(1, 2)
        v = v.reshape(B, n, H, dv).transpose(1, 2)
        weights = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.comm_d_key), dim=-1)
        o = torch.matmul(weights, v).transpose(1, 2).reshape(B, n, H * self.comm_d_value)
        return o, weights

    def communicate(self, h: Tensor, mask: Tensor) -> Tensor:
        """Step 5: the candidates ``h`` (B, n, d) plus a gated residual of :meth:`communication_attention`.

        The gradient into the candidates of inactive modules (``mask`` False) is blocked.
        """
        h = _block_gradient(h, mask)
        o, _ = self.communication_attention(h)
        gate, update = self.comm_gate_out(o).chunk(2, dim=-1)  # WG_m o_m, WF_m o_m
        return h + torch.sigmoid(gate) * torch.tanh(update)

    def forward(
        self, slots: Sequence[Tensor], state: tuple[Tensor, Tensor]
    ) -> tuple[tuple[Tensor, Tensor], LayerTrace]:
        """One step of the layer (``docs/papers/brims.md §2.2``, steps 1-6); inactive modules keep (h, c) bitwise."""
        if len(slots) != len(self.slot_widths):
            raise ValueError(f"expected {len(self.slot_widths)} slot inputs, got {len(slots)}")
        h, c = state
        read, alpha = self.input_attention(slots, h)
        mask = self.compete(alpha)
        h_new, c_new = self.cell(read, (h, c))
        if self.communication:
            h_new = self.communicate(h_new, mask)
        keep = mask.unsqueeze(-1)
        h_out = torch.where(keep, h_new, h)
        c_out = torch.where(keep, c_new, c)
        return (h_out, c_out), LayerTrace(mask=mask.detach(), alpha=alpha.detach().mean(dim=1))


class BRIMs(nn.Module):
    """A stack of :class:`BRIMsLayer` run over a sequence, with an encoder and a classifier on the top layer.

    Parameters
    ----------
    d_input : int
        Features per time step.
    n_classes : int
        Outputs of the readout.
    n_modules, d_module, k_active : sequence of int
        Per layer, bottom to top (all three of the same length L).
    d_embed : int
        Width of the encoder ``Linear(d_input, d_embed)`` that feeds layer 1's bottom-up slot.
    top_down : bool
        Whether every layer but the top reads the layer above at t - 1 (False gives the RIMs stack).
    communication : bool
        Whether modules of a layer communicate after their update.
    input_heads, d_key, read_width, comm_heads, comm_d_key, comm_d_value :
        As in :class:`BRIMsLayer`; ``read_width`` defaults to ``2 * d_module`` per layer.

    Shapes
    ------
    ``forward(x)``: x (B, T, d_input) -> logits (B, n_classes) from the top layer's state at the last step.
    With ``return_traces=True`` also a list over steps of lists over layers of :class:`LayerTrace`.

    Examples
    --------
    >>> import torch
    >>> model = BRIMs(8, 10)  # the small preset: 6 x 8 units (k = 4) under 4 x 8 units (k = 2)
    >>> model(torch.zeros(3, 8, 8)).shape
    torch.Size([3, 10])
    """

    def __init__(
        self,
        d_input: int,
        n_classes: int,
        *,
        n_modules: Sequence[int] = (6, 4),
        d_module: Sequence[int] = (8, 8),
        k_active: Sequence[int] = (4, 2),
        d_embed: int = 32,
        top_down: bool = True,
        communication: bool = True,
        input_heads: int = 4,
        d_key: int = 32,
        read_width: Sequence[int] | None = None,
        comm_heads: int = 2,
        comm_d_key: int = 16,
        comm_d_value: int = 16,
    ) -> None:
        super().__init__()
        check_positive_ints(d_input=d_input, n_classes=n_classes, d_embed=d_embed)
        n_modules, d_module, k_active = tuple(n_modules), tuple(d_module), tuple(k_active)
        L = len(n_modules)
        if L == 0 or len(d_module) != L or len(k_active) != L:
            raise ValueError(f"n_modules, d_module and k_active need one entry per layer and equal lengths, got "
                             f"{n_modules}, {d_module}, {k_active}")
        read_width = tuple(2 * d for d in d_module) if read_width is None else tuple(read_width)
        if len(read_width) != L:
            raise ValueError(f"read_width needs {L} entries, got {read_width}")
        for name, values in (("n_modules", n_modules), ("d_module", d_module), ("k_active", k_active),
                             ("read_width", read_width)):
            check_positive_ints(**{f"{name}[{i}]": v for i, v in enumerate(values)})
        self.d_input, self.n_classes, self.top_down = d_input, n_classes, bool(top_down)
        self.n_modules, self.d_module, self.k_active = n_modules, d_module, k_active
        widths = [n * d for n, d in zip(n_modules, d_module)]  # H^l width
        self.encoder = nn.Linear(d_input, d_embed)
        layers = []
        for i in range(L):
            slots = [d_embed if i == 0 else widths[i - 1]]
            if self.top_down and i < L - 1:
                slots.append(widths[i + 1])
            layers.append(BRIMsLayer(
                n_modules[i], d_module[i], k_active[i], slots, input_heads=input_heads, d_key=d_key,
                read_width=read_width[i], communication=communication, comm_heads=comm_heads,
                comm_d_key=comm_d_key, comm_d_value=comm_d_value))
        self.layers = nn.ModuleList(layers)
        self.readout = nn.Linear(widths[-1], n_classes)

    def initial_state(self, batch: int, device: torch.device | str | None = None,
                      dtype: torch.dtype | None = None) -> list[tuple[Tensor, Tensor]]:
        """Zero (h, c) per layer, each (B, n_l, d_l)."""
        dtype = dtype or self.readout.weight.dtype
        return [(torch.zeros(batch, n, d, device=device, dtype=dtype), torch.zeros(batch, n, d, device=device,
                                                                                    dtype=dtype))
                for n, d in zip(self.n_modules, self.d_module)]

    def step(
        self, x_t: Tensor, state: list[tuple[Tensor, Tensor]]
    ) -> tuple[list[tuple[Tensor, Tensor]], list[LayerTrace]]:
        """One time step of every layer, bottom-up: x_t (B, d_input); ``state`` as :meth:`initial_state`.

        Layer l reads the updated layer below (this step) and the layer above from the previous step.
        """
        B = x_t.shape[0]
        below = self.encoder(x_t)
        new_state, traces = [], []
        for i, layer in enumerate(self.layers):
            slots = [below]
            if len(layer.slot_widths) == 2:
                slots.append(state[i + 1][0].reshape(B, -1))  # H^{l+1}_{t-1}: the previous step's state
            (h, c), trace = layer(slots, state[i])
            new_state.append((h, c))
            traces.append(trace)
            below = h.reshape(B, -1)
        return new_state, traces

    def forward(self, x: Tensor, return_traces: bool = False) -> Tensor | tuple[Tensor, list[list[LayerTrace]]]:
        """Run the stack over the sequence ``x`` (B, T, d_input); logits (B, n_classes)."""
        if x.dim() != 3 or x.shape[-1] != self.d_input:
            raise ValueError(f"x must have shape (B, T, {self.d_input}), got {tuple(x.shape)}")
        if x.shape[1] == 0:
            raise ValueError("x has no time steps")
        state = self.initial_state(x.shape[0], x.device, x.dtype)
        traces = []
        for t in range(x.shape[1]):
            state, trace = self.step(x[:, t], state)
            traces.append(trace)
        logits = self.readout(state[-1][0].reshape(x.shape[0], -1))
        return (logits, traces) if return_traces else logits
