"""The tangent kernel of a network and its statistics (feature-alignment card §2; the same kernel serves the
gradient-starvation card's NTK at init, §2.4 there, with ``centered=False``).

Tangent features of an input x are the gradients of the c outputs with respect to the P trainable parameters,
``Φ(x) = ∂f(x)/∂w`` (c, P); the tangent kernel on a probe ``X`` of n examples is the Gram matrix of all n·c feature
rows, ``K = J Jᵀ`` (n·c, n·c). **Ordering: examples major, outputs minor** — row/column ``i·c + a`` belongs to example
i, output a, so a target matrix ``Y`` (n, c) pairs with ``Y.reshape(-1)``. (The reference code and nngeometry use the
transposed, output-major order ``a·n + i``; the two differ by a permutation and give the same alignment and spectrum.)

Centring (card §2.2): the tangent features are centred over the examples, per output,
``Jc[i, a] = J[i, a] − mean_j J[j, a]``, so ``Kc = Jc Jcᵀ = (H ⊗ I_c) K (H ⊗ I_c)`` with ``H = I_n − 11ᵀ/n`` (in this
examples-major order). Alignment, effective rank and cumulative spectra follow §2.2-2.3.

Two routes give the same kernel. When every trainable parameter sits in an ``nn.Linear`` applied once per forward to
a batch of vectors (the MLPs of the dashboard), a layer's tangent features factor into the backpropagated signal and
the layer's input, ``∂f_a(x_i)/∂W_l = δ_l(i, a) h_{l−1}(i)ᵀ``, so its block is
``K_l[(i,a),(j,b)] = ⟨δ_l(i,a), δ_l(j,b)⟩ · (⟨h_{l−1}(i), h_{l−1}(j)⟩ + 1)`` (the 1 from the bias): one forward and c
backward passes, and the n·c × P Jacobian is never formed. Every other model goes through ``torch.func``
(``vmap(jacrev(functional_call))``). ``tests/alignment`` checks both routes against a kernel built row by row with
``autograd.grad`` and against nngeometry's dense Gram matrix.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Literal, overload

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

__all__ = ["tangent_kernel", "center_kernel", "centered_alignment", "alignment_numerator", "effective_rank",
           "cumulative_spectrum"]


def _layer_groups(model: nn.Module, layers: str | Sequence[str] | None) -> dict[str, list[str]]:
    """Trainable parameter names per kernel block: ``{"": all}`` for ``None``, else module name -> parameter names."""
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("the model has no parameter that requires grad: its tangent kernel is empty")
    if layers is None:
        return {"": trainable}
    if isinstance(layers, str):
        if layers != "each":
            raise ValueError(f"layers must be None, 'each' or a sequence of module names, got {layers!r}")
        groups: dict[str, list[str]] = {}
        for name in trainable:
            owner = name.rpartition(".")[0]  # the module that holds the parameter directly ("" for the root)
            groups.setdefault(owner, []).append(name)
        return groups
    modules = dict(model.named_modules())
    groups, seen = {}, {}
    for layer in layers:
        if layer not in modules:
            raise ValueError(f"no module named {layer!r} in the model; known: {sorted(modules)}")
        prefix = f"{layer}." if layer else ""
        names = [prefix + n for n, p in modules[layer].named_parameters() if p.requires_grad]
        if not names:
            raise ValueError(f"module {layer!r} has no parameter that requires grad")
        for n in names:
            if n in seen:
                raise ValueError(f"parameter {n!r} belongs to both {seen[n]!r} and {layer!r}: blocks must not overlap")
            seen[n] = layer
        groups[layer] = names
    return groups


def _jacobian_fn(model: nn.Module, params: dict[str, Tensor]):
    """``x_chunk (b, ...) -> {name: (b, c, numel)}``: per-example Jacobians of the flattened outputs."""

    def one(p: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(model, p, (x.unsqueeze(0),)).reshape(-1)  # (c,); an (n,) output gives c = 1

    jac = vmap(jacrev(one), in_dims=(None, 0))

    def chunk_jacobian(x: Tensor) -> dict[str, Tensor]:
        out = jac(params, x)
        return {name: j.reshape(j.shape[0], j.shape[1], -1) for name, j in out.items()}

    return chunk_jacobian


def _features(jac: dict[str, Tensor], names: list[str]) -> Tensor:
    """Tangent features (b, c, P_block) of one block: its parameters' Jacobians side by side."""
    return torch.cat([jac[n] for n in names], dim=2) if len(names) > 1 else jac[names[0]]


