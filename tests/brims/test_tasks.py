"""Row-by-row digits and the robustness probes (docs/papers/brims.md §4)."""

from __future__ import annotations

import pytest
import torch

from neurodyn.brims.tasks import N_TRAIN, digit_rows, stretched, with_distractors, with_noise


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_split_is_1400_397_disjoint_and_fixed():
    d = digit_rows(0)
    assert d.x_train.shape == (N_TRAIN, 8, 8) and d.x_test.shape == (397, 8, 8)
    assert float(d.x_train.min()) == 0.0 and float(d.x_train.max()) == 1.0  # pixels / 16
    assert set(d.y_test.tolist()) == set(range(10))
    assert torch.equal(digit_rows(0).x_test, d.x_test)  # the same split every time
    from sklearn.datasets import load_digits

    # train and test together are the whole data set, each image once: compare the sorted label counts and sums
    full = load_digits()
    both = torch.cat([d.y_train, d.y_test])
    assert torch.equal(torch.bincount(both), torch.bincount(torch.as_tensor(full.target)))
    assert float(torch.cat([d.x_train, d.x_test]).sum()) == pytest.approx(full.images.sum() / 16, rel=1e-6)
    assert not torch.equal(digit_rows(1).y_test, d.y_test)  # another split seed, another split


def test_distractor_rows_come_after_the_digit_and_are_binary_with_rate_p():
    x = torch.rand(500, 8, 8, generator=_gen(0))
    out = with_distractors(x, 6, 0.3, generator=_gen(1))
    assert out.shape == (500, 14, 8)
    assert torch.equal(out[:, :8], x)
    tail = out[:, 8:]
    assert set(tail.unique().tolist()) <= {0.0, 1.0}
    assert abs(float(tail.mean()) - 0.3) < 0.01  # 24,000 Bernoulli(0.3) pixels: sd 0.003
    assert torch.equal(out, with_distractors(x, 6, 0.3, generator=_gen(1)))  # fixed generator, same draws
    assert torch.equal(with_distractors(x, 0, 0.3), x)


def test_noise_is_clipped_to_the_unit_interval_and_zero_sigma_is_identity():
    x = torch.rand(50, 8, 8, generator=_gen(2))
    noisy = with_noise(x, 0.6, generator=_gen(3))
    assert float(noisy.min()) >= 0.0 and float(noisy.max()) <= 1.0
    assert not torch.equal(noisy, x)
    assert torch.equal(with_noise(x, 0.0, generator=_gen(3)), x)


def test_stretch_repeats_rows_nearest_neighbour():
    x = torch.arange(2 * 8 * 3, dtype=torch.float32).view(2, 8, 3)
    assert torch.equal(stretched(x, 16), x.repeat_interleave(2, dim=1))  # 8 -> 16: every row twice
    assert torch.equal(stretched(x, 8), x)
    ten = stretched(x, 10)  # row t of the result is row floor(8 t / 10)
    assert torch.equal(ten, x[:, [0, 0, 1, 2, 3, 4, 4, 5, 6, 7]])


@pytest.mark.parametrize("call,match", [
    (lambda x: with_distractors(x, -1), "n_rows must be >= 0"),
    (lambda x: with_distractors(x, 2, 1.5), r"p must be in \[0, 1\]"),
    (lambda x: with_noise(x, -0.1), "sigma must be >= 0"),
    (lambda x: stretched(x, 0), "n_steps must be >= 1"),
    (lambda x: stretched(x[0], 4), r"batch of row sequences \(B, T, W\)"),
])
def test_bad_probe_arguments_raise_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(torch.zeros(2, 8, 8))
