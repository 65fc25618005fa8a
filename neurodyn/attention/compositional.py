"""Compositional attention: searches and retrievals as separate parameter pools.

Mittal, Raparthy, Rish, Bengio, Lajoie, "Compositional Attention: Disentangling Search and
Retrieval", ICLR 2022, arXiv:2110.09419.

Symbols of the paper (``docs/papers/attention.md §2``) and their code names:

=================  ============================  =============================================
paper              code                          shape / meaning
=================  ============================  =============================================
X                  ``x``                         (B, N, D) input tokens
S, R               ``n_searches``, ``n_retrievals``
d_k, d_v, d_r      ``d_search``, ``d_value``,    per-search query/key width, per-retrieval value
                   ``d_retrieval``               width, retrieval query/key width
Wq_i, Wk_i         ``q_proj``, ``k_proj``        Linear(D, S*d_k), search i = block i
Wv_j               ``v_proj``                    Linear(D, R*d_v), retrieval j = block j
Wq̄_i               ``retrieval_q_proj``          Linear(D, S*d_r)
Wk̄ (shared)        ``retrieval_k_proj``          Linear(d_v, d_r)
Wo                 ``out_proj``                  Linear(S*d_v, D), Eq. 14
A_i                ``A``                         (B, S, N, N) search maps
Z_ij = A_i V_j     ``z``                         (B, S, N, R, d_v) all pairings
c_ij               ``c``                         (B, N, S, R) value scores, softmax over R
=================  ============================  =============================================

Implementation notes (the same maths as the paper's equations, reorganised for speed; stated here, on the page and
in ``docs/papers/attention.md §5``):

* All S x R pairings come from one attention call over S heads whose value is the concatenation
  [V_1 | ... | V_R] shared by every search (``docs/papers/attention.md §9``): one fused
  ``scaled_dot_product_attention`` call on CUDA; on CPU explicit logits and one bmm of A (B, S*N, N)
  with V (B, N, R*d_v) (torch's CPU flash kernel needs equal query and value widths, and R*d_v is not
  d_k). No Python loop runs over searches or retrievals.
* The retrieval logit <q̄_i, Z_ij Wk̄ + b> / sqrt(d_r) is computed as <u_i, Z_ij> with
  u_i = q̄_i Wk̄ᵀ / sqrt(d_r) (associativity), so the (B, N, S, R, d_r) key tensor is never formed. The
  product of the weights of Wq̄_i and Wk̄ is taken once per call, and u joins q, k and v in one matmul
  with the weights concatenated. The term <q̄_i, b> with the bias b of Wk̄ is the same for every j and
  cancels exactly in the softmax over retrievals, so it is not computed (b gets no gradient, as in the
  equations, where its gradient is zero).
* The value scores and their weighted sum (Eqs. 11-13) are one autograd function with a hand-written
  backward (:func:`_retrieve`); it supports one backward pass, not double backward.
* Mask convention: a boolean ``attn_mask`` is True where a query MAY attend (the
  ``scaled_dot_product_attention`` convention, the opposite of ``torch.nn.MultiheadAttention``);
  a float mask is added to the logits.
* ``dropout`` is attention dropout on A (as in ``torch.nn.MultiheadAttention``); it draws from
  torch's global generator like every torch dropout layer, and is off by default.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neurodyn.core.validation import check_positive_ints

__all__ = [
    "CompositionalAttention",
    "MultiHeadAttention",
    "compositional_parameter_count",
    "mha_parameter_count",
]


# ----------------------------------------------------------------------------- parameter counts


def _head_width(width: int | None, d_model: int, n: int, name: str, n_name: str) -> int:
    """An explicit head width, or ``d_model // n`` when it divides exactly."""
    if width is not None:
        check_positive_ints(**{name: width})
        return width
    if d_model % n != 0:
        raise ValueError(f"d_model={d_model} is not divisible by {n_name}={n}; pass {name} explicitly")
    return d_model // n


def _compositional_widths(
    D: int, S: int, R: int, d_search: int | None, d_value: int | None, d_retrieval: int | None
) -> tuple[int, int, int]:
    """(d_k, d_v, d_r) with the defaults D // S, D // R and d_r = D // S."""
    check_positive_ints(d_model=D, n_searches=S, n_retrievals=R)
    dk = _head_width(d_search, D, S, "d_search", "n_searches")
    dv = _head_width(d_value, D, R, "d_value", "n_retrievals")
    dr = _head_width(d_retrieval, D, S, "d_retrieval", "n_searches")
    return dk, dv, dr


