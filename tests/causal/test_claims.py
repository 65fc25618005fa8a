"""The causal-induction claim checks (``docs/papers/causal.md §7``): each rule gives each verdict on synthetic records
laid out like the experiment's, with the value it measures, waits where it should, and the paper spec's claims
evaluate on tiny real runs."""

from __future__ import annotations

import pytest
import torch

from neurodyn.causal import SPEC
from neurodyn.causal.claims import evaluations, scaling_rule, structure_rule
from neurodyn.causal.experiment import (
    MODEL_LABELS,
    MODELS,
    Config,
    SweepConfig,
    build,
    build_sweep,
    metrics,
    sweep_metrics,
)
from neurodyn.core.loop import Record, run
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, VERDICTS

torch.set_num_threads(1)

CFG = Config(steps=100, eval_every=50, steps_per_record=25, device="cpu")


def _records(cfg: Config, evals: list[tuple[int, dict[str, float]]]) -> list[Record]:
    """A ``causal`` run's records: per evaluation point, the training chunks up to it, then one record per model,
    the last with the artifacts ``evaluated`` and ``latents``; ``evals`` gives each point's H@1 at k = 5 per model."""
    names = [m.name for m in metrics(cfg)]
    state = {n: 0.0 for n in names}
    recs: list[Record] = []
    prev = 0
    for point, h in evals:
        for s in range(prev + cfg.steps_per_record, point + 1, cfg.steps_per_record):
            state.update(step=float(s), **{f"loss_{m}": 1.0 / s for m in MODELS})
            recs.append(Record(len(recs), dict(state)))
        prev = point
        for i, m in enumerate(MODELS):
            state.update(evaluated_at=float(point), **{f"h1_k5_{m}": h[m], f"h1_k1_{m}": min(1.0, h[m] + 0.1)})
            art = {"evaluated": point, "latents": {}} if i == len(MODELS) - 1 else {}
            if not recs:
                art.update(example={}, adjacency=None)
            recs.append(Record(len(recs), dict(state), art))
    for r in recs:
        assert list(r.metrics) == names
    return recs


def _h(mono: float, modular: float, gnn: float) -> dict[str, float]:
    return {"monolithic": mono, "modular": modular, "gnn": gnn}


START = (0, _h(0.01, 0.02, 0.0))


def _capital(res) -> None:
    assert res.detail and res.detail[0].isupper(), res.detail


def test_evaluations_pick_the_last_record_of_each_evaluation():
    recs = _records(CFG, [START, (50, _h(0.3, 0.4, 0.5)), (100, _h(0.5, 0.6, 0.7))])
    assert [e["evaluated_at"] for e in evaluations(recs)] == [0, 50, 100]
    assert [e["h1_k5_gnn"] for e in evaluations(recs)] == [0.0, 0.5, 0.7]


# ---------------------------------------------------------------------------------------------------------------
# structure


def test_structure_reproduced_and_the_value_is_the_smaller_lead():
    res = structure_rule(_records(CFG, [START, (50, _h(0.3, 0.2, 0.2)), (100, _h(0.5, 0.8, 0.7))]), CFG)
    assert res.verdict == REPRODUCED, res.detail
    assert res.measured == pytest.approx(0.2)
    _capital(res)
    assert "step 100" in res.detail and "0.50" in res.detail and "0.80" in res.detail and "0.70" in res.detail
    assert all(MODEL_LABELS[m] in res.detail for m in MODELS)
    assert "N = 3" in res.detail and "chain" in res.detail


@pytest.mark.parametrize("h, lead", [
    (_h(0.5, 0.8, 0.4), -0.1),  # the graph network behind
    (_h(0.5, 0.4, 0.9), -0.1),  # the modular model behind
    (_h(0.5, 0.5, 0.9), 0.0),  # a tie is no lead
    (_h(0.9, 0.6, 0.5), -0.4),  # both behind
])
def test_structure_not_reproduced(h, lead):
    res = structure_rule(_records(CFG, [START, (50, _h(0.2, 0.6, 0.6)), (100, h)]), CFG)
    assert res.verdict == NOT_REPRODUCED, res.detail
    assert res.measured == pytest.approx(lead)
    _capital(res)


def test_structure_waits_for_an_evaluation_after_training_started():
    recs = _records(CFG, [START, (50, _h(0.2, 0.6, 0.6))])
    for upto in (1, 2, 3):  # the first records of the run: no evaluation yet, then only the one at step 0
        res = structure_rule(recs[:upto], CFG)
        assert res.verdict == INCONCLUSIVE and res.measured is None, res.detail
        _capital(res)


def test_structure_waits_for_the_end_of_training():
    recs = _records(CFG, [START, (50, _h(0.2, 0.6, 0.5)), (100, _h(0.5, 0.8, 0.7))])
    mid = [r for r in recs if r.metrics["evaluated_at"] <= 50]
    res = structure_rule(mid, CFG)
    assert res.verdict == INCONCLUSIVE, res.detail
    assert res.measured == pytest.approx(0.3)  # the lead so far is shown
    assert "step 50" in res.detail and "100" in res.detail
    _capital(res)
    # training records after the last evaluation do not count as an evaluation
    res = structure_rule(recs[:-len(MODELS)], CFG)
    assert res.verdict == INCONCLUSIVE and "step 50" in res.detail


