"""The claim checks of the attention paper (``docs/papers/attention.md §8``): each verdict on synthetic records, and
the rules on a short real run."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from neurodyn.attention import SPEC, final_records
from neurodyn.attention.experiment import METRICS, PRESETS, build
from neurodyn.core.loop import Record, run
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

torch.set_num_threads(1)
SMALL = replace(PRESETS["small"], device="cpu")
CLAIMS = {c.key: c for c in SPEC.claims}


def _records(cfg, comp, mha, *, selection=0.5, upto=None, weights=(5376.0, 4096.0)):
    """One record per ``steps_per_record`` optimizer steps up to ``upto`` (default the whole run); held-out L1
    ``comp(step)`` and ``mha(step)``."""
    end = cfg.n_steps if upto is None else upto
    out = []
    for step in range(cfg.steps_per_record, end + 1, cfg.steps_per_record):
        m = {name.name: 0.0 for name in METRICS}
        m.update(comp_eval_l1=comp(step), mha_eval_l1=mha(step), selection_accuracy=selection, zero_l1=0.764,
                 comp_attention_weights=weights[0], mha_attention_weights=weights[1],
                 done=float(step >= cfg.n_steps))
        out.append(Record(step=step, metrics=m))
    return out


def test_every_claim_judges_the_attention_experiment_and_only_the_zero_line_quotes_a_number():
    assert set(CLAIMS) == {"specialisation", "comp_below_mha", "below_zero_line", "parameter_difference"}
    assert all(c.experiment == "attention" for c in SPEC.claims)
    assert CLAIMS["specialisation"].paper_value is None and CLAIMS["comp_below_mha"].paper_value is None
    assert CLAIMS["below_zero_line"].paper_value.startswith("0.764")


def test_final_records_are_the_last_tenth_of_the_optimizer_steps():
    recs = _records(SMALL, lambda s: 0.3, lambda s: 0.4)
    final = final_records(recs, SMALL)
    assert [r.step for r in final] == list(range(905, 1001, 5))
    assert final_records(recs[:-1], SMALL) is None  # the run has not reached its last step


def test_specialisation_verdicts():
    rule = CLAIMS["specialisation"].evaluate
    crisp = _records(SMALL, lambda s: 0.3, lambda s: 0.4, selection=0.97, upto=500)
    assert rule(crisp, SMALL).verdict == REPRODUCED  # already above the threshold half-way
    soft_going = _records(SMALL, lambda s: 0.3, lambda s: 0.4, selection=0.7, upto=500)
    res = rule(soft_going, SMALL)
    assert res.verdict == INCONCLUSIVE and "500 of 1000" in res.detail
    soft_done = _records(SMALL, lambda s: 0.3, lambda s: 0.4, selection=0.7)
    res = rule(soft_done, SMALL)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(0.7)


def test_comp_below_mha_verdicts_average_the_final_evaluations():
    rule = CLAIMS["comp_below_mha"].evaluate
    # Comp's last evaluation alone is above MHA's, but over the final tenth Comp is lower: the mean decides
    recs = _records(SMALL, lambda s: 0.25 if s < 1000 else 0.35, lambda s: 0.30)
    res = rule(recs, SMALL)
    want = (0.25 * 19 + 0.35) / 20 / 0.30
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(want)
    res = rule(_records(SMALL, lambda s: 0.31, lambda s: 0.30), SMALL)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(0.31 / 0.30)
    res = rule(_records(SMALL, lambda s: 0.2, lambda s: 0.3, upto=995), SMALL)
    assert res.verdict == INCONCLUSIVE and res.measured is None


def test_zero_line_verdicts():
    rule = CLAIMS["below_zero_line"].evaluate
    c1, c2, p = -0.71347752, -0.6062312, 1 / 18  # attention.md §3: N = 10, r_gt = 2
    line = math.sqrt(2 / math.pi) * ((1 - p) * math.hypot(c1, c2) + p * abs(c1 + c2))
    assert line == pytest.approx(0.764, abs=5e-4)
    res = rule(_records(SMALL, lambda s: 0.28, lambda s: 0.36), SMALL)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(0.36 / line, rel=1e-9)
    res = rule(_records(SMALL, lambda s: 0.28, lambda s: 0.59), SMALL)  # MHA stuck: above half the line
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(0.59 / line, rel=1e-9)
    assert rule(_records(SMALL, lambda s: 0.28, lambda s: 0.36, upto=500), SMALL).verdict == INCONCLUSIVE


def test_parameter_difference_verdicts():
    rule = CLAIMS["parameter_difference"].evaluate
    # S = R = H = 2, D = 32, d_v = d_r = 16: (R−S)·D·d_v + S·D·d_r + d_v·d_r = 0 + 1024 + 256
    res = rule(_records(SMALL, lambda s: 0.3, lambda s: 0.3, upto=5), SMALL)
    assert res.verdict == REPRODUCED and res.measured == 1280 and "= 1280" in res.threshold
    res = rule(_records(SMALL, lambda s: 0.3, lambda s: 0.3, upto=5, weights=(5376.0, 4095.0)), SMALL)
    assert res.verdict == NOT_REPRODUCED and res.measured == 1281
    # paper preset: MHA heads of width 32 against Comp's d_v = 16: held to the two full formulas
    paper = PRESETS["paper"]
    comp_w = 2 * 2 * 64 * 32 + 4 * 64 * 16 + 2 * 64 * 32 + 16 * 32 + 2 * 16 * 64
    mha_w = 2 * 2 * 64 * 32 + 2 * 64 * 32 + 2 * 32 * 64
    res = rule(_records(paper, lambda s: 0.3, lambda s: 0.3, upto=10, weights=(comp_w, mha_w)), paper)
    assert res.verdict == REPRODUCED and res.measured == comp_w - mha_w and "full count formulas" in res.detail


def test_claims_on_a_short_real_run():
    cfg = replace(SMALL, n_steps=20, eval_size=128, n_retrievals=4, n_heads=2)  # S = H = 2, R = 4
    recs = list(run(build(cfg)))
    results = {key: c.evaluate(recs, cfg) for key, c in CLAIMS.items()}
    # R = 4 gives d_v = 8 against MHA's head width 16: the full formulas; Comp − MHA = 1280 − 64 + 4·32·8 − 2·32·16
    params = results["parameter_difference"]
    comp_w = 2 * 2 * 32 * 16 + 4 * 32 * 8 + 2 * 32 * 16 + 8 * 16 + 2 * 8 * 32
    assert params.verdict == REPRODUCED and params.measured == comp_w - 4096
    final = final_records(recs, cfg)
    comp = sum(r.metrics["comp_eval_l1"] for r in final) / len(final)
    mha = sum(r.metrics["mha_eval_l1"] for r in final) / len(final)
    assert results["comp_below_mha"].measured == pytest.approx(comp / mha)
    assert results["comp_below_mha"].verdict == (REPRODUCED if comp < mha else NOT_REPRODUCED)
    # 20 steps are far from learning the task: both models sit near the zero line
    assert results["below_zero_line"].verdict == NOT_REPRODUCED
    assert results["specialisation"].verdict in (REPRODUCED, NOT_REPRODUCED)
    assert results["specialisation"].measured == pytest.approx(recs[-1].metrics["selection_accuracy"])