def compositional_parameter_count(
    d_model: int,
    n_searches: int,
    n_retrievals: int,
    *,
    d_search: int | None = None,
    d_value: int | None = None,
    d_retrieval: int | None = None,
    bias: bool = False,
) -> int:
    """Number of parameters of :class:`CompositionalAttention` (``docs/papers/attention.md §2``).

    ``2 S D d_k + R D d_v + S D d_r + d_v d_r + S d_v D``, plus one bias vector per Linear when
    ``bias`` is True (``2 S d_k + R d_v + S d_r + d_r + D``).

    Examples
    --------
    >>> compositional_parameter_count(32, 2, 2) - mha_parameter_count(32, 2)  # (R-S) D d_v + S D d_r + d_v d_r
    1280
    """
    D, S, R = d_model, n_searches, n_retrievals
    dk, dv, dr = _compositional_widths(D, S, R, d_search, d_value, d_retrieval)
    count = 2 * S * D * dk + R * D * dv + S * D * dr + dv * dr + S * dv * D
    if bias:
        count += 2 * S * dk + R * dv + S * dr + dr + D
    return count


def mha_parameter_count(
    d_model: int,
    n_heads: int,
    *,
    d_search: int | None = None,
    d_value: int | None = None,
    bias: bool = False,
) -> int:
    """Number of parameters of :class:`MultiHeadAttention`: ``2 H D d_k + H D d_v + H d_v D``.

    With ``bias`` add ``2 H d_k + H d_v + D``. Defaults d_k = d_v = D // H.
    """
    check_positive_ints(d_model=d_model, n_heads=n_heads)
    D, H = d_model, n_heads
    dk = _head_width(d_search, D, H, "d_search", "n_heads")
    dv = _head_width(d_value, D, H, "d_value", "n_heads")
    count = 2 * H * D * dk + H * D * dv + H * dv * D
    if bias:
        count += 2 * H * dk + H * dv + D
    return count


# ----------------------------------------------------------------------------- shared helpers


def _as_logit_mask(attn_mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """Turn a bool (True = may attend) or float (additive) mask into an additive float mask."""
    if attn_mask is None:
        return None
    if attn_mask.dtype == torch.bool:
        zeros = torch.zeros((), dtype=dtype, device=attn_mask.device)
        return torch.where(attn_mask, zeros, torch.full_like(zeros, float("-inf")))
    return attn_mask.to(dtype)


def _check_mask(attn_mask: Tensor | None, n_tokens: int) -> Tensor | None:
    """Validate the mask shape; a (B, N, N) mask gets a head axis so it broadcasts over heads."""
    if attn_mask is None:
        return None
    if attn_mask.dim() not in (2, 3, 4) or attn_mask.shape[-2:] != (n_tokens, n_tokens):
        raise ValueError(
            f"attn_mask must have shape (N, N), (B, N, N) or (B, heads, N, N) with N={n_tokens}, "
            f"got {tuple(attn_mask.shape)}"
        )
    if attn_mask.dim() == 3:
        attn_mask = attn_mask.unsqueeze(1)  # (B, 1, N, N)
    return attn_mask


def _check_input(x: Tensor, d_model: int) -> None:
    if x.dim() != 3 or x.shape[-1] != d_model:
        raise ValueError(f"x must have shape (B, N, {d_model}), got {tuple(x.shape)}")


def _softmax(x: Tensor) -> Tensor:
    """Softmax over the last axis.

    For short rows on CPU the written-out form exp(x - max) / sum is several times faster than
    ``torch.softmax`` (measured with torch 2.13, one thread); the max is detached because the softmax
    does not depend on the shift, so the gradient is the softmax's own.
    """
    if x.is_cuda or x.shape[-1] > 64:
        return torch.softmax(x, dim=-1)
    e = torch.exp(x - x.detach().amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)


def _use_fused(x: Tensor, n_tokens: int, d_search: int, d_value: int) -> bool:
    """Whether to call the fused SDPA kernel: always on CUDA; on CPU only for long sequences (N > 256).

    On CPU plain bmm is faster for N <= 256, and torch's CPU flash kernel needs equal query and value head widths
    (otherwise SDPA falls back to its unfused path, which is no faster than the explicit one here).
    """
    return x.is_cuda or (n_tokens > 256 and d_search == d_value)


def _attend(
    q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None, dropout_p: float, need_weights: bool, fused: bool
) -> tuple[Tensor, Tensor | None]:
    """softmax(q kᵀ / sqrt(d_k) + mask) v.

    ``q``, ``k`` are (B, H, N, d_k); ``v`` is (B, H, N, d_v) or (B, N, d_v) shared by all H heads.
    Returns the output (B, H, N, d_v) and, if ``need_weights``, the attention A (B, H, N, N).
    With ``fused`` and no weights asked for, this is one ``scaled_dot_product_attention`` call;
    otherwise the logits are formed explicitly and a shared ``v`` is read by one bmm over (B, H*N, N).
    """
    B, H, N, _ = q.shape
    shared = v.dim() == 3
    scale = q.shape[-1] ** -0.5
    if fused and not need_weights:
        if shared:
            v = v.unsqueeze(1).expand(B, H, N, v.shape[-1])  # (B, H, N, d_v), a view
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, scale=scale)
        return out, None
    logits = torch.matmul(q * scale, k.transpose(-1, -2))  # (B, H, N, N); scaling q is the smaller pass
    mask = _as_logit_mask(attn_mask, logits.dtype)
    if mask is not None:
        logits = logits + mask
    attn = _softmax(logits)
    dropped = F.dropout(attn, dropout_p) if dropout_p > 0 else attn
    if shared:
        out = torch.bmm(dropped.reshape(B, H * N, N), v).view(B, H, N, v.shape[-1])  # one bmm for all heads
    else:
        out = torch.matmul(dropped, v)  # (B, H, N, d_v)
    return out, (attn if need_weights else None)


