"""The feature-alignment claim checks (``docs/papers/alignment.md`` §7, card 07 check 9): each rule gives each verdict
on synthetic records with the value it measures, waits where it should, and the paper spec's claims evaluate on a
short real run."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from neurodyn.alignment import SPEC
from neurodyn.alignment.claims import (
    ERANK_FACTOR,
    RISE_FACTOR,
    checkpoint_rows,
    erank_rule,
    noise_rule,
    probe_rows,
    rise_rule,
)
from neurodyn.alignment.experiment import Config, build, metrics
from neurodyn.core.loop import Record, run
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, VERDICTS

torch.set_num_threads(1)

CFG = Config(steps=100, device="cpu")
NOISY = dataclasses.replace(CFG, random_labels=0.5)
CPS = [0, 10, 50, 100]


def _records(cfg: Config, cps, align, erank=None, eig=None, corrupt=None) -> list[Record]:
    """A run's records as the experiment lays them out: per checkpoint, a chunk of SGD, the training-probe record
    (artifact ``checkpoint``) and the other probes' record (``probes_at``); every declared metric present."""
    names = [m.name for m in metrics(cfg)]
    recs: list[Record] = []
    kstats = {n: 0.0 for n in names}
    for i, cp in enumerate(cps):
        if i > 0:
            recs.append(Record(len(recs), {**kstats, "step": float(cp)}))
        kstats.update(step=float(cp), checkpoint=float(cp), align_train=align[i],
                      erank=erank[i] if erank else 100.0, eig_max=eig[i] if eig else 1.0)
        recs.append(Record(len(recs), dict(kstats), {"checkpoint": cp}))
        if corrupt is not None:
            kstats["align_corrupt"] = corrupt[i]
        recs.append(Record(len(recs), dict(kstats), {"probes_at": cp}))
    for r in recs:
        assert list(r.metrics) == names
    return recs


def _capital(res) -> None:
    assert res.detail and res.detail[0].isupper(), res.detail


def test_rows_pick_the_checkpoint_records():
    recs = _records(NOISY, CPS, [0.05, 0.1, 0.17, 0.1], corrupt=[0.02, 0.03, 0.04, 0.03])
    assert [r["checkpoint"] for r in checkpoint_rows(recs)] == CPS
    assert [r["checkpoint"] for r in probe_rows(recs)] == CPS
    assert [r["align_corrupt"] for r in probe_rows(recs)] == [0.02, 0.03, 0.04, 0.03]


# ---------------------------------------------------------------------------------------------------------------
# rise


def test_rise_reproduced():
    res = rise_rule(_records(CFG, [0, 50, 100], [0.05, 0.17, 0.10]), CFG)
    assert res.verdict == REPRODUCED, res.detail
    assert res.measured == pytest.approx(0.17 / 0.05)
    assert "0.050" in res.detail and "0.170" in res.detail and "step 50" in res.detail and "0.100" in res.detail
    _capital(res)


@pytest.mark.parametrize("align", [
    [0.05, 0.12, 0.10],  # peak only 2.4 x the start
    [0.05, 0.10, 0.17],  # no decline: the final value is the peak
    [0.05, 0.17, 0.17],  # ... or equals it
    [0.05, 0.17, 0.05],  # falls back to the start
    [0.05, 0.17, 0.04],  # ... or below
    [0.05, 0.04, 0.03],  # falls from the start
])
def test_rise_not_reproduced(align):
    res = rise_rule(_records(CFG, [0, 50, 100], align), CFG)
    assert res.verdict == NOT_REPRODUCED, (align, res.detail)
    assert res.measured == pytest.approx(max(align) / align[0])
    _capital(res)


def test_rise_threshold_is_the_factor():
    just = rise_rule(_records(CFG, [0, 50, 100], [0.04, 0.04 * RISE_FACTOR + 1e-9, 0.05]), CFG)
    assert just.verdict == REPRODUCED
    below = rise_rule(_records(CFG, [0, 50, 100], [0.04, 0.04 * RISE_FACTOR - 1e-6, 0.05]), CFG)
    assert below.verdict == NOT_REPRODUCED


def test_rise_waits_for_two_checkpoints_and_the_end():
    one = rise_rule(_records(CFG, [0], [0.05]), CFG)
    assert one.verdict == INCONCLUSIVE and one.measured is None
    _capital(one)
    assert rise_rule(_records(CFG, [0], [0.05])[:1], CFG).verdict == INCONCLUSIVE
    mid = rise_rule(_records(CFG, [0, 10, 50], [0.05, 0.12, 0.17]), CFG)
    assert mid.verdict == INCONCLUSIVE and mid.measured == pytest.approx(3.4)
    assert "100" in mid.detail
    _capital(mid)
    # a good run is inconclusive until its last checkpoint, whatever it looked like before
    recs = _records(CFG, [0, 50, 100], [0.05, 0.17, 0.10])
    assert rise_rule(recs[:-2], CFG).verdict == INCONCLUSIVE
    assert rise_rule(recs[:-1], CFG).verdict == REPRODUCED  # the training-probe record of step 100 decides


def test_rise_with_a_zero_start_is_inconclusive():
    res = rise_rule(_records(CFG, [0, 50, 100], [0.0, 0.17, 0.10]), CFG)
    assert res.verdict == INCONCLUSIVE and res.measured is None


# ---------------------------------------------------------------------------------------------------------------
# erank


def test_erank_reproduced():
    res = erank_rule(_records(CFG, [0, 50, 100], [0.05, 0.17, 0.1], erank=[289, 206, 166], eig=[620, 8e3, 8.4e3]),
                     CFG)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(166 / 289)
    assert "289" in res.detail and "166" in res.detail and "13.5×" in res.detail
    _capital(res)