def center_kernel(K: Tensor, n: int) -> Tensor:
    """``(H ⊗ I_c) K (H ⊗ I_c)``, ``H = I_n − 11ᵀ/n``: the kernel of tangent features centred over examples.

    Parameters
    ----------
    K : Tensor, (n·c, n·c)
        Examples-major kernel (row ``i·c + a``).
    n : int
        Number of examples; ``c = K.shape[0] // n``.

    Returns
    -------
    Tensor, (n·c, n·c)
        The centred kernel (card §2.2); a projection, so centring twice changes nothing.
    """
    m = K.shape[0]
    if K.dim() != 2 or K.shape[1] != m or n < 1 or m % n:
        raise ValueError(f"K must be square with a side divisible by n = {n}, got shape {tuple(K.shape)}")
    c = m // n
    K4 = K.reshape(n, c, n, c)
    K4 = K4 - K4.mean(dim=0, keepdim=True)
    K4 = K4 - K4.mean(dim=2, keepdim=True)
    return K4.reshape(m, m)


@overload
def tangent_kernel(model: nn.Module, X: Tensor, *, centered: bool = ..., layers: None = ...,
                   chunk_size: int | None = ...) -> Tensor: ...


@overload
def tangent_kernel(model: nn.Module, X: Tensor, *, centered: bool = ..., layers: Literal["each"] | Sequence[str],
                   chunk_size: int | None = ...) -> dict[str, Tensor]: ...


def tangent_kernel(model: nn.Module, X: Tensor, *, centered: bool = True, layers: str | Sequence[str] | None = None,
                   chunk_size: int | None = None) -> Tensor | dict[str, Tensor]:
    """The tangent kernel ``K = J Jᵀ`` of ``model`` on the probe ``X``, examples major, outputs minor.

    ``K[i·c + a, j·c + b] = ⟨∂f_a(x_i)/∂w, ∂f_b(x_j)/∂w⟩`` over the parameters that require grad (others are held
    fixed and left out). For MLPs built from ``nn.Linear`` layers the kernel comes from the layers' factorised
    features (module docstring: one forward, c backward passes, no Jacobian); otherwise per-example Jacobians come
    from ``torch.func`` (``vmap(jacrev(functional_call))``), by chunks of examples.

    Parameters
    ----------
    model : nn.Module
        Maps a batch (b, ...) to outputs (b, c), (b,) (read as c = 1) or (b, ...) (flattened per example to c
        values). Used in its **current mode**: put a model with dropout or BatchNorm in ``eval()`` first (card §8),
        since each example goes through the model alone; BatchNorm in train mode cannot run under ``vmap``.
    X : Tensor, (n, ...)
        Probe inputs, on the model's device; not differentiated.
    centered : bool, default True
        Centre the tangent features over the examples, per output (card §2.2): returns ``Jc Jcᵀ`` with
        ``Jc[i, a] = J[i, a] − mean_j J[j, a]``, i.e. ``(H ⊗ I_c) K (H ⊗ I_c)`` (:func:`center_kernel`). ``False``
        gives the raw NTK ``J Jᵀ`` (the gradient-starvation card's kernel at init).
    layers : None, "each" or sequence of str
        ``None``: one kernel over all trainable parameters. ``"each"``: a dict, one block per module that holds
        trainable parameters directly (key: its name in ``named_modules()``, ``""`` for the root), in parameter
        order; the blocks sum to the full kernel (card §2.1 layer decomposition). A sequence of module names: a dict,
        one block per named module from all the trainable parameters under it (these must not overlap; the blocks
        sum to the full kernel when they cover every trainable parameter).
    chunk_size : int or None, default None
        Examples per Jacobian evaluation on the ``torch.func`` route (the ``nn.Linear`` route never forms the
        Jacobian and ignores it); ``None`` takes the whole probe at once. With chunks of b examples, peak
        memory is at most ``3·b·c·P`` Jacobian entries (two chunks' features, plus one chunk's raw Jacobian while it
        is laid out) plus the ``(n·c)²`` kernel per block, at the price of recomputing chunk Jacobians:
        ``q(q+1)/2`` evaluations for ``q = ceil(n / b)`` chunks (2-500-1 MLP, n = 300: ~0.02 s in one chunk,
        ~0.05 s in chunks of 50, ~1 s in chunks of 10, one CPU thread).

    Returns
    -------
    Tensor, (n·c, n·c), or dict[str, Tensor] of such
        Symmetric PSD, in the parameters' dtype.
    """
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    X = X.detach()
    n = X.shape[0]
    if n < 1:
        raise ValueError("X holds no example")
    groups = _layer_groups(model, layers)
    blocks = _linear_blocks(model, X, groups)
    if blocks is None:
        blocks = _func_blocks(model, X, groups, chunk_size)
    if centered:
        blocks = {key: center_kernel(K, n) for key, K in blocks.items()}
    if layers is None:
        return blocks[""]
    return blocks