class _Retrieval(torch.autograd.Function):
    """Value scores and their weighted sum, with a hand-written backward (see :func:`_retrieve`)."""

    @staticmethod
    def forward(ctx, z: Tensor, u: Tensor, hard: bool) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        logits = torch.matmul(z, u.unsqueeze(-1)).squeeze(-1)  # (B, S, N, R): one batched dot per token
        soft = _softmax(logits)  # (B, S, N, R); short rows, see _softmax
        c = F.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft.dtype) if hard else soft
        o = torch.mul(z, c.unsqueeze(-1)).sum(-2)
        ctx.save_for_backward(z, u, soft, c)
        return o, c

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_o: Tensor, grad_c: Tensor) -> tuple[Tensor, Tensor, None]:  # type: ignore[override]
        z, u, soft, c = ctx.saved_tensors
        scratch = torch.empty_like(z)  # one (B, S, N, R, d_v) buffer serves the whole backward
        # dL/dc_ij = <dL/do_i, Z_ij> (+ the gradient reaching the returned scores); straight-through for "hard"
        g = torch.matmul(z, grad_o.unsqueeze(-1)).squeeze(-1) + grad_c  # (B, S, N, R)
        grad_logits = soft * (g - (g * soft).sum(-1, keepdim=True))  # softmax Jacobian
        grad_u = torch.mul(z, grad_logits.unsqueeze(-1), out=scratch).sum(-2)  # sum_j dl_ij Z_ij
        grad_z = torch.mul(c.unsqueeze(-1), grad_o.unsqueeze(-2), out=scratch)  # c_ij dL/do_i ...
        grad_z.addcmul_(grad_logits.unsqueeze(-1), u.unsqueeze(-2))  # ... + dl_ij u_i
        return grad_z, grad_u, None


def _retrieve(z: Tensor, u: Tensor, hard: bool = False) -> tuple[Tensor, Tensor]:
    """Retrieval competition of Eqs. 11-13: value scores c_ij = softmax_j <u_i, Z_ij> and o_i = sum_j c_ij Z_ij.

    ``z`` (B, S, N, R, d_v) holds every pairing Z_ij; ``u`` (B, S, N, d_v) is the retrieval query already mapped
    into value space (q̄_i Wk̄ᵀ / sqrt(d_r)). Returns ``o`` (B, S, N, d_v) and ``c`` (B, S, N, R); with ``hard``,
    ``c`` is the one-hot argmax in the forward pass and the gradient is the soft scores' (straight-through).

    Autograd through the plain expressions allocates and re-reads several (B, S, N, R, d_v) temporaries; this
    version computes the dot products as batched matrix-vector products and writes the whole backward through
    one scratch tensor of that size: forward plus backward 1.5x (S = R = 2) to 2.4x (S = R = 8) faster on CPU
    at B = 32, N = 128, D = 256.
    It supports one backward pass (no double backward).
    """
    return _Retrieval.apply(z, u, hard)


