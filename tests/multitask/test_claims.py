"""The modular-latent-primitives claim checks (``docs/papers/multitask.md §7``): each rule gives each verdict on
synthetic records laid out like the experiment's, waits where it should, and the paper spec's claims evaluate on a tiny
real run."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from neurodyn.core.loop import Record, run
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, VERDICTS
from neurodyn.multitask import SPEC
from neurodyn.multitask.claims import (
    closed_forms,
    efficiency_rule,
    perturbation_table,
    primitives_rule,
    robustness_rule,
)
from neurodyn.multitask.experiment import STRATEGIES, STRATEGY_LABELS, Config, build, magnitudes, metrics

torch.set_num_threads(1)

CFG = Config(levels=2, draws=2)


def _metrics(cfg: Config, **values: float) -> dict[str, float]:
    m = {x.name: 0.0 for x in metrics(cfg)}
    forms = closed_forms(cfg)
    for s in STRATEGIES:
        m[f"params_total_{s}"] = float(forms[STRATEGY_LABELS[s]]["total"])
        m[f"params_updated_{s}"] = float(forms[STRATEGY_LABELS[s]]["updated_per_task"])
    m.update(values)
    return m


def _perturb(cfg: Config, top: dict[str, float], *, draws: int | None = None) -> list[Record]:
    """Perturbation records (one per strategy, as the experiment's): unperturbed accuracy 0.8 for all; normalised
    accuracy 1 at zero, ``top`` at the largest magnitude (each draw the same) and in between linearly."""
    recs = []
    for kind in cfg.kinds:
        for level, mag in enumerate(magnitudes(cfg, kind)):
            for d in range(1 if level == 0 else (draws or cfg.draws)):
                for s in STRATEGIES:
                    label = STRATEGY_LABELS[s]
                    norm = 1 - level / cfg.levels * (1 - top[label])
                    recs.append(Record(len(recs), _metrics(cfg, stage=4.0, evaluated=4.0), {"perturbation": {
                        "kind": kind, "magnitude": mag, "level": level, "draw": d, "strategy": label,
                        "accuracy": 0.8 * norm, "normalised": norm, "unperturbed": 0.8}}))
    return recs


def _capital(res) -> None:
    assert res.detail and res.detail[0].isupper(), res.detail


# ---------------------------------------------------------------------------------------------------------------
# efficiency


def test_efficiency_reproduced_with_the_card_sizes():
    res = efficiency_rule([Record(0, _metrics(CFG))], CFG)
    assert res.verdict == REPRODUCED, res.detail
    # four tasks: MoLaP 4224 + 4 x 1155 = 8844 against Joint 18,179 (d_in = 9) and Separate 18,956
    assert res.measured == pytest.approx(8844 / 18179)
    assert "8,844" in res.detail and "1,155" in res.detail
    _capital(res)


def test_efficiency_not_reproduced_with_one_task():
    cfg = replace(CFG, tasks="DelayPro")  # MoLaP 4224 + 1155 = 5379 > Separate 4739
    res = efficiency_rule([Record(0, _metrics(cfg))], cfg)
    assert res.verdict == NOT_REPRODUCED and res.measured > 1


def test_efficiency_inconclusive_when_the_built_counts_differ_from_the_closed_forms():
    res = efficiency_rule([Record(0, _metrics(CFG, params_total_molap=1.0))], CFG)
    assert res.verdict == INCONCLUSIVE and "MoLaP" in res.detail


# ---------------------------------------------------------------------------------------------------------------
# primitives


def test_primitives_three_verdicts():
    assert primitives_rule([Record(0, _metrics(CFG, evaluated=4.0, acc_molap=0.8, acc_random=0.7))],
                           CFG).verdict == REPRODUCED
    res = primitives_rule([Record(0, _metrics(CFG, evaluated=4.0, acc_molap=0.6, acc_random=0.7))], CFG)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(-0.1)
    _capital(res)
    assert primitives_rule([Record(0, _metrics(CFG, evaluated=3.0))], CFG).verdict == INCONCLUSIVE
    random = replace(CFG, primitives="random")
    res = primitives_rule([Record(0, _metrics(random, evaluated=4.0, acc_molap=0.8))], random)
    assert res.verdict == INCONCLUSIVE and "random" in res.detail


# ---------------------------------------------------------------------------------------------------------------
# robustness


def _top(molap: float, others: float) -> dict[str, float]:
    return {STRATEGY_LABELS[s]: molap if s == "molap" else others for s in STRATEGIES}


def test_robustness_three_verdicts_and_waiting():
    res = robustness_rule(_perturb(CFG, _top(0.9, 0.5)), CFG)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(0.4)
    _capital(res)
    res = robustness_rule(_perturb(CFG, _top(0.3, 0.5)), CFG)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(-0.2)
    assert "weight noise" in res.detail and "silencing" in res.detail
    partial = _perturb(CFG, _top(0.9, 0.5))[:-1]  # the last draw of the largest silencing is missing
    res = robustness_rule(partial, CFG)
    assert res.verdict == INCONCLUSIVE and "silencing" in res.detail
    only_noise = replace(CFG, perturbations="weight noise")
    assert robustness_rule(_perturb(only_noise, _top(0.9, 0.5)), only_noise).verdict == REPRODUCED


def test_robustness_inconclusive_when_a_strategy_scored_zero():
    recs = _perturb(CFG, _top(0.9, 0.5))
    joint = next(r for r in reversed(recs) if r.artifacts["perturbation"]["strategy"] == "Joint")
    joint.artifacts["perturbation"]["normalised"] = float("nan")
    assert robustness_rule(recs, CFG).verdict == INCONCLUSIVE


def test_perturbation_table_averages_the_draws():
    recs = _perturb(CFG, _top(0.9, 0.5))
    assert recs[-1].artifacts["perturbation"]["strategy"] == "MoLaP"
    recs[-1].artifacts["perturbation"]["accuracy"] = 0.0
    table = perturbation_table(recs)
    top = table["silencing"][round(CFG.max_silenced, 10)]
    assert top["draws"] == 2 and top["raw"]["MoLaP"] == pytest.approx(0.72 / 2)
    assert table["weight noise"][0.0]["draws"] == 1
    assert perturbation_table(recs[:-1])["silencing"][round(CFG.max_silenced, 10)]["draws"] == 1
    assert perturbation_table(recs[:1])["weight noise"][0.0]["draws"] == 0  # three strategies still to come


# ---------------------------------------------------------------------------------------------------------------
# on a tiny real run


def test_spec_claims_evaluate_on_a_tiny_run():
    cfg = Config(tasks="DelayPro,MemoryAnti", n_modules=2, module_size=16, separate_units=16, joint_units=32,
                 steps_per_task=2, pretrain_steps=2, corpus_batches=9, batch=8, eval_trials=16, levels=1, draws=1)
    exp = build(cfg)
    records = []
    for r in run(exp):
        records.append(r)
        if r.metrics["stage"] == 1:  # nothing to judge yet except the parameter counts
            assert SPEC.claims[1].evaluate(records, cfg).verdict == INCONCLUSIVE
            assert SPEC.claims[2].evaluate(records, cfg).verdict == INCONCLUSIVE
    assert SPEC.claims[0].evaluate(records, cfg).verdict in (REPRODUCED, NOT_REPRODUCED)
    for claim in SPEC.claims:
        res = claim.evaluate(records, cfg)
        assert res.verdict in VERDICTS and res.threshold and res.detail, (claim.key, res)
        assert "could not be evaluated" not in res.detail
    assert SPEC.claims[1].evaluate(records, cfg).verdict != INCONCLUSIVE
    assert all(c.paper_value is None for c in SPEC.claims)