@pytest.mark.parametrize("final", [289 * ERANK_FACTOR, 250, 289, 320])
def test_erank_not_reproduced(final):
    res = erank_rule(_records(CFG, [0, 50, 100], [0.05, 0.17, 0.1], erank=[289, 150, final]), CFG)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(final / 289)
    _capital(res)


def test_erank_waits():
    one = erank_rule(_records(CFG, [0], [0.05], erank=[289]), CFG)
    assert one.verdict == INCONCLUSIVE and one.measured is None
    _capital(one)
    mid = erank_rule(_records(CFG, [0, 50], [0.05, 0.17], erank=[289, 100]), CFG)
    assert mid.verdict == INCONCLUSIVE and mid.measured == pytest.approx(100 / 289)
    _capital(mid)


def test_erank_is_not_judged_with_random_labels():
    """The paper's spectra are for clean labels: a noisy run reports its ranks without a verdict."""
    recs = _records(NOISY, [0, 50, 100], [0.05, 0.17, 0.1], erank=[289, 300, 370], corrupt=[0.01, 0.02, 0.03])
    res = erank_rule(recs, NOISY)
    assert res.verdict == INCONCLUSIVE and res.measured == pytest.approx(370 / 289)
    assert "clean labels" in res.detail and "50%" in res.detail
    _capital(res)


def test_noise_with_a_degenerate_kernel_is_inconclusive():
    recs = _records(NOISY, CPS, [0.05, 0.0, 0.15, 0.06], corrupt=[0.01, 0.0, 0.03, 0.02])
    res = noise_rule(recs, NOISY)
    assert res.verdict == INCONCLUSIVE and res.measured is None
    _capital(res)


# ---------------------------------------------------------------------------------------------------------------
# noise


def test_noise_needs_random_labels():
    res = noise_rule(_records(CFG, CPS, [0.05, 0.1, 0.17, 0.1]), CFG)
    assert res.verdict == INCONCLUSIVE and res.measured is None
    _capital(res)


def test_noise_reproduced():
    recs = _records(NOISY, CPS, [0.05, 0.10, 0.15, 0.06], corrupt=[0.08, 0.03, 0.03, 0.05])
    res = noise_rule(recs, NOISY)
    assert res.verdict == REPRODUCED, res.detail
    assert res.measured == pytest.approx(0.06 / 0.05)  # the smallest ratio after step 0 (step 0 does not count)
    assert "0.060" in res.detail and "0.050" in res.detail and "3 checkpoints" in res.detail
    _capital(res)


@pytest.mark.parametrize("corrupt", [0.10, 0.12])
def test_noise_not_reproduced_as_soon_as_the_corrupted_probe_reaches_the_clean_one(corrupt):
    recs = _records(NOISY, [0, 10], [0.05, 0.10], corrupt=[0.02, corrupt])  # long before the end (step 100)
    res = noise_rule(recs, NOISY)
    assert res.verdict == NOT_REPRODUCED, res.detail
    assert res.measured == pytest.approx(0.10 / corrupt)
    assert "[10]" in res.detail
    _capital(res)
    # and it stays so whatever follows
    later = _records(NOISY, CPS, [0.05, 0.10, 0.17, 0.10], corrupt=[0.02, corrupt, 0.03, 0.03])
    assert noise_rule(later, NOISY).verdict == NOT_REPRODUCED


def test_noise_waits():
    only0 = noise_rule(_records(NOISY, [0], [0.05], corrupt=[0.02]), NOISY)
    assert only0.verdict == INCONCLUSIVE and only0.measured is None
    _capital(only0)
    mid = noise_rule(_records(NOISY, [0, 10, 50], [0.05, 0.10, 0.15], corrupt=[0.02, 0.03, 0.05]), NOISY)
    assert mid.verdict == INCONCLUSIVE and mid.measured == pytest.approx(3.0)
    _capital(mid)
    # the training-probe record of the last checkpoint is not enough: the corrupted probe is computed after it
    recs = _records(NOISY, CPS, [0.05, 0.10, 0.15, 0.06], corrupt=[0.08, 0.03, 0.03, 0.05])
    assert noise_rule(recs[:-1], NOISY).verdict == INCONCLUSIVE
    assert noise_rule(recs, NOISY).verdict == REPRODUCED


# ---------------------------------------------------------------------------------------------------------------
# the spec on a real run


def test_spec_claims():
    assert SPEC.key == "alignment" and [c.key for c in SPEC.claims] == ["rise", "erank", "noise"]
    assert {c.experiment for c in SPEC.claims} == {"alignment"}
    assert [c.rule for c in SPEC.claims] == [rise_rule, erank_rule, noise_rule]


def test_spec_claims_evaluate_on_a_short_real_run():
    cfg = Config(steps=20, steps_per_record=10, width=32, probe_per_class=5, random_labels=0.5, device="cpu")
    records = list(run(build(cfg)))
    rules = {"rise": rise_rule, "erank": erank_rule, "noise": noise_rule}
    for k in (1, 2, len(records) // 2, len(records) - 1, len(records)):
        for claim in SPEC.claims:
            direct = rules[claim.key](records[:k], cfg)  # raises if the rule breaks
            res = claim.evaluate(records[:k], cfg)
            assert res.verdict in VERDICTS and res.verdict == direct.verdict
            _capital(res)
            if k < len(records) - 1:
                assert res.verdict == INCONCLUSIVE or (claim.key == "noise" and res.verdict == NOT_REPRODUCED)
    for claim in SPEC.claims:
        assert claim.evaluate([], cfg).verdict == INCONCLUSIVE