# ----------------------------------------------------------------------------- modules


class CompositionalAttention(nn.Module):
    """Compositional attention with ``S`` searches and ``R`` retrievals (arXiv:2110.09419).

    Parameters
    ----------
    d_model : int
        Model width D of the input and output.
    n_searches : int
        Number of searches S (query/key pairs).
    n_retrievals : int
        Number of retrievals R (value projections).
    d_search : int, optional
        Search head width d_k; default ``D // S``.
    d_value : int, optional
        Retrieval (value) head width d_v; default ``D // R``.
    d_retrieval : int, optional
        Width d_r of the retrieval query q̄ and key k̄; default ``D // S`` (as the toy code's d_r = d_k).
    bias : bool
        Add a bias to every Linear. With False the parameters are exactly Wq, Wk, Wv, Wq̄, Wk̄, Wo.
    dropout : float
        Attention dropout on the search maps A (training only).
    score : {"dot"}
        Retrieval scoring: scaled dot product <q̄_i, k̄_ij> / sqrt(d_r), as in the paper. (The SCAN
        code's linear score on [q̄_i ; Z_ij] is not offered: its q̄ term is constant over j and cancels
        in the softmax over retrievals.)
    pairing : {"learned", "identity", "hard"} or sequence of int
        ``"learned"``: the paper's soft value scores c. ``"identity"``: c_ij = [i == j] (needs S == R;
        then the module is exactly multi-head attention, the retrieval query/key are unused).
        ``"hard"``: c is the one-hot argmax of the learned scores in the forward pass, with the
        straight-through gradient of the soft scores (an option, not in the paper). A sequence
        ``(j*(0), ..., j*(S-1))`` fixes search i to retrieval j*(i) for every token.

    Shapes
    ------
    ``forward(x)`` maps (B, N, D) to (B, N, D). With ``return_attention=True`` it returns
    ``(out, {"A": (B, S, N, N), "c": (B, N, S, R)})``.

    Examples
    --------
    >>> import torch
    >>> m = CompositionalAttention(32, n_searches=2, n_retrievals=4)
    >>> out, maps = m(torch.zeros(3, 5, 32), return_attention=True)
    >>> tuple(out.shape), tuple(maps["A"].shape), tuple(maps["c"].shape)
    ((3, 5, 32), (3, 2, 5, 5), (3, 5, 2, 4))
    """

    def __init__(
        self,
        d_model: int,
        n_searches: int,
        n_retrievals: int,
        *,
        d_search: int | None = None,
        d_value: int | None = None,
        d_retrieval: int | None = None,
        bias: bool = False,
        dropout: float = 0.0,
        score: str = "dot",
        pairing: str | Sequence[int] = "learned",
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if score != "dot":
            raise ValueError(f"score must be 'dot', got {score!r}")
        D, S, R = d_model, n_searches, n_retrievals
        dk, dv, dr = _compositional_widths(D, S, R, d_search, d_value, d_retrieval)
        self.d_model, self.n_searches, self.n_retrievals = D, S, R
        self.d_search, self.d_value, self.d_retrieval = dk, dv, dr
        self.dropout = float(dropout)
        self.score = score
        self.pairing = self._parse_pairing(pairing, S, R)

        self.q_proj = nn.Linear(D, S * dk, bias=bias)  # Wq_1..Wq_S
        self.k_proj = nn.Linear(D, S * dk, bias=bias)  # Wk_1..Wk_S
        self.v_proj = nn.Linear(D, R * dv, bias=bias)  # Wv_1..Wv_R
        self.retrieval_q_proj = nn.Linear(D, S * dr, bias=bias)  # Wq̄_1..Wq̄_S
        self.retrieval_k_proj = nn.Linear(dv, dr, bias=bias)  # Wk̄, shared by all (i, j)
        self.out_proj = nn.Linear(S * dv, D, bias=bias)  # Wo, Eq. 14

    @staticmethod
    def _parse_pairing(pairing: str | Sequence[int], S: int, R: int) -> str | tuple[int, ...]:
        if isinstance(pairing, str):
            if pairing == "identity":
                if S != R:
                    raise ValueError(f"pairing='identity' needs n_searches == n_retrievals, got S={S}, R={R}")
                return tuple(range(S))
            if pairing not in ("learned", "hard"):
                raise ValueError(
                    f"pairing must be 'learned', 'identity', 'hard' or a sequence of ints, got {pairing!r}")
            return pairing
        index = tuple(int(j) for j in pairing)
        if len(index) != S or any(not 0 <= j < R for j in index):
            raise ValueError(f"a fixed pairing needs {S} retrieval indices in [0, {R}), got {pairing!r}")
        return index

    parameter_count = staticmethod(compositional_parameter_count)

    def extra_repr(self) -> str:
        return (
            f"d_model={self.d_model}, n_searches={self.n_searches}, n_retrievals={self.n_retrievals}, "
            f"d_search={self.d_search}, d_value={self.d_value}, d_retrieval={self.d_retrieval}, "
            f"pairing={self.pairing!r}"
        )

    @staticmethod
    def _project(
        x: Tensor, layers: tuple[nn.Linear, ...], extra: tuple[Tensor, Tensor | None] | None = None
    ) -> list[Tensor]:
        """Apply several Linear layers to ``x`` with one matmul (weights concatenated on the fly).

        ``extra`` is one more (weight (out, D), bias (out,) or None) map computed in the same matmul and returned
        last; its bias is used only when the layers have biases.
        """
        weights, biases = [lin.weight for lin in layers], [lin.bias for lin in layers]
        if extra is not None:
            weights.append(extra[0])
            biases.append(extra[1])
        bias = None if biases[0] is None else torch.cat(biases)
        return list(F.linear(x, torch.cat(weights), bias).split([w.shape[0] for w in weights], dim=-1))

    @staticmethod
    def _heads(t: Tensor, n: int) -> Tensor:
        B, N, width = t.shape
        return t.view(B, N, n, width // n).transpose(1, 2)  # (B, N, n*d) -> (B, n, N, d)

    def forward(
        self, x: Tensor, attn_mask: Tensor | None = None, return_attention: bool = False
    ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """Apply compositional attention.

        Parameters
        ----------
        x : Tensor, shape (B, N, D)
        attn_mask : Tensor, optional
            Shape (N, N), (B, N, N) or (B, S, N, N); bool (True = may attend) or additive float.
        return_attention : bool
            Also return ``{"A": (B, S, N, N), "c": (B, N, S, R)}``.

        Returns
        -------
        Tensor of shape (B, N, D), or ``(out, maps)`` when ``return_attention``.
        """
        _check_input(x, self.d_model)
        B, N, _ = x.shape
        S, R, dv, dr = self.n_searches, self.n_retrievals, self.d_value, self.d_retrieval
        attn_mask = _check_mask(attn_mask, N)
        p = self.dropout if self.training else 0.0

        fused = _use_fused(x, N, self.d_search, dv if isinstance(self.pairing, tuple) else R * dv)

        if isinstance(self.pairing, tuple):
            # fixed pairing: search i only ever reads retrieval j*(i), so only those values are aggregated
            q, k, v = self._project(x, (self.q_proj, self.k_proj, self.v_proj))
            index = torch.as_tensor(self.pairing, device=x.device)
            v_fixed = v.view(B, N, R, dv).index_select(2, index).transpose(1, 2)  # (B, S, N, d_v)
            o, attn = _attend(self._heads(q, S), self._heads(k, S), v_fixed, attn_mask, p, return_attention, fused)
            out = self.out_proj(o.transpose(1, 2).reshape(B, N, S * dv))  # (B, N, S*d_v) -> (B, N, D)
            if not return_attention:
                return out
            c = F.one_hot(index, R).to(x.dtype).expand(B, N, S, R)  # (B, N, S, R)
            return out, {"A": attn, "c": c}

        # the retrieval query goes straight to the value space: u_i = q̄_i Wk̄ᵀ / sqrt(d_r), so that the logit
        # <q̄_i, Z_ij Wk̄ᵀ> / sqrt(d_r) is <u_i, Z_ij>; the product of the two weights is taken once per call
        w_u = torch.matmul(self.retrieval_q_proj.weight.view(S, dr, -1).transpose(1, 2),
                           self.retrieval_k_proj.weight).transpose(1, 2) * dr**-0.5  # (S, d_v, D)
        b_u = None
        if self.retrieval_q_proj.bias is not None:
            b_u = torch.matmul(self.retrieval_q_proj.bias.view(S, dr), self.retrieval_k_proj.weight) * dr**-0.5
            b_u = b_u.reshape(S * dv)
        q, k, v, u = self._project(x, (self.q_proj, self.k_proj, self.v_proj), extra=(w_u.reshape(S * dv, -1), b_u))
        # all S x R pairings in one attention call: values [V_1 | ... | V_R] shared by the S searches
        z, attn = _attend(self._heads(q, S), self._heads(k, S), v, attn_mask, p, return_attention, fused)
        z = z.view(B, S, N, R, dv)  # (B, S, N, R*d_v) -> Z_ij[n] at z[b, i, n, j]
        o, c = _retrieve(z, self._heads(u, S), hard=self.pairing == "hard")  # (B, S, N, d_v), (B, S, N, R)
        out = self.out_proj(o.transpose(1, 2).reshape(B, N, S * dv))  # (B, N, S*d_v) -> (B, N, D)
        if not return_attention:
            return out
        return out, {"A": attn, "c": c.transpose(1, 2)}  # c: (B, N, S, R)


class MultiHeadAttention(nn.Module):
    """Multi-head attention baseline with the conventions of :class:`CompositionalAttention`.

    Head h ties search h (Wq_h, Wk_h) to retrieval h (Wv_h) for good. Parameters ``q_proj``,
    ``k_proj``, ``v_proj``, ``out_proj`` (Wq, Wk, Wv, Wo); count ``2 H D d_k + H D d_v + H d_v D``.

    Parameters
    ----------
    d_model : int
        Model width D.
    n_heads : int
        Number of heads H.
    d_search, d_value : int, optional
        Per-head query/key and value widths; default ``D // H``.
    bias : bool
        Add a bias to every Linear.
    dropout : float
        Attention dropout on A (training only).

    Shapes
    ------
    (B, N, D) -> (B, N, D); with ``return_attention=True``: ``(out, {"A": (B, H, N, N)})``.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        d_search: int | None = None,
        d_value: int | None = None,
        bias: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive_ints(d_model=d_model, n_heads=n_heads)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        D, H = d_model, n_heads
        dk = _head_width(d_search, D, H, "d_search", "n_heads")
        dv = _head_width(d_value, D, H, "d_value", "n_heads")
        self.d_model, self.n_heads, self.d_search, self.d_value = D, H, dk, dv
        self.dropout = float(dropout)
        self.q_proj = nn.Linear(D, H * dk, bias=bias)
        self.k_proj = nn.Linear(D, H * dk, bias=bias)
        self.v_proj = nn.Linear(D, H * dv, bias=bias)
        self.out_proj = nn.Linear(H * dv, D, bias=bias)

    parameter_count = staticmethod(mha_parameter_count)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}, d_search={self.d_search}, d_value={self.d_value}"

    def forward(
        self, x: Tensor, attn_mask: Tensor | None = None, return_attention: bool = False
    ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """Apply multi-head attention; same arguments and mask convention as the compositional module."""
        _check_input(x, self.d_model)
        B, N, _ = x.shape
        H, dv = self.n_heads, self.d_value
        attn_mask = _check_mask(attn_mask, N)
        q, k, v = CompositionalAttention._project(x, (self.q_proj, self.k_proj, self.v_proj))
        q, k, v = (CompositionalAttention._heads(t, H) for t in (q, k, v))  # (B, H, N, d)
        p = self.dropout if self.training else 0.0
        o, attn = _attend(q, k, v, attn_mask, p, return_attention, _use_fused(x, N, self.d_search, dv))
        out = self.out_proj(o.transpose(1, 2).reshape(B, N, H * dv))  # (B, N, H*d_v) -> (B, N, D)
        if not return_attention:
            return out
        return out, {"A": attn}