_EXAMPLE_COUPLING = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm,
                     nn.modules.dropout._DropoutNd, nn.AlphaDropout)


def _linear_blocks(model: nn.Module, X: Tensor, groups: dict[str, list[str]]) -> dict[str, Tensor] | None:
    """Kernel blocks from the factorisation of ``nn.Linear`` features (module docstring), or None where it does not
    apply: a trainable parameter outside an ``nn.Linear``, a layer applied more than once or to more than a batch of
    vectors, an output that is not one row per example, or a module in training mode that couples or randomises
    examples (BatchNorm, InstanceNorm, dropout), which the per-example ``torch.func`` route handles or refuses.

    Returns
    -------
    dict[str, Tensor] or None
        ``{group: (n·c, n·c)}``, uncentred, examples major.
    """
    modules = dict(model.named_modules())
    if any(isinstance(m, _EXAMPLE_COUPLING) and m.training for m in modules.values()):
        return None
    owners: dict[str, nn.Linear] = {}
    for names in groups.values():
        for name in names:
            owner, _, leaf = name.rpartition(".")
            module = modules.get(owner)
            if not isinstance(module, nn.Linear) or leaf not in ("weight", "bias"):
                return None
            owners[owner] = module
    n = X.shape[0]
    seen: dict[str, list[tuple[Tensor, Tensor]]] = {name: [] for name in owners}

    def recorder(name: str):
        def hook(module: nn.Module, inputs: tuple, output: Tensor) -> None:
            seen[name].append((inputs[0], output))
        return hook

    handles = [module.register_forward_hook(recorder(name)) for name, module in owners.items()]
    try:
        with torch.enable_grad():
            out = model(X)
    finally:
        for handle in handles:
            handle.remove()
    if out.dim() == 0 or out.shape[0] != n or not out.requires_grad:
        return None
    for calls in seen.values():
        if len(calls) != 1 or calls[0][0].dim() != 2 or calls[0][0].shape[0] != n or not calls[0][1].requires_grad:
            return None
    out = out.reshape(n, -1)
    c = out.shape[1]
    names = list(owners)
    zs = [seen[name][0][1] for name in names]
    deltas: list[list[Tensor]] = [[] for _ in names]  # per layer, per output a: (n, d_out) = ∂f_a(x_i)/∂z_l(i)
    for a in range(c):
        grads = torch.autograd.grad(out[:, a].sum(), zs, retain_graph=a < c - 1, allow_unused=True)
        for slot, g, z in zip(deltas, grads, zs):
            slot.append(torch.zeros_like(z) if g is None else g)
    layer_blocks: dict[str, Tensor] = {}
    for name, slot in zip(names, deltas):
        module, h = owners[name], seen[name][0][0].detach()
        D = torch.stack(slot, dim=1).reshape(n * c, -1)  # (n·c, d_out), examples major
        inputs = h.new_zeros(n, n)  # ⟨h_i, h_j⟩ for the weight, + 1 for the bias, over the trainable ones
        if module.weight.requires_grad:
            inputs = inputs + h @ h.T
        if module.bias is not None and module.bias.requires_grad:
            inputs = inputs + 1.0
        layer_blocks[name] = ((D @ D.T).reshape(n, c, n, c) * inputs[:, None, :, None]).reshape(n * c, n * c)
    blocks = {}
    for key, names_in_group in groups.items():
        members = dict.fromkeys(name.rpartition(".")[0] for name in names_in_group)
        blocks[key] = sum(layer_blocks[m] for m in members)
    return blocks


