"""Ranking metrics (paper card §2.7, §6): identities under both tie rules, de-duplication, agreement with the sort."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodyn.causal.metrics import ranking_metrics, reference_ranks

torch.set_num_threads(1)


def _from_ranks(ranks: np.ndarray) -> dict[str, float]:
    return {"hits_at_1": float(np.mean(ranks == 1)), "mrr": float(np.mean(1.0 / ranks))}


def _counted_ranks(pred, target, rule, state_ids=None) -> np.ndarray:
    """The rank definitions written out on the full matrix in numpy (no chunks, no sort)."""
    p, t = (np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in (pred, target))
    dist = ((t[:, None, :] - p[None, :, :]) ** 2).sum(-1)
    own = np.diag(dist)[:, None]
    beats = dist < own if rule == "paper" else (dist <= own) & ~np.eye(len(p), dtype=bool)
    if state_ids is not None:
        ids = np.asarray(state_ids)
        beats &= ids[None, :] != ids[:, None]
    return 1 + beats.sum(1)


@pytest.mark.parametrize("rule", ["paper", "pessimistic"])
def test_perfect_prediction_scores_one(rule):
    z = torch.randn(40, 3, 4, generator=torch.Generator().manual_seed(0))
    assert ranking_metrics(z, z.clone(), rule=rule) == {"hits_at_1": 1.0, "mrr": 1.0}


@pytest.mark.parametrize("rule", ["paper", "pessimistic"])
def test_swapped_pair_of_separated_points(rule):
    target = torch.tensor([[0.0, 0.0], [10.0, 10.0]])
    assert ranking_metrics(target.flip(0), target, rule=rule) == {"hits_at_1": 0.0, "mrr": 0.5}


def test_constant_predictor_under_both_rules():
    m = 50
    target = torch.randn(m, 2, 3, generator=torch.Generator().manual_seed(1))
    pred = torch.full_like(target, 0.3)
    assert ranking_metrics(pred, target, rule="paper") == {"hits_at_1": 1.0, "mrr": 1.0}
    pessimistic = ranking_metrics(pred, target, rule="pessimistic", chunk_size=16)
    assert pessimistic["hits_at_1"] == 0.0
    assert pessimistic["mrr"] == pytest.approx(1.0 / m, abs=1e-12)


def test_deduplicated_oracle_scores_one():
    ids = torch.randint(0, 10, (200,), generator=torch.Generator().manual_seed(2))
    oracle = torch.nn.functional.one_hot(ids, 10).float()  # encoder = one-hot state, transition = simulator
    for rule in ("paper", "pessimistic"):
        assert ranking_metrics(oracle, oracle, rule=rule, state_ids=ids, chunk_size=33)["hits_at_1"] == 1.0
    assert ranking_metrics(oracle, oracle, rule="pessimistic")["hits_at_1"] < 1.0  # duplicates compete
    assert ranking_metrics(oracle, oracle, rule="paper")["hits_at_1"] == 1.0  # ties go to the true pair


@pytest.mark.parametrize("ties", [False, True])
def test_paper_rule_agrees_with_reference_sort(ties):
    gen = torch.Generator().manual_seed(3)
    m = 300
    if ties:  # small integers: many exact ties, and every distance is exact in any summation order
        target = torch.randint(0, 3, (m, 2, 2), generator=gen).float()
        pred = torch.randint(0, 3, (m, 2, 2), generator=gen).float()
    else:
        target = torch.randn(m, 2, 2, generator=gen)
        pred = target + 0.7 * torch.randn(m, 2, 2, generator=gen)
    ranks = reference_ranks(pred, target)
    assert ranks.min() >= 1 and ranks.max() > 1
    np.testing.assert_array_equal(ranks, _counted_ranks(pred, target, "paper"))
    expected = _from_ranks(ranks)
    for chunk in (1, 7, 64, 300, 1024):
        got = ranking_metrics(pred, target, rule="paper", chunk_size=chunk)
        assert got == pytest.approx(expected, abs=1e-12)


def test_pessimistic_and_deduplicated_rules_match_counting():
    gen = torch.Generator().manual_seed(4)
    target = torch.randint(0, 3, (120, 3), generator=gen).double()
    pred = torch.randint(0, 3, (120, 3), generator=gen).double()
    ids = torch.randint(0, 6, (120,), generator=gen)
    for rule in ("paper", "pessimistic"):
        for state_ids in (None, ids):
            expected = _from_ranks(_counted_ranks(pred, target, rule, state_ids))
            got = ranking_metrics(pred, target, rule=rule, state_ids=state_ids, chunk_size=50)
            assert got == pytest.approx(expected, abs=1e-12)


def test_invalid_arguments():
    z = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="rule"):
        ranking_metrics(z, z, rule="optimistic")
    with pytest.raises(ValueError, match="shape"):
        ranking_metrics(z, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="M >= 1"):
        ranking_metrics(torch.zeros(0, 2), torch.zeros(0, 2))
    with pytest.raises(ValueError, match="state_ids"):
        ranking_metrics(z, z, state_ids=torch.zeros(3))
    with pytest.raises(ValueError, match="chunk_size"):
        ranking_metrics(z, z, chunk_size=0)


@pytest.mark.parametrize("rule", ["paper", "pessimistic"])
def test_near_ties_below_float32_resolution_are_decided_exactly(rule):
    """Competitors closer or farther than the true pair by 1e-9 (far below the float32 screen's resolution), exact
    ties and duplicated predictions: the ranks equal a plain float64 count over the whole matrix."""
    gen = torch.Generator().manual_seed(3)
    target = torch.randn(200, 12, generator=gen, dtype=torch.float64)
    pred = target + 0.3 * torch.randn(200, 12, generator=gen, dtype=torch.float64)
    pred[100:150] = pred[100]  # a block of identical predictions
    for i in range(0, 100, 2):  # prediction i+1 lies a hair off prediction i: nearly tied in both directions
        pred[i + 1] = pred[i] + (1e-9 if i % 4 else -1e-9) * torch.randn(12, generator=gen, dtype=torch.float64)
    ids = torch.randint(0, 40, (200,), generator=gen)
    for state_ids in (None, ids):
        for chunk in (1, 7, 64, 200):
            got = ranking_metrics(pred, target, rule=rule, state_ids=state_ids, chunk_size=chunk)
            want = _from_ranks(_counted_ranks(pred, target, rule, None if state_ids is None else state_ids.numpy()))
            assert got["hits_at_1"] == pytest.approx(want["hits_at_1"], abs=1e-12)
            assert got["mrr"] == pytest.approx(want["mrr"], abs=1e-12)