# ---------------------------------------------------------------------------------------------------------------
# scaling


def _sweep(cfg: SweepConfig, finals: dict[int, dict[str, float]], chunks: int = 2) -> list[Record]:
    """A ``causal_sweep`` run's records: ``chunks`` records per size, the last with ``finished_n`` and ``scores``;
    ``finals`` gives the finished sizes' H@1 at k = 5 per model (sizes not in it are still running or to come)."""
    names = [m.name for m in sweep_metrics(cfg)]
    state = {n: 0.0 for n in names}
    recs: list[Record] = []
    for i, n in enumerate(cfg.n_values):
        for j in range(chunks):
            art = {}
            state["current_n"] = float(n)
            if j == chunks - 1 and n in finals:
                state.update({f"h1_k5_{m}_n{n}": finals[n][m] for m in MODELS}, n_done=float(i + 1))
                art = {"finished_n": n, "scores": {f"h1_k5_{m}": finals[n][m] for m in MODELS}}
            recs.append(Record(len(recs), dict(state), art))
        if n not in finals:
            break
    for r in recs:
        assert list(r.metrics) == names
    return recs


SWEEP = SweepConfig(sizes="3,5,7", steps=100, device="cpu")


def test_scaling_needs_two_sizes():
    one = SweepConfig(sizes="3", steps=100)
    res = scaling_rule(_sweep(one, {3: _h(0.5, 0.6, 0.7)}), one)
    assert res.verdict == INCONCLUSIVE and res.measured is None
    _capital(res)


def test_scaling_waits_for_every_size():
    for finals in ({}, {3: _h(0.9, 0.9, 0.9)}, {3: _h(0.9, 0.9, 0.9), 5: _h(0.5, 0.6, 0.7)}):
        res = scaling_rule(_sweep(SWEEP, finals), SWEEP)
        assert res.verdict == INCONCLUSIVE and res.measured is None, res.detail
        assert f"{len(finals)} of 3" in res.detail
        _capital(res)


def test_scaling_reproduced_when_both_leads_grow():
    finals = {3: _h(0.9, 0.9, 0.95), 5: _h(0.1, 0.0, 0.0), 7: _h(0.3, 0.5, 0.6)}  # N = 5 is not read
    res = scaling_rule(_sweep(SWEEP, finals), SWEEP)
    assert res.verdict == REPRODUCED, res.detail
    assert res.measured == pytest.approx(0.2)  # the modular model's lead: 0.0 at N = 3, +0.2 at N = 7
    _capital(res)
    assert "N = 3" in res.detail and "N = 7" in res.detail and "+0.20" in res.detail and "+0.30" in res.detail
    assert MODEL_LABELS["modular"].capitalize() in res.detail and MODEL_LABELS["gnn"] in res.detail


@pytest.mark.parametrize("lo, hi, growth", [
    (_h(0.9, 0.9, 0.95), _h(0.3, 0.5, 0.3), 0.2),  # the graph network's lead shrinks
    (_h(0.9, 0.95, 0.9), _h(0.3, 0.3, 0.5), -0.05),  # the modular model's lead shrinks
    (_h(0.5, 0.75, 0.75), _h(0.25, 0.5, 0.5), 0.0),  # equal leads do not grow (exact binary fractions)
    (_h(0.5, 0.9, 0.9), _h(0.3, 0.3, 0.3), -0.4),  # both shrink
])
def test_scaling_not_reproduced_when_either_lead_does_not_grow(lo, hi, growth):
    res = scaling_rule(_sweep(SWEEP, {3: lo, 5: _h(0.5, 0.5, 0.5), 7: hi}), SWEEP)
    assert res.verdict == NOT_REPRODUCED, res.detail
    assert res.measured == pytest.approx(growth)
    _capital(res)


# ---------------------------------------------------------------------------------------------------------------
# the spec's claims on tiny real runs


@pytest.fixture(scope="module")
def real_runs():
    cfg = Config(steps=16, eval_every=8, steps_per_record=4, episodes=20, episode_steps=5, test_paths=100, batch=16,
                 device="cpu")
    sweep = SweepConfig(sizes="3,4", steps=8, device="cpu")
    return {"causal": (cfg, list(run(build(cfg)))), "causal_sweep": (sweep, list(run(build_sweep(sweep))))}


def test_spec_claims_evaluate_on_tiny_runs(real_runs):
    assert [c.key for c in SPEC.claims] == ["structure", "scaling"]
    for claim in SPEC.claims:
        cfg, records = real_runs[claim.experiment]
        res = claim.evaluate(records, cfg)
        assert res.verdict in (REPRODUCED, NOT_REPRODUCED), res.detail  # both runs finished
        assert res.measured is not None and "could not be evaluated" not in res.detail
        _capital(res)
        for upto in range(1, len(records)):  # and every prefix of the run evaluates without error
            part = claim.evaluate(records[:upto], cfg)
            assert part.verdict in VERDICTS and "could not be evaluated" not in part.detail, part.detail
            if claim.key == "scaling" or upto < len(records) - 1:
                assert part.verdict == INCONCLUSIVE