def _func_blocks(model: nn.Module, X: Tensor, groups: dict[str, list[str]],
                 chunk_size: int | None) -> dict[str, Tensor]:
    """Kernel blocks from per-example Jacobians through ``torch.func``, by chunks of examples (any model).

    Returns
    -------
    dict[str, Tensor]
        ``{group: (n·c, n·c)}``, uncentred, examples major.
    """
    n = X.shape[0]
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    chunk_jacobian = _jacobian_fn(model, params)
    b = n if chunk_size is None else min(chunk_size, n)
    starts = list(range(0, n, b))

    def chunk_features(start: int) -> dict[str, Tensor]:
        jac = chunk_jacobian(X[start:start + b])  # freed on return: only the per-block features stay
        return {key: _features(jac, names) for key, names in groups.items()}

    blocks: dict[str, Tensor] = {}
    for qi, si in enumerate(starts):
        feats_i = chunk_features(si)
        first = next(iter(feats_i.values()))
        c = first.shape[1]
        if not blocks:
            blocks = {key: first.new_zeros(n * c, n * c) for key in groups}
        for sj in starts[qi:]:
            feats_j = feats_i if sj == si else chunk_features(sj)
            for key in groups:
                fi, fj = feats_i[key], feats_j[key]
                g = torch.einsum("iap,jbp->iajb", fi, fj).reshape(fi.shape[0] * c, fj.shape[0] * c)
                rows, cols = slice(si * c, si * c + g.shape[0]), slice(sj * c, sj * c + g.shape[1])
                blocks[key][rows, cols] = g
                if sj != si:
                    blocks[key][cols, rows] = g.T
            del feats_j
        del feats_i
    return blocks


def _targets(Y: Tensor, m: int) -> tuple[Tensor, int]:
    """Centred targets flattened examples-major (length m), and n."""
    if Y.dim() == 1:
        Y = Y.unsqueeze(1)
    if Y.dim() != 2:
        raise ValueError(f"Y must be (n,) or (n, c), got shape {tuple(Y.shape)}")
    n, c = Y.shape
    if n * c != m:
        raise ValueError(f"Y of shape {tuple(Y.shape)} does not match a kernel of side {m} (= n·c expected)")
    Yc = Y - Y.mean(dim=0, keepdim=True)
    return Yc.reshape(-1), n


def centered_alignment(K: Tensor, Y: Tensor) -> float:
    """Centred kernel–target alignment ``A(K) = yᵀ Kc y / (‖Kc‖_F ‖y‖²)`` (card §2.2; = CKA(K, y yᵀ)).

    Parameters
    ----------
    K : Tensor, (n·c, n·c)
        Tangent kernel, examples major (:func:`tangent_kernel`, centred or not: it is centred here, and centring an
        already-centred kernel changes nothing).
    Y : Tensor, (n, c) or (n,)
        Targets: one-hot labels for c outputs, or one value per example (±1 or 0/1) for a scalar-output kernel
        (c = 1). Centred here per column, ``Yc = Y − column means``, then ``y = Yc.reshape(-1)`` (examples major).

    Returns
    -------
    float
        In [0, 1] for a PSD kernel; 1 for ``K = y yᵀ``; invariant to ``K -> sK`` (s > 0) and to permuting examples
        consistently in K and Y. ``nan`` when ``Kc = 0`` or ``y = 0`` (e.g. a single class): the ratio is undefined.
    """
    y, n = _targets(Y.to(K.dtype), K.shape[0])
    Kc = center_kernel(K, n)
    denom = torch.linalg.matrix_norm(Kc) * (y @ y)
    if float(denom) == 0.0:
        return math.nan
    return float((y @ Kc @ y) / denom)


