"""``docs/papers/attention.md §6`` check 10: the contextual-retrieval generator."""

from __future__ import annotations

import pytest
import torch

from neurodyn.attention.tasks import (
    COEFFICIENTS,
    contextual_retrieval_batch,
    input_width,
    ood_split,
    zero_predictor_l1,
)

torch.set_num_threads(1)


def test_neighbours_exclude_self_and_label_matches_formula_on_hand_built_example(monkeypatch):
    # 4 tokens, s_gt = r_gt = 2; features fixed by hand through a patched randn
    feats = torch.tensor([[[0.0, 5.0, 1.0, 2.0],
                           [0.1, 0.0, 3.0, 4.0],
                           [1.0, 0.2, 5.0, 6.0],
                           [3.0, 5.5, 7.0, 8.0]]])
    tasks = torch.tensor([[[0, 1], [1, 0], [0, 0], [1, 1]]])
    monkeypatch.setattr(torch, "randn", lambda *a, **k: feats.clone())
    monkeypatch.setattr(torch, "randint", lambda *a, **k: tasks.clone())
    b = contextual_retrieval_batch(1, 4, 2, 2, generator=torch.Generator())
    # search 0 (feature 0 = 0, .1, 1, 3): 0->1, 1->0, 2->1, 3->2 ; search 1 (5, 0, .2, 5.5): 0->3, 1->2, 2->1, 3->0
    assert b.neighbours[0].tolist() == [[1, 3], [0, 2], [1, 1], [2, 0]]
    c1, c2 = COEFFICIENTS[:2]
    retr = feats[0, :, 2:]
    want = [c1 * retr[1, 0] + c2 * retr[3, 1], c1 * retr[0, 1] + c2 * retr[2, 0],
            c1 * retr[1, 0] + c2 * retr[1, 0], c1 * retr[2, 1] + c2 * retr[0, 1]]
    torch.testing.assert_close(b.y[0], torch.stack(want))
    assert b.x.shape == (1, 4, input_width(2, 2)) and b.x[0, 0, 4:].tolist() == [1, 0, 0, 1]


@pytest.mark.parametrize("coefficients,want", [(True, 0.764), (False, 1.154)])
def test_zero_predictor_l1_matches_closed_form_on_200k_tokens(coefficients, want):
    g = torch.Generator().manual_seed(0)
    b = contextual_retrieval_batch(20_000, 10, 2, 2, generator=g, coefficients=coefficients, dtype=torch.float64)
    assert abs(b.y.abs().mean().item() - want) < 0.01
    assert abs(zero_predictor_l1(10, 2, 2, coefficients=coefficients) - want) < 5e-4


def test_ood_split_for_two_by_two_is_three_train_one_test():
    train, test = ood_split(2, 2)
    assert train == [(0, 0), (1, 0), (0, 1)] and test == [(1, 1)]
    assert sorted(train + test) == sorted([(0, 0), (0, 1), (1, 0), (1, 1)])


def test_ood_split_handles_small_cases_the_reference_crashes_on():
    # the reference code fails once the even split alone reaches 80% (docs/papers/attention.md §5)
    assert ood_split(1, 2) == ([(0,)], [(1,)])
    assert ood_split(1, 3) == ([(0,), (2,)], [(1,)])
    with pytest.raises(ValueError, match="no out-of-distribution"):
        ood_split(1, 1)


def test_restricted_combinations_are_respected_and_generator_is_reproducible():
    train, test = ood_split(2, 2)
    b1 = contextual_retrieval_batch(64, 10, 2, 2, generator=torch.Generator().manual_seed(3), combinations=test)
    b2 = contextual_retrieval_batch(64, 10, 2, 2, generator=torch.Generator().manual_seed(3), combinations=test)
    assert torch.equal(b1.x, b2.x) and torch.equal(b1.y, b2.y)
    assert (b1.tasks == 1).all()
    b3 = contextual_retrieval_batch(256, 10, 2, 2, generator=torch.Generator().manual_seed(4), combinations=train)
    assert not ((b3.tasks[..., 0] == 1) & (b3.tasks[..., 1] == 1)).any()
    assert (b3.neighbours != torch.arange(10).view(1, 10, 1)).all()
