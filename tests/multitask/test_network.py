"""Grouped block-diagonal leaky RNN, counts and perturbations (paper card §2.2, §2.6, §6): oracles and invariants."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from neurodyn.multitask.network import (
    LeakyRNN,
    _LeakyScan,
    _scan_autograd,
    masked_mse,
    perturb_recurrence,
    rnn_parameter_count,
    silence_units,
    strategy_parameter_counts,
)

torch.set_num_threads(1)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _net(**kw) -> LeakyRNN:
    """5 inputs, 3 outputs, seeded; 2 groups of 3 modules of 4 units unless told otherwise."""
    args = {"n_groups": 2, "n_modules": 3, "module_size": 4, "generator": _gen(0), **kw}
    return LeakyRNN(5, 3, **args)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _off_block(m: int, n: int) -> torch.Tensor:
    """True outside the M diagonal n x n blocks."""
    return ~torch.block_diag(*[torch.ones(n, n, dtype=torch.bool)] * m)


# ----------------------------------------------------------------------------------------------------- structure


def test_shapes_and_init():
    net = _net(n_groups=3, n_modules=2, module_size=5)
    assert (net.n_groups, net.n_modules, net.module_size, net.n_units) == (3, 2, 5, 10)
    assert tuple(net.w_in.shape) == (3, 10, 5) and tuple(net.b_in.shape) == (3, 10)
    assert tuple(net.w_rec.shape) == (3, 2, 5, 5) and tuple(net.b_rec.shape) == (3, 10)
    assert tuple(net.w_out.shape) == (3, 3, 10) and tuple(net.b_out.shape) == (3, 3)
    blocks = net.w_rec.detach().double()  # each 0.9 x orthogonal: B B^T = 0.81 I
    eye = torch.eye(5, dtype=torch.float64)
    torch.testing.assert_close(blocks @ blocks.transpose(-1, -2), 0.81 * eye.expand(3, 2, 5, 5), atol=1e-5, rtol=0)
    assert net.w_in.abs().max() <= 1 / math.sqrt(5) and net.w_out.abs().max() <= 1 / math.sqrt(10)
    assert not net.b_in.any() and not net.b_rec.any() and not net.b_out.any()
    assert _net(shared_recurrence=True).w_rec.shape[0] == 1
    y, h = net(torch.randn(3, 4, 7, 5, generator=_gen(1)))
    assert tuple(y.shape) == (3, 4, 7, 3) and tuple(h.shape) == (3, 4, 7, 10)
    same = _net(n_groups=3, n_modules=2, module_size=5)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), same.parameters()))  # seeded init


def test_recurrent_matrix_is_block_diagonal():
    net = _net(n_groups=2, n_modules=4, module_size=3)
    for g in range(2):
        dense = net.recurrent_matrix(g)
        assert dense.shape == (12, 12)
        assert torch.count_nonzero(dense[_off_block(4, 3)]) == 0
        for k in range(4):
            assert torch.equal(dense[3 * k:3 * k + 3, 3 * k:3 * k + 3], net.w_rec[g, k])
    assert not torch.equal(net.recurrent_matrix(0), net.recurrent_matrix(1))
    shared = _net(n_groups=3, shared_recurrence=True)
    assert torch.equal(shared.recurrent_matrix(0), shared.recurrent_matrix(2))


def test_training_only_input_output_weights_keeps_recurrence_bit_identical():
    net = _net(n_groups=3, n_modules=4, module_size=8, shared_recurrence=True, sigma_rec=0.05)
    net.freeze_recurrence()
    w_before, b_before = net.w_rec.detach().clone(), net.b_rec.detach().clone()
    io_before = [p.detach().clone() for p in (net.w_in, net.b_in, net.w_out, net.b_out)]
    assert net.trainable_parameter_count() == 3 * (32 * 5 + 32 + 3 * 32 + 3)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    gen, noise = _gen(2), _gen(3)
    for _ in range(5):
        x, target = torch.randn(3, 8, 10, 5, generator=gen), torch.randn(3, 8, 10, 3, generator=gen)
        y, _ = net(x, noise=noise)
        loss = masked_mse(y, target, torch.ones(3, 8, 10))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert net.w_rec.grad is None and net.b_rec.grad is None
    assert torch.equal(net.w_rec, w_before) and torch.equal(net.b_rec, b_before)
    assert all(not torch.equal(p, q) for p, q in zip((net.w_in, net.b_in, net.w_out, net.b_out), io_before))
    assert torch.count_nonzero(net.recurrent_matrix(1)[_off_block(4, 8)]) == 0


def test_modules_do_not_interact():
    net = _net(n_groups=2, n_modules=3, module_size=6)
    x = torch.randn(2, 5, 12, 5, generator=_gen(4))
    h0 = torch.rand(2, 5, 18, generator=_gen(5))
    _, h_a = net(x, h0=h0)
    h0_b = h0.clone()
    h0_b[:, :, 6:12] += torch.rand(2, 5, 6, generator=_gen(6))  # module 1's part of the state
    _, h_b = net(x, h0=h0_b)
    for k in (0, 2):
        assert torch.equal(h_a[..., 6 * k:6 * k + 6], h_b[..., 6 * k:6 * k + 6])  # exact, at every time
    changed = (h_a[..., 6:12] - h_b[..., 6:12]).abs().amax(dim=(0, 1, 3))
    assert bool((changed > 0).all())  # module 1 itself differs at every time


def test_groups_are_independent():
    net = _net(n_groups=3, n_modules=2, module_size=5, shared_recurrence=True)
    x = torch.randn(3, 4, 9, 5, generator=_gen(7))
    noise_seed = 8
    y_a, h_a = net(x, noise=_gen(noise_seed))
    x_b = x.clone()
    x_b[0] += torch.randn(4, 9, 5, generator=_gen(9))
    x_b[2] *= 3.0
    y_b, h_b = net(x_b, noise=_gen(noise_seed))
    assert torch.equal(y_a[1], y_b[1]) and torch.equal(h_a[1], h_b[1])
    assert not torch.equal(y_a[0], y_b[0]) and not torch.equal(y_a[2], y_b[2])


# ------------------------------------------------------------------------------------------------- the equation


def test_alpha_one_without_noise_equals_torch_rnn():
    d_in, d_out, n_units = 5, 3, 24
    net = LeakyRNN(d_in, d_out, n_modules=1, module_size=n_units, alpha=1.0, sigma_rec=0.0, generator=_gen(10))
    with torch.no_grad():  # non-zero biases so the b_in -> b_ih, b_rec -> b_hh mapping is exercised
        net.b_in.copy_(0.1 * torch.randn(1, n_units, generator=_gen(11)))
        net.b_rec.copy_(0.1 * torch.randn(1, n_units, generator=_gen(12)))
    rnn = torch.nn.RNN(d_in, n_units, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(net.w_in[0])
        rnn.weight_hh_l0.copy_(net.recurrent_matrix(0))
        rnn.bias_ih_l0.copy_(net.b_in[0])
        rnn.bias_hh_l0.copy_(net.b_rec[0])
    x = torch.randn(1, 6, 15, d_in, generator=_gen(13))
    h0 = torch.rand(1, 6, n_units, generator=_gen(14))
    y, h = net(x, h0=h0, noise=_gen(15))  # sigma_rec = 0: the generator must not matter
    expected, _ = rnn(x[0], h0)
    torch.testing.assert_close(h[0], expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(y[0], expected @ net.w_out[0].T + net.b_out[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("shared", [False, True])
def test_leaky_noisy_update_matches_a_python_loop(shared):
    g, m, n, b, steps, alpha, sigma = 2, 2, 3, 4, 8, 0.3, 0.2
    net = LeakyRNN(5, 3, n_groups=g, n_modules=m, module_size=n, shared_recurrence=shared, alpha=alpha,
                   sigma_rec=sigma, generator=_gen(16)).double()
    with torch.no_grad():
        net.b_in.copy_(torch.randn(g, m * n, generator=_gen(17), dtype=torch.float64))
        net.b_rec.normal_(generator=_gen(18))
    x = torch.randn(g, b, steps, 5, generator=_gen(19), dtype=torch.float64)
    h0 = torch.rand(g, b, m * n, generator=_gen(20), dtype=torch.float64)
    y, h = net(x, h0=h0, noise=_gen(21))
    xi = torch.randn(g, b, steps, m * n, generator=_gen(21), dtype=torch.float64)  # the documented draw
    for gi in range(g):
        w = net.recurrent_matrix(gi)
        b_rec = net.b_rec[0 if shared else gi]
        state = h0[gi]
        for t in range(steps):
            pre = state @ w.T + x[gi, :, t] @ net.w_in[gi].T + net.b_in[gi] + b_rec \
                + math.sqrt(2 / alpha) * sigma * xi[gi, :, t]
            state = (1 - alpha) * state + alpha * torch.relu(pre)
            torch.testing.assert_close(h[gi, :, t], state, atol=1e-12, rtol=0)
            torch.testing.assert_close(y[gi, :, t], state @ net.w_out[gi].T + net.b_out[gi], atol=1e-12, rtol=0)


def _grads(net: LeakyRNN, fused: bool, x, h0, noise_seed, silenced):
    net.fused = fused
    net.zero_grad(set_to_none=True)
    h0 = h0.clone().requires_grad_(True)
    y, h = net(x, h0=h0, noise=_gen(noise_seed) if noise_seed is not None else None, silenced=silenced)
    weights = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)
    ((weights * y).sum() + torch.sin(h).sum()).backward()
    named = {name: p.grad for name, p in net.named_parameters() if p.requires_grad}
    return y.detach(), h.detach(), named, h0.grad


@pytest.mark.parametrize("shared, frozen, alpha, noise, silence", [
    (False, False, 0.5, 22, False),
    (True, False, 0.2, 23, True),
    (True, True, 0.7, None, True),
    (False, True, 1.0, 24, False),
    (False, False, 1.0, None, True),
])
def test_custom_backward_matches_autograd(shared, frozen, alpha, noise, silence):
    net = LeakyRNN(5, 3, n_groups=3, n_modules=2, module_size=4, shared_recurrence=shared, alpha=alpha,
                   sigma_rec=0.3, generator=_gen(25)).double()
    with torch.no_grad():
        net.b_rec.normal_(0, 0.3, generator=_gen(26))
    if frozen:
        net.freeze_recurrence()
    x = torch.randn(3, 5, 9, 5, generator=_gen(27), dtype=torch.float64)
    h0 = torch.rand(3, 5, 8, generator=_gen(28), dtype=torch.float64)
    silenced = silence_units(8, 0.25, _gen(29), n_groups=3) if silence else None
    y_f, h_f, g_f, h0_f = _grads(net, True, x, h0, noise, silenced)
    y_r, h_r, g_r, h0_r = _grads(net, False, x, h0, noise, silenced)
    torch.testing.assert_close(y_f, y_r, atol=1e-12, rtol=0)
    torch.testing.assert_close(h_f, h_r, atol=1e-12, rtol=0)
    assert set(g_f) == set(g_r) and ("w_rec" in g_f) == (not frozen)
    for name in g_f:
        torch.testing.assert_close(g_f[name], g_r[name], atol=1e-10, rtol=0, msg=name)
    torch.testing.assert_close(h0_f, h0_r, atol=1e-10, rtol=0)
    assert bool((h0_f.abs() > 0).any())


def test_scan_function_gradcheck():
    gen = _gen(30)
    drive = torch.randn(4, 2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    wt = (0.5 * torch.randn(2, 3, 3, generator=gen, dtype=torch.float64)).requires_grad_(True)
    h0 = torch.rand(2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda d, w, h: _LeakyScan.apply(d, w, h, None, 0.4), (drive, wt, h0))
    ref = _scan_autograd(drive, wt, h0, None, 0.4)
    torch.testing.assert_close(_LeakyScan.apply(drive, wt, h0, None, 0.4), ref, atol=1e-14, rtol=0)


# --------------------------------------------------------------------------------------------- parameter counts


def test_card_small_counts():
    counts = strategy_parameter_counts(9, n_modules=4, module_size=32, separate_units=64, joint_units=128)
    assert counts["Separate"] == {"total": 42_651, "updated_per_task": 4_739, "shared_frozen": 0}
    assert counts["Joint"] == {"total": 18_819, "updated_per_task": 18_819, "shared_frozen": 0}
    for name in ("MoLaP", "Modular-random"):
        assert counts[name] == {"total": 14_619, "updated_per_task": 1_155, "shared_frozen": 4_224}


@pytest.mark.parametrize("m, n, d_in, d_out, tasks", [(4, 32, 5, 3, 9), (2, 7, 3, 2, 4), (6, 16, 5, 3, 1),
                                                      (1, 10, 4, 1, 3)])
def test_counts_match_closed_forms_and_built_models(m, n, d_in, d_out, tasks):
    big_n = m * n
    assert rnn_parameter_count(big_n, d_in, d_out) == big_n * d_in + big_n + big_n ** 2 + big_n + d_out * big_n + d_out
    counts = strategy_parameter_counts(tasks, n_modules=m, module_size=n, separate_units=big_n, joint_units=2 * big_n,
                                       n_inputs=d_in, n_outputs=d_out)
    separate = LeakyRNN(d_in, d_out, n_groups=tasks, n_modules=1, module_size=big_n)
    assert separate.parameter_count() == _count(separate) == counts["Separate"]["total"]
    assert counts["Separate"]["updated_per_task"] == rnn_parameter_count(big_n, d_in, d_out)
    joint = LeakyRNN(d_in + tasks, d_out, module_size=2 * big_n)
    assert joint.parameter_count() == _count(joint) == counts["Joint"]["total"] == counts["Joint"]["updated_per_task"]
    molap = LeakyRNN(d_in, d_out, n_groups=tasks, n_modules=m, module_size=n, shared_recurrence=True)
    assert molap.parameter_count() == _count(molap) == counts["MoLaP"]["total"]
    molap.freeze_recurrence()
    assert molap.trainable_parameter_count() == tasks * counts["MoLaP"]["updated_per_task"]
    assert molap.parameter_count() - molap.trainable_parameter_count() == counts["MoLaP"]["shared_frozen"] \
        == m * n * n + m * n
    assert counts["Modular-random"] == counts["MoLaP"]


# ------------------------------------------------------------------------------------------------ perturbations


def test_perturb_recurrence_eta_zero_is_an_exact_copy():
    net = _net(n_groups=2, n_modules=2, module_size=6, shared_recurrence=True)
    copy_ = perturb_recurrence(net, 0.0, _gen(31))
    assert copy_ is not net and copy_.w_rec is not net.w_rec
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), copy_.parameters()))
    x = torch.randn(2, 4, 10, 5, generator=_gen(32))
    y_a, _ = net(x, noise=_gen(33))
    y_b, _ = copy_(x, noise=_gen(33))
    assert torch.equal(y_a, y_b)


def test_perturb_recurrence_scales_with_each_group_spread_and_keeps_structure():
    net = LeakyRNN(5, 3, n_groups=2, n_modules=4, module_size=40, generator=_gen(34))
    with torch.no_grad():
        net.w_rec[1].mul_(3.0)  # group 1 spreads 3x wider
    before = copy.deepcopy(net)
    eta = 0.25
    new = perturb_recurrence(net, eta, _gen(35))
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), before.parameters()))  # original untouched
    for name in ("w_in", "b_in", "b_rec", "w_out", "b_out"):
        assert torch.equal(getattr(new, name), getattr(net, name))
    for g in range(2):
        delta = new.w_rec[g] - net.w_rec[g]
        spread = net.w_rec[g].std(correction=0)
        ratio = (delta.std() / spread).item()
        assert abs(ratio - eta) < 0.05 * eta  # 6400 entries: the sample std is within ~1%
        assert abs(delta.mean().item()) < 0.05 * eta * spread.item()
        assert torch.count_nonzero(new.recurrent_matrix(g)[_off_block(4, 40)]) == 0
    with pytest.raises(ValueError, match="eta"):
        perturb_recurrence(net, -0.1, _gen(0))


def test_silence_units_counts_and_effect():
    mask = silence_units(50, 0.3, _gen(36), n_groups=4)
    assert mask.dtype == torch.bool and mask.shape == (4, 50)
    assert mask.sum(dim=1).tolist() == [15] * 4
    assert not torch.equal(mask[0], mask[1])  # drawn per group
    assert silence_units(7, 0.5, _gen(0)).sum().item() == round(3.5)
    assert not silence_units(20, 0.0, _gen(0), n_groups=3).any()
    assert silence_units(20, 1.0, _gen(0)).all()
    net = _net(n_groups=2, n_modules=2, module_size=5)
    x = torch.randn(2, 3, 8, 5, generator=_gen(37))
    h0 = torch.rand(2, 3, 10, generator=_gen(38))
    y_ref, h_ref = net(x, h0=h0, noise=_gen(39))
    y0, h0_out = net(x, h0=h0, noise=_gen(39), silenced=silence_units(10, 0.0, _gen(40), n_groups=2))
    assert torch.equal(y_ref, y0) and torch.equal(h_ref, h0_out)
    silenced = silence_units(10, 0.4, _gen(41), n_groups=2)
    _, h = net(x, h0=h0, noise=_gen(39), silenced=silenced)
    for g in range(2):
        assert torch.count_nonzero(h[g][..., silenced[g]]) == 0
        assert bool((h[g][..., ~silenced[g]] != 0).any())
    h0_zeroed = h0.masked_fill(silenced[:, None, :], 0.0)  # a silenced unit's h0 never reaches the others
    assert torch.equal(net(x, h0=h0, silenced=silenced)[1], net(x, h0=h0_zeroed, silenced=silenced)[1])
    assert not torch.equal(net(x, h0=h0)[1], net(x, h0=h0_zeroed)[1])
    _, h_shared_mask = net(x, h0=h0, silenced=silenced[0])  # an (N,) mask applies to every group
    assert torch.count_nonzero(h_shared_mask[..., silenced[0]]) == 0
    with pytest.raises(ValueError, match="fraction"):
        silence_units(10, 1.5, _gen(0))


def test_masked_mse_by_hand():
    y = torch.tensor([[[1.0, 2.0], [0.0, 0.0], [3.0, -1.0]]])  # (1, 3, 2)
    t = torch.tensor([[[0.0, 0.0], [5.0, 5.0], [1.0, 1.0]]])
    mask = torch.tensor([[1.0, 0.0, 5.0]])
    expected = (1 * (1 + 4) + 0 * 50 + 5 * (4 + 4)) / ((1 + 0 + 5) * 2)
    assert masked_mse(y, t, mask).item() == pytest.approx(expected, rel=1e-7)
    grouped = masked_mse(y.expand(2, 1, 3, 2), t.expand(2, 1, 3, 2), mask)  # a (B, T) mask broadcast over groups
    assert grouped.item() == pytest.approx(expected, rel=1e-7)
    with pytest.raises(ValueError, match="mask"):
        masked_mse(y, t, torch.ones(1, 4))
    with pytest.raises(ValueError, match="positive"):
        masked_mse(y, t, torch.zeros(1, 3))
    # one loss per group, each over its own weights: group 1 sees the targets doubled and only its last step
    y2, t2 = y.expand(2, 1, 3, 2), torch.stack([t, 2 * t])
    mask2 = torch.tensor([[[1.0, 0.0, 5.0]], [[0.0, 0.0, 2.0]]])
    second = (2 * ((3 - 2) ** 2 + (-1 - 2) ** 2)) / (2 * 2)
    torch.testing.assert_close(masked_mse(y2, t2, mask2, per_group=True), torch.tensor([expected, second]))
    with pytest.raises(ValueError, match="every group"):
        masked_mse(y2, t2, torch.tensor([[[1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]]), per_group=True)


# ---------------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": 0.0}, "alpha"), ({"alpha": 1.5}, "alpha"), ({"sigma_rec": -0.1}, "sigma_rec"),
    ({"n_modules": 0}, "n_modules"), ({"module_size": 2.5}, "module_size"), ({"n_groups": -1}, "n_groups"),
])
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LeakyRNN(5, 3, **kwargs)


def test_bad_inputs_raise():
    net = _net(n_groups=2, n_modules=2, module_size=3)
    with pytest.raises(ValueError, match="x must have shape"):
        net(torch.zeros(3, 1, 4, 5))
    with pytest.raises(ValueError, match="x must have shape"):
        net(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match="h0"):
        net(torch.zeros(2, 1, 4, 5), h0=torch.zeros(2, 1, 5))
    with pytest.raises(ValueError, match="silenced"):
        net(torch.zeros(2, 1, 4, 5), silenced=torch.zeros(3, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="bool"):
        net(torch.zeros(2, 1, 4, 5), silenced=torch.zeros(6))
    with pytest.raises(ValueError, match="group"):
        net.recurrent_matrix(2)
    with pytest.raises(ValueError, match="n_units"):
        rnn_parameter_count(0, 5, 3)
