"""Tasks of the adaptive-activation page (docs/papers/activations.md §2.3, §4, §6): permuted sequential digits, the
input-statistics shifts, and the copy task with its memoryless baseline."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from neurodyn.activations.tasks import SinTransform, StepTransform, copy_baseline_loss, copy_task, permuted_digits
from neurodyn.data import digits

torch.set_num_threads(1)
F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------------------------------------------------------
# permuted sequential digits


def test_permuted_digits_shapes_values_and_fixed_permutation():
    d = permuted_digits()
    assert d.x_train.shape == (1400, 64, 1) and d.x_test.shape == (397, 64, 1)
    assert d.y_train.shape == (1400,) and d.y_test.shape == (397,)
    for x in (d.x_train, d.x_test):
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert set(d.y_train.tolist()) == set(range(10))
    perm = d.permutation
    assert perm.shape == (64,)
    assert torch.equal(torch.sort(perm).values, torch.arange(64))  # a permutation
    assert not torch.equal(perm, torch.arange(64))  # and not the identity
    again = permuted_digits()
    assert torch.equal(again.permutation, perm) and torch.equal(again.x_test, d.x_test)
    assert not torch.equal(permuted_digits(permutation_seed=1).permutation, perm)


def test_sequences_are_the_pixels_in_permuted_order():
    d = permuted_digits()
    x_train, y_train, x_test, y_test = digits(0)
    assert torch.equal(d.y_train, y_train) and torch.equal(d.y_test, y_test)
    for seq, images in ((d.x_train, x_train), (d.x_test, x_test)):
        flat = images.reshape(len(images), 64)
        for t in (0, 1, 17, 40, 63):
            p = int(d.permutation[t])
            assert torch.equal(seq[:, t, 0], images[:, p // 8, p % 8])
        assert torch.equal(seq[..., 0], flat[:, d.permutation])
        inverse = torch.argsort(d.permutation)
        assert torch.equal(seq[..., 0][:, inverse].reshape(-1, 8, 8), images)  # undoing the order gives the images


# ---------------------------------------------------------------------------------------------------------------
# input-statistics shifts


def _pixels(seed: int = 0) -> torch.Tensor:
    """(6, 64, 1) float64 pixels in [0, 1] with about a third exactly zero (like the digits)."""
    g = _gen(seed)
    x = torch.rand(6, 64, 1, generator=g, dtype=F64)
    return torch.where(torch.rand(6, 64, 1, generator=g, dtype=F64) < 0.35, torch.zeros_like(x), x)


def test_sin_transform_with_zero_amplitude_is_the_identity():
    x = _pixels(1)
    for f, phase in ((1.0, 0.0), (0.37, 1.2), (2.0, -0.5)):
        assert torch.equal(SinTransform(0.0, f, phase)(x), x)


def test_sin_transform_keeps_zero_pixels_and_follows_the_gain():
    x = _pixels(2)
    zero = x == 0
    assert zero.any() and (~zero).any()
    for A, f, phase, period in ((0.5, 1.0, 0.0, 64), (0.8, 1.0, 0.0, 64), (0.2, 1.7, 0.9, 64), (0.5, 1.0, 0.0, 784)):
        tf = SinTransform(A, f, phase, period)
        out = tf(x)
        assert out.shape == x.shape and out.dtype == x.dtype
        assert bool((out[zero] == 0).all())
        for t in (0, 5, 16, 31, 48, 63):
            g = 1 + A * math.sin(2 * math.pi * f * t / period + phase)
            assert (out[:, t] - g * x[:, t]).abs().max().item() < 1e-12
    # A = 0.5, f = 1, period 64: the gain is 1.5 a quarter-period in, 0.5 three quarters in
    out = SinTransform(0.5, 1.0)(x)
    assert (out[:, 16] - 1.5 * x[:, 16]).abs().max().item() < 1e-12
    assert (out[:, 48] - 0.5 * x[:, 48]).abs().max().item() < 1e-12
    assert torch.equal(out[:, 0], x[:, 0])


def test_step_transform_only_changes_the_window():
    x = _pixels(3)
    tf = StepTransform(delta=1.0, start=20, stop=40)
    out = tf(x)
    assert out.shape == x.shape
    assert torch.equal(out[:, :20], x[:, :20]) and torch.equal(out[:, 40:], x[:, 40:])
    assert torch.equal(out[:, 20:40], 2 * x[:, 20:40])
    assert bool((out[x == 0] == 0).all())
    out = StepTransform(delta=-0.25, start=0, stop=1)(x)
    assert torch.equal(out[:, 0], 0.75 * x[:, 0]) and torch.equal(out[:, 1:], x[:, 1:])
    assert torch.equal(StepTransform(0.0, 10, 50)(x), x)


# ---------------------------------------------------------------------------------------------------------------
# copy task


@pytest.mark.parametrize("T", [1, 5, 30])
def test_copy_task_layout(T):
    batch = 64
    x, y = copy_task(T, batch, _gen(T))
    L = T + 20
    assert x.shape == (batch, L, 1) and y.shape == (batch, L) and y.dtype == torch.int64
    sym = x[:, :10, 0]
    assert bool(((sym >= 1) & (sym <= 8)).all()) and bool((sym == sym.round()).all())
    assert set(sym.long().unique().tolist()) == set(range(1, 9))  # every label is used
    marker = 10 + T - 1
    assert bool((x[:, marker, 0] == 9).all())
    rest = torch.cat([x[:, 10:marker, 0], x[:, marker + 1:, 0]], dim=1)
    assert rest.shape == (batch, L - 11) and bool((rest == 0).all())
    assert bool((y[:, :-10] == 0).all())
    assert torch.equal(y[:, -10:], sym.long())
    x2, y2 = copy_task(T, batch, _gen(T))
    assert torch.equal(x2, x) and torch.equal(y2, y)
    assert not torch.equal(copy_task(T, batch, _gen(T + 100))[1], y)
    with pytest.raises(ValueError):
        copy_task(0, batch)


def _memoryless_log_probs(T: int, batch: int) -> torch.Tensor:
    """(batch, T + 20, 9) log-probabilities of the memoryless predictor: blank with probability 1 before the last 10
    steps, uniform over labels 1-8 (and never blank) in them; depends only on the step, never on the input."""
    L = T + 20
    logp = torch.full((batch, L, 9), -math.inf, dtype=F64)
    logp[:, :-10, 0] = 0.0
    logp[:, -10:, 1:] = -math.log(8)
    return logp


@pytest.mark.parametrize("T", [1, 10, 50, 200])
def test_copy_baseline_equals_the_memoryless_predictor(T):
    batch = 32
    _, y = copy_task(T, batch, _gen(7))
    logp = _memoryless_log_probs(T, batch)
    assert torch.allclose(logp.exp().sum(-1), torch.ones(batch, T + 20, dtype=F64), atol=1e-15, rtol=0)
    nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)  # the targets never pick a -inf entry
    assert bool(torch.isfinite(nll).all())
    loss = nll.mean().item()
    assert abs(loss - copy_baseline_loss(T)) < 1e-12
    assert abs(copy_baseline_loss(T) - 10 * math.log(8) / (T + 20)) < 1e-12
    # the same through cross_entropy on large finite logits (the form a network's output takes)
    logits = torch.where(torch.isinf(logp), torch.full_like(logp, -1e4), logp)
    ce = F.cross_entropy(logits.reshape(-1, 9), y.reshape(-1)).item()
    assert abs(ce - copy_baseline_loss(T)) < 1e-12


def test_copy_baseline_value_for_the_paper_delay():
    assert abs(copy_baseline_loss(200) - 0.0945) < 1e-4
    assert abs(copy_baseline_loss(200) - 10 * math.log(8) / 220) < 1e-12
    assert copy_baseline_loss(100) > copy_baseline_loss(200)  # its scale depends on T
