"""Correctness checks 1-9 of ``docs/papers/attention.md §6`` on the compositional-attention module."""

from __future__ import annotations

import pytest
import torch

from neurodyn.attention import (
    CompositionalAttention,
    MultiHeadAttention,
    compositional,
    compositional_parameter_count,
    mha_parameter_count,
)

torch.set_num_threads(1)
F64 = torch.float64


def _init(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Fill every parameter from a private generator (the default init reads the global RNG)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * p.shape[-1] ** -0.5)
    return module


def _comp(*args, seed: int = 0, **kwargs) -> CompositionalAttention:
    return _init(CompositionalAttention(*args, **kwargs).to(F64), seed)


def _x(b: int, n: int, d: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(b, n, d, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _torch_mha_from_weights(wq, wk, wv, wo, d: int, h: int, dtype=F64) -> torch.nn.MultiheadAttention:
    ref = torch.nn.MultiheadAttention(d, h, batch_first=True, bias=False).to(dtype)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([wq, wk, wv], 0))  # nn.Linear weights are already out x in
        ref.out_proj.weight.copy_(wo)
    return ref.eval()


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("masked", [False, True])
def test_identity_pairing_equals_torch_multihead_attention(dtype, tol, masked):
    # attention.md §6 check 1: S = R = H, d_k = d_v = D/H, c forced to the identity -> nn.MultiheadAttention
    D, H, N = 12, 3, 7
    comp = _comp(D, H, H, pairing="identity").to(dtype)
    ref = _torch_mha_from_weights(comp.q_proj.weight, comp.k_proj.weight, comp.v_proj.weight,
                                  comp.out_proj.weight, D, H, dtype)
    x = _x(4, N, D).to(dtype)
    allowed = ~torch.eye(N, dtype=torch.bool) if masked else None
    out, maps = comp(x, allowed, return_attention=True)
    out_fused = comp(x, allowed)
    want, want_a = ref(x, x, x, attn_mask=None if allowed is None else ~allowed,  # torch: True = blocked
                       need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, want, atol=tol, rtol=0)
    torch.testing.assert_close(out_fused, want, atol=tol, rtol=0)
    torch.testing.assert_close(maps["A"], want_a, atol=tol, rtol=0)
    assert torch.equal(maps["c"], torch.eye(H, dtype=dtype).expand(4, N, H, H))


def test_multihead_baseline_equals_torch_multihead_attention():
    D, H = 12, 4
    mha = _init(MultiHeadAttention(D, H).to(F64), 3)
    ref = _torch_mha_from_weights(mha.q_proj.weight, mha.k_proj.weight, mha.v_proj.weight,
                                  mha.out_proj.weight, D, H)
    x = _x(2, 6, D)
    out, maps = mha(x, return_attention=True)
    want, want_a = ref(x, x, x, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, want, atol=1e-10, rtol=0)
    torch.testing.assert_close(maps["A"], want_a, atol=1e-10, rtol=0)


def test_learned_pairing_with_one_retrieval_is_mha_with_shared_values_and_no_retrieval_gradient():
    # attention.md §6 check 2: R = 1 -> c == 1 exactly, output = MHA with one shared value matrix, dWq̄ = dWk̄ = 0
    D, S, N = 12, 3, 5
    comp = _comp(D, S, 1, d_value=D // S)
    x = _x(3, N, D)
    out, maps = comp(x, return_attention=True)
    assert torch.equal(maps["c"], torch.ones(3, N, S, 1, dtype=F64))
    wv = comp.v_proj.weight  # (d_v, D), shared by every head
    ref = _torch_mha_from_weights(comp.q_proj.weight, comp.k_proj.weight, wv.repeat(S, 1),
                                  comp.out_proj.weight, D, S)
    torch.testing.assert_close(out, ref(x, x, x, need_weights=False)[0], atol=1e-10, rtol=0)
    out.square().sum().backward()
    assert torch.count_nonzero(comp.retrieval_q_proj.weight.grad) == 0
    assert torch.count_nonzero(comp.retrieval_k_proj.weight.grad) == 0


def test_hard_pairing_equals_mha_with_reassembled_values():
    # attention.md §6 check 3: c one-hot at j*(i) for all tokens -> MHA with Wv_i := Wv_{j*(i)}
    D, S, R, N = 12, 3, 4, 6
    dv = D // S  # so that the MHA oracle has d_v = D / H
    j_star = (2, 0, 2)
    comp = _comp(D, S, R, d_value=dv, pairing=j_star)
    wv = comp.v_proj.weight.view(R, dv, D)
    ref = _torch_mha_from_weights(comp.q_proj.weight, comp.k_proj.weight, wv[list(j_star)].reshape(S * dv, D),
                                  comp.out_proj.weight, D, S)
    x = _x(2, N, D)
    out, maps = comp(x, return_attention=True)
    torch.testing.assert_close(out, ref(x, x, x, need_weights=False)[0], atol=1e-10, rtol=0)
    assert torch.equal(maps["c"].argmax(-1)[0, 0], torch.tensor(j_star))
    # the straight-through "hard" mode gives one-hot scores too
    hard = _comp(D, S, R, pairing="hard")
    c = hard(x, return_attention=True)[1]["c"]
    assert torch.equal(c.sum(-1), torch.ones_like(c.sum(-1)))
    assert torch.equal(c.max(-1).values, torch.ones_like(c[..., 0]))


def test_search_rows_and_value_scores_sum_to_one_and_masked_diagonal_is_zero():
    # attention.md §6 check 4
    N = 6
    comp = _comp(12, 2, 3, bias=True)
    _, maps = comp(_x(3, N, 12), ~torch.eye(N, dtype=torch.bool), return_attention=True)
    torch.testing.assert_close(maps["A"].sum(-1), torch.ones(3, 2, N, dtype=F64), atol=1e-12, rtol=0)
    torch.testing.assert_close(maps["c"].sum(-1), torch.ones(3, N, 2, dtype=F64), atol=1e-12, rtol=0)
    assert torch.count_nonzero(maps["A"].diagonal(dim1=-2, dim2=-1)) == 0


def test_permuting_retrieval_blocks_leaves_output_unchanged_and_permutes_c():
    # attention.md §6 check 5
    D, S, R = 12, 2, 3
    comp = _comp(D, S, R, bias=True)
    dv = comp.d_value
    x = _x(2, 5, D)
    out, maps = comp(x, return_attention=True)
    perm = torch.tensor([2, 0, 1])
    with torch.no_grad():
        comp.v_proj.weight.copy_(comp.v_proj.weight.view(R, dv, D)[perm].reshape(R * dv, D))
        comp.v_proj.bias.copy_(comp.v_proj.bias.view(R, dv)[perm].reshape(R * dv))
    out2, maps2 = comp(x, return_attention=True)
    torch.testing.assert_close(out2, out, atol=1e-10, rtol=0)
    torch.testing.assert_close(maps2["c"], maps["c"][..., perm], atol=1e-10, rtol=0)


def test_permuting_search_blocks_leaves_output_unchanged():
    # attention.md §6 check 6: permute Wq_i, Wk_i, Wq̄_i and the matching row blocks of Wo (input column blocks here)
    D, S, R = 12, 3, 2
    comp = _comp(D, S, R, bias=True)
    dk, dr, dv = comp.d_search, comp.d_retrieval, comp.d_value
    x = _x(2, 5, D)
    out = comp(x)
    perm = torch.tensor([1, 2, 0])
    with torch.no_grad():
        for lin, w in ((comp.q_proj, dk), (comp.k_proj, dk), (comp.retrieval_q_proj, dr)):
            lin.weight.copy_(lin.weight.view(S, w, D)[perm].reshape(S * w, D))
            lin.bias.copy_(lin.bias.view(S, w)[perm].reshape(S * w))
        comp.out_proj.weight.copy_(comp.out_proj.weight.view(D, S, dv)[:, perm].reshape(D, S * dv))
    torch.testing.assert_close(comp(x), out, atol=1e-10, rtol=0)


def test_token_permutation_equivariance():
    # attention.md §6 check 7: no positional encoding -> out(P X) = P out(X)
    comp = _comp(12, 2, 3, bias=True)
    x = _x(2, 7, 12)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(comp(x[:, perm]), comp(x)[:, perm], atol=1e-10, rtol=0)


@pytest.mark.parametrize("D,S,R,kw", [(32, 2, 2, {}), (32, 2, 4, {}), (24, 3, 2, {"d_retrieval": 5}),
                                      (16, 4, 1, {"d_search": 3, "d_value": 7})])
@pytest.mark.parametrize("bias", [False, True])
def test_parameter_count_equals_formula(D, S, R, kw, bias):
    # attention.md §6 check 8
    comp = CompositionalAttention(D, S, R, bias=bias, **kw)
    assert sum(p.numel() for p in comp.parameters()) == compositional_parameter_count(D, S, R, bias=bias, **kw)
    dk, dv, dr = comp.d_search, comp.d_value, comp.d_retrieval
    want = 2 * S * D * dk + R * D * dv + S * D * dr + dv * dr + S * dv * D
    assert compositional_parameter_count(D, S, R, **kw) == want
    mha = MultiHeadAttention(D, S, d_search=dk, d_value=dv, bias=bias)
    assert sum(p.numel() for p in mha.parameters()) == mha_parameter_count(D, S, d_search=dk, d_value=dv, bias=bias)
    diff = compositional_parameter_count(D, S, R, **kw) - mha_parameter_count(D, S, d_search=dk, d_value=dv)
    assert diff == (R - S) * D * dv + S * D * dr + dv * dr
    names = {n for n, _ in comp.named_parameters()}
    assert len(names) == (12 if bias else 6)


def test_gradcheck_on_tiny_float64_module():
    # attention.md §6 check 9: N = 4, D = 6, S = 2, R = 3
    comp = _comp(6, 2, 3, bias=True)
    x = _x(2, 4, 6).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: comp(t, ~torch.eye(4, dtype=torch.bool)), (x,))
    params = tuple(comp.parameters())

    def by_params(*ps):
        return torch.func.functional_call(comp, dict(zip([n for n, _ in comp.named_parameters()], ps)), (x.detach(),))

    assert torch.autograd.gradcheck(by_params, tuple(p.detach().clone().requires_grad_(True) for p in params))


@pytest.mark.parametrize("pairing", ["learned", "identity"])
def test_fused_sdpa_and_explicit_bmm_paths_agree(monkeypatch, pairing):
    comp = _comp(16, 2, 2, bias=True, pairing=pairing)
    x = _x(3, 9, 16)
    mask = ~torch.eye(9, dtype=torch.bool)
    monkeypatch.setattr(compositional, "_use_fused", lambda *args: True)
    fused = comp(x, mask)
    monkeypatch.setattr(compositional, "_use_fused", lambda *args: False)
    torch.testing.assert_close(fused, comp(x, mask), atol=1e-10, rtol=0)
    torch.testing.assert_close(fused, comp(x, mask, return_attention=True)[0], atol=1e-10, rtol=0)


@pytest.mark.parametrize("kwargs", [dict(n_searches=0), dict(n_retrievals=3, pairing="identity"),
                                    dict(score="concat"), dict(pairing="soft"), dict(pairing=(0, 5)),
                                    dict(d_model=10, n_searches=3), dict(dropout=1.0)])
def test_bad_arguments_raise_value_error(kwargs):
    args = dict(d_model=12, n_searches=2, n_retrievals=2) | kwargs
    with pytest.raises(ValueError):
        CompositionalAttention(**args)


def test_bad_input_shapes_raise_value_error():
    comp = CompositionalAttention(8, 2, 2)
    with pytest.raises(ValueError, match="x must have shape"):
        comp(torch.zeros(2, 3, 7))
    with pytest.raises(ValueError, match="attn_mask"):
        comp(torch.zeros(2, 3, 8), torch.ones(4, 4, dtype=torch.bool))


@pytest.mark.parametrize("hard", [False, True])
def test_retrieval_function_matches_autograd_of_the_plain_equations(hard):
    # the hand-written backward of Eqs. 11-13 against autograd through the written-out expressions, with a
    # gradient reaching both outputs (o and the returned scores c)
    g = torch.Generator().manual_seed(3)
    z = torch.randn(2, 3, 5, 4, 6, generator=g, dtype=F64, requires_grad=True)  # (B, S, N, R, d_v)
    u = torch.randn(2, 3, 5, 6, generator=g, dtype=F64, requires_grad=True)  # (B, S, N, d_v)
    w_o, w_c = torch.randn(2, 3, 5, 6, generator=g, dtype=F64), torch.randn(2, 3, 5, 4, generator=g, dtype=F64)

    soft = torch.softmax((z * u.unsqueeze(-2)).sum(-1), dim=-1)
    c_ref = soft
    if hard:
        c_ref = torch.nn.functional.one_hot(soft.argmax(-1), 4).to(F64) + (soft - soft.detach())
    o_ref = (c_ref.unsqueeze(-1) * z).sum(-2)
    want = torch.autograd.grad((o_ref * w_o).sum() + (c_ref * w_c).sum(), (z, u))

    o, c = compositional._retrieve(z, u, hard=hard)
    torch.testing.assert_close(o, o_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=1e-12, rtol=0)
    got = torch.autograd.grad((o * w_o).sum() + (c * w_c).sum(), (z, u))
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    if not hard:
        assert torch.autograd.gradcheck(lambda a, b: compositional._retrieve(a, b), (z, u))


def test_retrieval_function_refuses_double_backward_rather_than_return_a_wrong_one():
    z = torch.randn(1, 2, 3, 2, 4, dtype=F64, requires_grad=True)
    u = torch.randn(1, 2, 3, 4, dtype=F64, requires_grad=True)
    (grad_z,) = torch.autograd.grad(compositional._retrieve(z, u)[0].sum(), (z,), create_graph=True)
    with pytest.raises(RuntimeError, match="does not require grad|once_differentiable"):
        grad_z.sum().backward()


def _paper_equations(comp: CompositionalAttention, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """The equations of ``docs/papers/attention.md §2`` written out search by search and retrieval by retrieval, biases
    included."""
    S, R, dk, dv, dr = comp.n_searches, comp.n_retrievals, comp.d_search, comp.d_value, comp.d_retrieval
    q, k = comp.q_proj(x).split(dk, -1), comp.k_proj(x).split(dk, -1)
    v, q_bar = comp.v_proj(x).split(dv, -1), comp.retrieval_q_proj(x).split(dr, -1)
    outs = []
    for i in range(S):
        logits = q[i] @ k[i].transpose(-1, -2) / dk**0.5
        A = torch.softmax(logits.masked_fill(~allowed, float("-inf")), -1)  # (B, N, N)
        Z = [A @ v[j] for j in range(R)]  # R x (B, N, d_v)
        scores = torch.stack([(q_bar[i] * comp.retrieval_k_proj(Z[j])).sum(-1) / dr**0.5 for j in range(R)], -1)
        c = torch.softmax(scores, -1)  # (B, N, R), the bias of Wk̄ included
        outs.append(sum(c[..., j : j + 1] * Z[j] for j in range(R)))
    return comp.out_proj(torch.cat(outs, -1))


@pytest.mark.parametrize("S,R", [(2, 3), (3, 2), (2, 2)])
def test_module_equals_the_paper_equations_written_out(S, R):
    # folds the retrieval key into the query, drops the j-constant <q̄_i, b>, fuses the pairings: same numbers
    comp = _comp(12, S, R, bias=True, d_retrieval=5)
    with torch.no_grad():
        comp.retrieval_k_proj.bias.mul_(10.0)  # a large b must still cancel
    x, allowed = _x(2, 6, 12), ~torch.eye(6, dtype=torch.bool)
    torch.testing.assert_close(comp(x, allowed), _paper_equations(comp, x, allowed), atol=1e-12, rtol=0)
