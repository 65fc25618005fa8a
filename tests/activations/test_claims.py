"""The adaptive-activation claim checks (docs/papers/activations.md §7): each rule gives each of the three verdicts on
synthetic records with the value it measures, waits where it should, and gives a real verdict on a short real run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodyn.activations import SPEC
from neurodyn.activations.claims import (
    LANDSCAPE_MARGIN,
    SHIFT_MARGIN,
    SPEED_NOISE,
    landscape_rule,
    shift_rule,
    speed_gaps,
    speed_rule,
)
from neurodyn.activations.experiment import (
    Config,
    GridConfig,
    ShiftConfig,
    build,
    build_grid,
    build_shift,
    evaluations,
    mode_rows,
)
from neurodyn.core.loop import Record, run
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

torch.set_num_threads(1)

# ---------------------------------------------------------------------------------------------------------------
# speed: synthetic three-mode records (rows: static seeds 0-1, homogeneous 0-1, heterogeneous 0-1)

SPEED_CFG = Config(n_seeds=2, epochs=3)
# per epoch: static, homogeneous, heterogeneous (two seeds each)
GOOD_ACC = {1: [0.50, 0.60, 0.56, 0.60, 0.50, 0.58], 2: [0.70, 0.80, 0.74, 0.82, 0.70, 0.78]}
# area over epochs 1-2: static (0.60, 0.70); homogeneous (0.65, 0.71): gap +0.03; heterogeneous (0.60, 0.68): -0.01


def _speed_records(accs: dict[int, list[float]], n_rows: int = 6) -> list[Record]:
    """An epoch-0 evaluation where static leads (must be ignored), then one evaluation per epoch of ``accs``, with
    training and exponent records in between (no ``acc`` artifact: must be ignored)."""
    recs = [Record(0, {}, {"acc": np.array([0.9] * (n_rows // 3) + [0.1] * (2 * n_rows // 3)), "epoch": 0})]
    for epoch, acc in accs.items():
        recs.append(Record(len(recs), {}, {"lyap": 0.3, "lyap_mode": "static", "lyap_epoch": epoch - 1}))
        recs.append(Record(len(recs), {}))
        recs.append(Record(len(recs), {}, {"acc": np.array(acc), "epoch": epoch}))
    return recs


def test_speed_gaps_are_per_seed_areas_minus_the_static_ones():
    gaps = speed_gaps(_speed_records(GOOD_ACC), SPEED_CFG)
    np.testing.assert_allclose(gaps["homogeneous"], [0.05, 0.01], atol=1e-12)
    np.testing.assert_allclose(gaps["heterogeneous"], [0.0, -0.02], atol=1e-12)
    empty = speed_gaps(_speed_records({}), SPEED_CFG)
    assert all(g.shape == (0,) for g in empty.values())


def test_speed_rule_gives_each_verdict_with_the_worse_adaptive_mode():
    res = speed_rule(_speed_records(GOOD_ACC), SPEED_CFG)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(-0.01)  # heterogeneous, not homogeneous
    assert "+0.030" in res.detail and "-0.010" in res.detail
    slow = {e: a[:4] + [a[4] - 0.05, a[5] - 0.05] for e, a in GOOD_ACC.items()}  # heterogeneous 5 points slower
    res = speed_rule(_speed_records(slow), SPEED_CFG)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(-0.06)
    slow_hom = {e: a[:2] + [a[2] - 0.08, a[3] - 0.08] + a[4:] for e, a in GOOD_ACC.items()}
    res = speed_rule(_speed_records(slow_hom), SPEED_CFG)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(-0.05)
    assert -0.01 >= -SPEED_NOISE > -0.05


def test_speed_rule_is_inconclusive_with_one_seed_or_before_two_epochs():
    one = Config(n_seeds=1, epochs=3)
    accs = {e: [a[0], a[2], a[4]] for e, a in GOOD_ACC.items()}
    res = speed_rule(_speed_records(accs, n_rows=3), one)
    assert res.verdict == INCONCLUSIVE and "2 or more seeds" in res.detail
    res = speed_rule(_speed_records({1: GOOD_ACC[1]}), SPEED_CFG)
    assert res.verdict == INCONCLUSIVE and "2 evaluated epochs (1 so far)" in res.detail
    res = speed_rule(_speed_records({}), SPEED_CFG)
    assert res.verdict == INCONCLUSIVE and res.measured is None


# ---------------------------------------------------------------------------------------------------------------
# landscape: synthetic grid records


def _grid_records(final: tuple[float, float], epochs: int = 2) -> list[Record]:
    recs = [Record(0, {"eval_epoch": 0.0, "acc_s0": 0.1, "acc_s1": 0.1})]
    for e in range(1, epochs + 1):
        acc_s0, acc_s1 = final if e == epochs else (0.2, 0.9)  # earlier epochs must not matter
        recs.append(Record(e, {"eval_epoch": float(e), "acc_s0": acc_s0, "acc_s1": acc_s1}))
    return recs


def test_landscape_rule_gives_each_verdict_on_the_latest_evaluation():
    cfg = GridConfig(epochs=2)
    res = landscape_rule(_grid_records((0.40, 0.25)), cfg)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(0.15)
    res = landscape_rule(_grid_records((0.30, 0.28)), cfg)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(0.02)
    res = landscape_rule(_grid_records((0.20, 0.35)), cfg)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(-0.15)
    assert 0.02 < LANDSCAPE_MARGIN <= 0.15
    res = landscape_rule(_grid_records((0.40, 0.25))[:1], cfg)
    assert res.verdict == INCONCLUSIVE and res.measured is None and "first epoch" in res.detail
    assert landscape_rule([], cfg).verdict == INCONCLUSIVE


# ---------------------------------------------------------------------------------------------------------------
# shift: synthetic shift records


def _shift_records(shape_shifted: float | None) -> list[Record]:
    base = {"clean_acc": 0.80, "shifted_acc": 0.40}
    pre = {**base, **{f"{r}_{s}_acc": base[f"{s}_acc"] for r in ("shape", "readout") for s in ("clean", "shifted")}}
    recs = [Record(0, {**pre, "phase": 0.0}), Record(1, {**pre, "phase": 1.0}, {"epoch": 1, "clean": 0.8,
                                                                                 "shifted": 0.4})]
    if shape_shifted is None:
        return recs
    adapted = {**base, "shape_clean_acc": 0.75, "shape_shifted_acc": shape_shifted, "readout_clean_acc": 0.70,
               "readout_shifted_acc": 0.60, "phase": 1.0}
    recs.append(Record(2, adapted, {"adapt_epoch": 1}))
    # a later record of a half-done adaptation epoch, with an unrelated value: the rule reads the latest adaptation
    recs.append(Record(3, {**adapted, "shape_shifted_acc": 0.0}))
    return recs


def test_shift_rule_gives_each_verdict_after_the_adaptation_epoch():
    cfg = ShiftConfig(epochs=1, adapt_epochs=2)
    res = shift_rule(_shift_records(0.50), cfg)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(0.10)
    assert "adaptation epoch 1" in res.detail and f"({2 * cfg.hidden} parameters)" in res.detail
    res = shift_rule(_shift_records(0.42), cfg)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(0.02)
    res = shift_rule(_shift_records(0.30), cfg)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(-0.10)
    assert 0.02 < SHIFT_MARGIN <= 0.10
    res = shift_rule(_shift_records(None), cfg)
    assert res.verdict == INCONCLUSIVE and res.measured is None and "first adaptation epoch" in res.detail


# ---------------------------------------------------------------------------------------------------------------
# the spec and short real runs


def test_spec_claims_name_its_experiments_and_carry_no_paper_number():
    names = {e.name for e in SPEC.experiments}
    assert names == {"activations", "activations_grid", "activations_shift"}
    assert [c.key for c in SPEC.claims] == ["speed", "landscape", "shift"]
    for claim in SPEC.claims:
        assert claim.experiment in names and claim.paper_value is None
    rules = {c.key: c.rule for c in SPEC.claims}
    assert rules == {"speed": speed_rule, "landscape": landscape_rule, "shift": shift_rule}


def _real(experiment: str, cfg, records):
    (claim,) = SPEC.claims_for(experiment)
    first = claim.evaluate(records[:1], cfg)
    assert first.verdict == INCONCLUSIVE and not first.detail.startswith("the check could not be evaluated")
    res = claim.evaluate(records, cfg)
    assert not res.detail.startswith("the check could not be evaluated"), res.detail
    assert res.verdict in (REPRODUCED, NOT_REPRODUCED), res.detail
    return res


def test_speed_claim_on_a_real_run():
    cfg = Config(epochs=2, n_seeds=2, hidden=8, lyapunov=False, batches_per_record=7, device="cpu")
    records = list(run(build(cfg)))
    res = _real("activations", cfg, records)
    accs = [r.artifacts["acc"] for r in evaluations(records)][1:]  # epochs 1 and 2
    assert len(accs) == 2
    area = (accs[0] + accs[1]) / 2
    static = area[mode_rows(cfg, "static")]
    worst = min(float(np.mean(area[mode_rows(cfg, m)] - static)) for m in ("homogeneous", "heterogeneous"))
    assert res.measured == pytest.approx(worst, abs=1e-12)


def test_landscape_claim_on_a_real_run():
    cfg = GridConfig(epochs=1, hidden=8, homogeneous=False, batches_per_record=7, device="cpu")
    records = list(run(build_grid(cfg)))
    res = _real("activations_grid", cfg, records)
    acc = evaluations(records)[-1].artifacts["acc"]  # rows: s = 0 (n = 1, 5, 10), s = 0.5, s = 1
    assert res.measured == pytest.approx(acc[0:3].mean() - acc[6:9].mean(), abs=1e-12)


def test_shift_claim_on_a_real_run():
    cfg = ShiftConfig(epochs=1, adapt_epochs=1, hidden=8, batches_per_record=7, device="cpu")
    records = list(run(build_shift(cfg)))
    res = _real("activations_shift", cfg, records)
    art = records[-1].artifacts
    trained = next(r.artifacts for r in records if "shifted" in r.artifacts)
    assert res.measured == pytest.approx(art["shape_shifted"] - trained["shifted"], abs=1e-12)