def alignment_numerator(model: nn.Module, X: Tensor, Y: Tensor) -> float:
    """``yᵀ Kc y = ‖∇_w Σ_{i,a} Yc[i, a] f_a(x_i)‖²`` with one forward and one backward pass (card §2.2, check 3).

    No kernel is built and no centring of features is needed: ``Yc`` sums to zero over the examples, so the
    mean tangent feature drops out.

    Parameters
    ----------
    model : nn.Module
        As in :func:`tangent_kernel` (one batched forward here: use ``eval()`` for dropout/BatchNorm models).
    X : Tensor, (n, ...)
        Probe inputs.
    Y : Tensor, (n, c) or (n,)
        Targets as in :func:`centered_alignment`; centred per column here.

    Returns
    -------
    float
        The numerator of :func:`centered_alignment` for ``tangent_kernel(model, X)``; gradients of the model's
        parameters (``.grad``) are left untouched.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no parameter that requires grad")
    out = model(X.detach())
    out = out.reshape(out.shape[0], -1)  # (n, c)
    Yt = Y.to(out.dtype)
    Yt = Yt.unsqueeze(1) if Yt.dim() == 1 else Yt
    if Yt.shape != out.shape:
        raise ValueError(f"Y of shape {tuple(Y.shape)} does not match the outputs {tuple(out.shape)}")
    Yc = Yt - Yt.mean(dim=0, keepdim=True)
    grads = torch.autograd.grad((Yc * out).sum(), params, allow_unused=True)
    return float(sum((g * g).sum() for g in grads if g is not None))


def _spectrum(eigenvalues: Tensor | Sequence[float]) -> Tensor:
    """Eigenvalues as float64, negatives from round-off clipped to 0, sorted in decreasing order."""
    lam = torch.as_tensor(eigenvalues).detach().to(torch.float64).reshape(-1).clamp_min(0.0)
    if lam.numel() == 0 or float(lam.sum()) <= 0.0:
        raise ValueError("the spectrum needs at least one positive eigenvalue")
    return torch.sort(lam, descending=True).values


def effective_rank(eigenvalues: Tensor | Sequence[float]) -> float:
    """Roy–Vetterli effective rank ``exp(−Σ_k p_k log p_k)``, ``p_k = λ_k / Σ λ`` (card §2.3).

    Parameters
    ----------
    eigenvalues : Tensor or sequence of float, (m,)
        Spectrum of a PSD kernel, any order; values below 0 (round-off) count as 0, and ``0 log 0 = 0``.

    Returns
    -------
    float
        In [1, m]: m for m equal eigenvalues, 1 for a rank-one kernel.
    """
    lam = _spectrum(eigenvalues)
    p = lam / lam.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * torch.log(p)).sum()))


@overload
def cumulative_spectrum(eigenvalues: Tensor | Sequence[float], k: int) -> float: ...


@overload
def cumulative_spectrum(eigenvalues: Tensor | Sequence[float], k: Sequence[int]) -> list[float]: ...


def cumulative_spectrum(eigenvalues: Tensor | Sequence[float], k: int | Sequence[int]) -> float | list[float]:
    """Cumulative spectral mass ``T_k = Σ_{j≤k} λ_j / Σ λ`` over the k largest eigenvalues (card §2.3).

    Parameters
    ----------
    eigenvalues : Tensor or sequence of float, (m,)
        Spectrum, any order (sorted in decreasing order here; ``eigvalsh`` returns it increasing); negatives count as 0.
    k : int or sequence of int
        Number of leading eigenvalues, >= 0; ``k >= m`` gives 1 (e.g. the card's k = 40, 80, 160).

    Returns
    -------
    float, or list of float (one per k)
        In [0, 1], non-decreasing in k.
    """
    lam = _spectrum(eigenvalues)
    cum = torch.cumsum(lam, 0) / lam.sum()
    single = not isinstance(k, Sequence)
    values = []
    for kk in [k] if single else list(k):
        try:
            kk = -1 if isinstance(kk, bool) else operator.index(kk)
        except TypeError:
            kk = -1
        if kk < 0:
            raise ValueError(f"k must be an int >= 0, got {kk!r}")
        values.append(0.0 if kk == 0 else min(float(cum[min(kk, lam.numel()) - 1]), 1.0))
    return values[0] if single else values
