"""Checks 1-9 of docs/papers/brims.md §5 on the mechanism, and the tie rule of §2.3. Check 10 (learning) belongs to
the experiment."""

from __future__ import annotations

import pytest
import torch

from neurodyn.brims import BRIMs, BRIMsLayer, GroupLSTMCell

torch.set_num_threads(1)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _model(seed: int = 0, **kwargs) -> BRIMs:
    torch.manual_seed(seed)
    return BRIMs(8, 10, **kwargs)


def _random_state(model: BRIMs, batch: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = _gen(seed)
    return [(torch.randn(batch, n, d, generator=g), torch.randn(batch, n, d, generator=g))
            for n, d in zip(model.n_modules, model.d_module)]


def test_exactly_k_modules_are_active_per_sample_step_and_layer():
    # §5 check 1
    model = _model()
    x = torch.rand(16, 12, 8, generator=_gen(1))
    _, traces = model(x, return_traces=True)
    assert len(traces) == 12
    for per_layer in traces:
        for layer, trace in zip(model.layers, per_layer):
            assert trace.mask.dtype == torch.bool and trace.mask.shape == (16, layer.n_modules)
            assert torch.equal(trace.mask.sum(-1), torch.full((16,), layer.k_active))


def test_inactive_modules_keep_h_and_c_bitwise():
    # §5 check 2, from a random (non-zero) state so that the candidates differ from the old state everywhere
    model = _model()
    state = _random_state(model, 8, seed=2)
    new, traces = model.step(torch.rand(8, 8, generator=_gen(3)), state)
    for (h0, c0), (h1, c1), trace in zip(state, new, traces):
        off = ~trace.mask
        assert off.any()
        assert torch.equal(h1[off], h0[off]) and torch.equal(c1[off], c0[off])
        assert not torch.equal(h1[trace.mask], h0[trace.mask])  # the active ones did move


def test_group_lstm_equals_separate_lstm_cells_and_a_zeroed_dense_cell():
    # §5 check 3: n LSTMCells with copied weights, and the reference-style dense cell with off-block weights zeroed
    n, d_in, d = 3, 5, 4
    torch.manual_seed(4)
    group = GroupLSTMCell(n, d_in, d)
    cells = [torch.nn.LSTMCell(d_in, d) for _ in range(n)]
    with torch.no_grad():
        for m, cell in enumerate(cells):
            group.weight_ih[m].copy_(cell.weight_ih.T)
            group.weight_hh[m].copy_(cell.weight_hh.T)
            group.bias[m].copy_(cell.bias_ih + cell.bias_hh)
    g = _gen(5)
    x, h, c = torch.randn(7, n, d_in, generator=g), torch.randn(7, n, d, generator=g), torch.randn(7, n, d, generator=g)
    h1, c1 = group(x, (h, c))
    for m, cell in enumerate(cells):
        want_h, want_c = cell(x[:, m], (h[:, m], c[:, m]))
        torch.testing.assert_close(h1[:, m], want_h, atol=1e-6, rtol=0)
        torch.testing.assert_close(c1[:, m], want_c, atol=1e-6, rtol=0)

    # one dense LSTMCell(n*d_in, n*d): rows gate-major [i | f | g | o], each gate's rows module-major
    dense = torch.nn.LSTMCell(n * d_in, n * d)
    with torch.no_grad():
        dense.weight_ih.zero_()
        dense.weight_hh.zero_()
        dense.bias_hh.zero_()
        for m in range(n):
            for gate in range(4):
                rows = slice(gate * n * d + m * d, gate * n * d + (m + 1) * d)
                cols = slice(gate * d, (gate + 1) * d)
                dense.weight_ih[rows, m * d_in:(m + 1) * d_in] = group.weight_ih[m][:, cols].T
                dense.weight_hh[rows, m * d:(m + 1) * d] = group.weight_hh[m][:, cols].T
                dense.bias_ih[rows] = group.bias[m][cols]
    hd, cd = dense(x.reshape(7, -1), (h.reshape(7, -1), c.reshape(7, -1)))
    torch.testing.assert_close(hd.view(7, n, d), h1, atol=1e-6, rtol=0)
    torch.testing.assert_close(cd.view(7, n, d), c1, atol=1e-6, rtol=0)


def _one_layer_step(layer: BRIMsLayer, slots, h, c):
    (h1, c1), trace = layer(slots, (h, c))
    return h1, c1, trace


def test_modules_are_independent_without_communication_and_inactive_ones_are_the_identity():
    # §5 check 4: d h_t[m] / d h_{t-1}[m'] = 0 for m != m'; an inactive module maps (h, c) to itself
    torch.manual_seed(6)
    layer = BRIMsLayer(5, 3, 2, [4], input_heads=2, d_key=4, communication=False).double()
    g = _gen(7)
    slots = [torch.randn(1, 4, generator=g, dtype=torch.float64)]
    h = torch.randn(1, 5, 3, generator=g, dtype=torch.float64)
    c = torch.randn(1, 5, 3, generator=g, dtype=torch.float64)
    mask = _one_layer_step(layer, slots, h, c)[2].mask[0]

    jac_h, jac_c = torch.autograd.functional.jacobian(
        lambda hh, cc: _one_layer_step(layer, slots, hh, cc)[:2], (h, c))
    jhh, jhc = jac_h  # d h_t / d h_{t-1}, d h_t / d c_{t-1}: (1, 5, 3, 1, 5, 3)
    jch, jcc = jac_c
    eye = torch.eye(3, dtype=torch.float64)
    for m in range(5):
        for mp in range(5):
            blocks = [j[0, m, :, 0, mp, :] for j in (jhh, jhc, jch, jcc)]
            if m != mp:
                assert all(torch.count_nonzero(b) == 0 for b in blocks)
            elif not mask[m]:
                assert torch.equal(blocks[0], eye) and torch.equal(blocks[3], eye)
                assert torch.count_nonzero(blocks[1]) == 0 and torch.count_nonzero(blocks[2]) == 0
            else:
                assert torch.count_nonzero(blocks[0]) > 0  # an active module does depend on its own state


def test_gradient_into_inactive_candidates_through_communication_is_zero():
    # §5 check 5: with the mask fixed, an inactive module's candidate gets exactly zero gradient
    torch.manual_seed(8)
    layer = BRIMsLayer(4, 6, 2, [5], comm_heads=2, comm_d_key=3, comm_d_value=3)
    g = _gen(9)
    cand = torch.randn(3, 4, 6, generator=g, requires_grad=True)
    old = torch.randn(3, 4, 6, generator=g)
    weights = torch.randn(3, 4, 6, generator=g)
    mask = torch.tensor([[True, False, True, False], [False, True, True, False], [True, True, False, False]])

    def grad_for(m: torch.Tensor) -> torch.Tensor:
        out = torch.where(m.unsqueeze(-1), layer.communicate(cand, m), old)
        (grad,) = torch.autograd.grad((out * weights).sum(), cand)
        return grad

    grad = grad_for(mask)
    assert torch.count_nonzero(grad[~mask]) == 0
    assert torch.count_nonzero(grad[mask]) == grad[mask].numel()
    # the same candidates do carry gradient when their modules are active: the zero above is the blocking
    assert torch.count_nonzero(grad_for(torch.ones_like(mask))) == cand.numel()


@pytest.mark.parametrize("top_down,want", [(True, 1 / 3), (False, 1 / 2)])
def test_null_slot_has_zero_key_and_uniform_attention_from_the_zero_state(top_down, want):
    # §5 check 6: null key/value are 0 -> null logit 0; at t = 0 every query is 0, so every slot gets the same weight
    model = _model(top_down=top_down)
    _, traces = model(torch.rand(4, 3, 8, generator=_gen(10)), return_traces=True)
    alpha = traces[0][0].alpha  # layer 1 at t = 0: (B, n, slots)
    assert alpha.shape[-1] == (3 if top_down else 2)
    torch.testing.assert_close(alpha, torch.full_like(alpha, want), atol=1e-7, rtol=0)
    # from any state, zero slot inputs give zero logits everywhere: uniform attention and a zero read
    layer = model.layers[0]
    h = torch.randn(4, layer.n_modules, layer.d_module, generator=_gen(11))
    read, a = layer.input_attention([torch.zeros(4, w) for w in layer.slot_widths], h)
    assert torch.count_nonzero(read) == 0
    torch.testing.assert_close(a, torch.full_like(a, 1 / a.shape[-1]), atol=1e-7, rtol=0)


def test_communication_equals_torch_multihead_attention_with_shared_weights():
    # §5 check 7: comm_heads * d_k = d_l, every module's Q/K/V equal, out_proj = I -> nn.MultiheadAttention over modules
    n, d, heads = 5, 8, 2
    torch.manual_seed(12)
    layer = BRIMsLayer(n, d, 3, [4], comm_heads=heads, comm_d_key=d // heads, comm_d_value=d // heads)
    ref = torch.nn.MultiheadAttention(d, heads, bias=False, batch_first=True)
    with torch.no_grad():
        # every module's [Wq | Wk | Wv] is torch's in_proj (transposed: GroupLinear maps x @ W)
        layer.comm_qkv.weight.copy_(ref.in_proj_weight.T.expand(n, d, 3 * d))
        ref.out_proj.weight.copy_(torch.eye(d))
    h = torch.randn(6, n, d, generator=_gen(13))
    out, weights = layer.communication_attention(h)
    want, want_w = ref(h, h, h, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, want, atol=1e-6, rtol=0)
    torch.testing.assert_close(weights, want_w, atol=1e-6, rtol=0)


def test_states_and_logits_up_to_step_t_ignore_later_inputs():
    # §5 check 8: causality, exactly
    model = _model()
    x = torch.rand(5, 9, 8, generator=_gen(14))
    t = 4
    y = x.clone()
    y[:, t + 1:] = torch.rand(5, 9 - t - 1, 8, generator=_gen(15))
    sx, sy = model.initial_state(5), model.initial_state(5)
    for step in range(t + 1):
        sx, _ = model.step(x[:, step], sx)
        sy, _ = model.step(y[:, step], sy)
        for (hx, cx), (hy, cy) in zip(sx, sy):
            assert torch.equal(hx, hy) and torch.equal(cx, cy)
    torch.testing.assert_close(model(x[:, :t + 1]), model(y[:, :t + 1]), atol=0, rtol=0)
    assert not torch.equal(model(x), model(y))  # later inputs do reach the final logits


def test_top_down_ablation_drops_one_slot_and_exactly_its_projections():
    # §5 check 9
    brims, rims = _model(top_down=True), _model(top_down=False)
    assert brims.layers[0].slot_widths == (32, 32) and rims.layers[0].slot_widths == (32,)
    assert brims.layers[1].slot_widths == rims.layers[1].slot_widths == (48,)  # the top layer has no top-down
    layer = brims.layers[0]
    top_down_params = layer.slot_proj[1].weight.numel()  # WK and WV of the top-down slot
    def count(m: torch.nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    assert count(brims) - count(rims) == top_down_params == 32 * 4 * 32 + 32 * 16
    # the small-preset sizes (docs/papers/brims.md §4: about 47.9k and 43.3k parameters)
    assert count(brims) == 47_946 and count(rims) == 43_338


def test_top_down_slot_reads_the_layer_above_from_the_previous_step():
    # docs/papers/brims.md §2.2: wiring the current step in would give the stack one step of lookahead
    model = _model()
    state = _random_state(model, 2, seed=16)
    x_t = torch.rand(2, 8, generator=_gen(17))
    seen = {}
    layer0 = model.layers[0]
    handle = layer0.register_forward_pre_hook(lambda mod, args: seen.update(slots=[s.clone() for s in args[0]]))
    try:
        new, _ = model.step(x_t, state)
    finally:
        handle.remove()
    assert torch.equal(seen["slots"][1], state[1][0].reshape(2, -1))
    assert not torch.equal(seen["slots"][1], new[1][0].reshape(2, -1))


@pytest.mark.parametrize("kwargs,match", [
    (dict(k_active=(7, 2)), "k_active=7 exceeds n_modules=6"),
    (dict(n_modules=(6,)), "one entry per layer"),
    (dict(d_module=(8, 0)), r"d_module\[1\] must be a positive integer, got 0"),
    (dict(input_heads=3), "read_width=16 is not divisible by input_heads=3"),
])
def test_bad_arguments_raise_value_errors_that_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BRIMs(8, 10, **kwargs)


def test_bad_input_shape_raises_value_error():
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 8\)"):
        _model()(torch.zeros(2, 5, 7))
    with pytest.raises(ValueError, match="no time steps"):
        _model()(torch.zeros(2, 0, 8))


def _alpha_from_null(null: torch.Tensor, heads: int = 2) -> torch.Tensor:
    """Input attention (B, heads, n, 3) whose head-averaged null column is ``null`` (B, n)."""
    rest = (1 - null) / 2
    return torch.stack([null, rest, rest], dim=-1).unsqueeze(1).expand(-1, heads, -1, -1).contiguous()


@pytest.mark.parametrize("n,k", [(6, 4), (8, 3), (12, 5), (4, 4)])
def test_tied_null_scores_go_to_the_lowest_module_indices(n, k):
    # docs/papers/brims.md §2.3: the tie rule is a stable ascending sort of the null scores
    layer = BRIMsLayer(n, 4, k, [4], input_heads=2, d_key=4)
    mask = layer.compete(_alpha_from_null(torch.full((5, n), 1 / 3)))
    assert torch.equal(mask, torch.arange(n).expand(5, n) < k)


def test_partial_ties_keep_the_strict_order_and_break_the_rest_by_index():
    layer = BRIMsLayer(6, 4, 3, [4], input_heads=2, d_key=4)
    null = torch.tensor([[0.2, 0.5, 0.5, 0.5, 0.1, 0.5],  # 0.1 and 0.2 win, then the lowest of the tied 0.5s
                         [0.5, 0.5, 0.5, 0.4, 0.5, 0.5],
                         [0.3, 0.3, 0.1, 0.9, 0.3, 0.0]])
    mask = layer.compete(_alpha_from_null(null))
    assert mask.tolist() == [[True, True, False, False, True, False],
                             [True, True, False, True, False, False],
                             [True, False, True, False, False, True]]


def test_from_the_zero_state_the_first_active_set_is_the_first_k_modules_and_the_tie_rule_matters():
    model = _model()
    x = torch.rand(4, 6, 8, generator=_gen(18))
    logits, traces = model(x, return_traces=True)
    for layer, trace in zip(model.layers, traces[0]):  # t = 0: every null score is exactly 1/3 (or 1/2): all tie
        assert torch.equal(trace.mask, torch.arange(layer.n_modules).expand(4, -1) < layer.k_active)
    # the winners of a tie do change the outputs: give the tie to the highest indices instead
    flipped = BRIMs(8, 10)
    flipped.load_state_dict(model.state_dict())
    for layer in flipped.layers:
        layer.compete = lambda alpha, layer=layer: BRIMsLayer.compete(layer, alpha.flip(2)).flip(1)
    assert not torch.allclose(flipped(x), logits, atol=1e-4)
