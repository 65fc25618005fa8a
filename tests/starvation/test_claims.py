"""The gradient-starvation claim checks (``docs/papers/starvation.md`` §6-7): each rule gives each verdict on
synthetic records with the value it measures, waits where it should, and the paper spec is consistent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodyn.core.loop import Record, run
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from neurodyn.starvation import SPEC
from neurodyn.starvation.claims import (
    MARGIN_TOL,
    TOY_SD_Z,
    TOY_TOL,
    TOY_WD_Z2,
    boundary_rule,
    sd_margin_rule,
    toy_decoupling_rule,
    toy_starvation_rule,
)
from neurodyn.starvation.experiment import (
    METRICS,
    REGULARISERS,
    TOY_METRICS,
    Config,
    ToyConfig,
    build,
    sd_margin_target,
)
from neurodyn.starvation.functional import sd_fixed_point

torch.set_num_threads(1)

CFG = Config(margin=0.1, epochs=1000, sd_coef=0.003)
TOY = ToyConfig()


def _moons_record(step: int = 0, **metrics: float) -> Record:
    """A record with every declared metric (neutral values) and ``metrics`` on top."""
    base = {m.name: 0.0 for m in METRICS}
    base.update({"epoch": 1000.0, "snapshot_epoch": 1000.0, "margin_ce": 9.0, "margin_sd": 3.8})
    base.update({f"boundary_x_{r}": 0.05 for r in REGULARISERS})
    base.update(metrics)
    return Record(step, base)


GOOD = {"min_dist_ce": 0.10, "min_dist_wd": 0.11, "min_dist_sd": 0.20, "boundary_x_ce": 0.05,
        "boundary_x_wd": 0.05, "boundary_x_sd": 0.13}


def _toy_records(z2_wd, s1=(2.0, 3.0, 4.0, 5.0, 6.0), z_sd=None) -> list[Record]:
    recs = []
    for k, (s, z2) in enumerate(zip(s1, z2_wd)):
        z1s, z2s = (TOY_SD_Z if z_sd is None else z_sd[k])
        recs.append(Record(k, {"s1": s, "z1_wd": 5.0 + s, "z2_wd": z2, "z1_sd": z1s, "z2_sd": z2s}))
    return recs


PRINTED = [TOY_WD_Z2[s] for s in (2.0, 3.0, 4.0, 5.0, 6.0)]

# ---------------------------------------------------------------------------------------------------------------
# boundary


def test_boundary_rule_reproduced_with_the_ratio_of_distances():
    res = boundary_rule([_moons_record(0, epoch=500.0, snapshot_epoch=500.0), _moons_record(1, **GOOD)], CFG)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(2.0)
    assert "0.100" in res.detail and "0.200" in res.detail and "0.110" in res.detail


@pytest.mark.parametrize("change", [
    {"min_dist_ce": 0.13},  # CE's boundary leaves the gap: > 1.2 Δ
    {"min_dist_sd": 0.16},  # SD's stays too close: < 1.7 Δ
    {"boundary_x_sd": 0.09},  # SD's boundary not twice as curved as CE's (0.05)
])
def test_boundary_rule_not_reproduced(change):
    res = boundary_rule([_moons_record(0, **{**GOOD, **change})], CFG)
    assert res.verdict == NOT_REPRODUCED
    assert res.measured == pytest.approx(({**GOOD, **change})["min_dist_sd"] / ({**GOOD, **change})["min_dist_ce"])


def test_boundary_rule_thresholds_scale_with_the_margin():
    cfg = Config(margin=0.2, epochs=1000)
    assert boundary_rule([_moons_record(0, **GOOD)], cfg).verdict == NOT_REPRODUCED  # 0.20 < 1.7 · 0.2
    wide = {**GOOD, "min_dist_ce": 0.22, "min_dist_sd": 0.36}
    assert boundary_rule([_moons_record(0, **wide)], cfg).verdict == REPRODUCED


@pytest.mark.parametrize("margin", [0.0, -0.1])
def test_boundary_rule_inconclusive_without_a_gap(margin):
    res = boundary_rule([_moons_record(0, **GOOD)], Config(margin=margin, epochs=1000))
    assert res.verdict == INCONCLUSIVE and res.measured is None and "Δ > 0" in res.detail


def test_boundary_rule_waits_for_the_final_snapshot():
    res = boundary_rule([_moons_record(0, **GOOD, snapshot_epoch=900.0)], CFG)
    assert res.verdict == INCONCLUSIVE and "900" in res.detail
    # training finished, the final snapshot still being measured
    res = boundary_rule([_moons_record(0, **GOOD, epoch=1000.0, snapshot_epoch=900.0)], CFG)
    assert res.verdict == INCONCLUSIVE


# ---------------------------------------------------------------------------------------------------------------
# SD margin


def test_sd_margin_rule_verdicts():
    u = sd_margin_target(CFG)
    assert u == pytest.approx(3.76689, abs=1e-5)
    res = sd_margin_rule([_moons_record(0, margin_sd=3.81)], CFG)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(3.81) and "3.767" in res.threshold
    res = sd_margin_rule([_moons_record(0, margin_sd=u - MARGIN_TOL - 0.01)], CFG)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(u - 0.16)
    res = sd_margin_rule([_moons_record(0, margin_sd=u + MARGIN_TOL + 0.01)], CFG)
    assert res.verdict == NOT_REPRODUCED


def test_sd_margin_rule_follows_the_coefficient():
    cfg = Config(sd_coef=0.001, epochs=1000)  # λ = 0.002: u* = 4.665
    assert sd_margin_target(cfg) == sd_fixed_point(0.002)
    assert sd_margin_rule([_moons_record(0, margin_sd=4.70)], cfg).verdict == REPRODUCED
    assert sd_margin_rule([_moons_record(0, margin_sd=3.81)], cfg).verdict == NOT_REPRODUCED


def test_sd_margin_rule_waits_for_the_last_epoch():
    res = sd_margin_rule([_moons_record(0, margin_sd=3.8, epoch=990.0)], CFG)
    assert res.verdict == INCONCLUSIVE and "990" in res.detail


# ---------------------------------------------------------------------------------------------------------------
# the toy


def test_toy_starvation_rule_verdicts():
    res = toy_starvation_rule(_toy_records(PRINTED), TOY)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(0.0, abs=1e-12)
    off = list(PRINTED)
    off[2] += 0.03  # 1.50 instead of 1.47, still decreasing
    res = toy_starvation_rule(_toy_records(off), TOY)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(0.03)
    close = list(PRINTED)
    close[2] += TOY_TOL / 2
    assert toy_starvation_rule(_toy_records(close), TOY).verdict == REPRODUCED


def test_toy_starvation_rule_on_other_s1_values_checks_the_trend_only():
    s1 = (2.5, 3.5, 4.5)
    res = toy_starvation_rule(_toy_records([1.6, 1.5, 1.4], s1=s1), ToyConfig(s1_min=2.5, s1_max=4.5, n_values=3))
    assert res.verdict == REPRODUCED and res.measured == 0.0 and "0 of them" in res.detail
    for z2 in ([1.4, 1.5, 1.6], [1.6, 1.5, 1.5]):  # rising, or flat at one step: not strictly decreasing
        res = toy_starvation_rule(_toy_records(z2, s1=s1), ToyConfig(s1_min=2.5, s1_max=4.5, n_values=3))
        assert res.verdict == NOT_REPRODUCED and res.measured == 0.0


@pytest.mark.parametrize("cfg", [ToyConfig(steps=4000), ToyConfig(lr=0.1), ToyConfig(s2=3.0)],
                         ids=["steps", "lr", "s2"])
def test_toy_starvation_rule_inconclusive_for_other_settings(cfg):
    res = toy_starvation_rule(_toy_records(PRINTED), cfg)
    assert res.verdict == INCONCLUSIVE and "5000 steps" in res.detail


@pytest.mark.parametrize("rule", [toy_starvation_rule, toy_decoupling_rule])
@pytest.mark.parametrize("n", [0, 1])
def test_toy_rules_wait_for_two_values(rule, n):
    res = rule(_toy_records(PRINTED)[:n], TOY)
    assert res.verdict == INCONCLUSIVE and f"({n} so far)" in res.detail


def test_toy_decoupling_rule_verdicts():
    res = toy_decoupling_rule(_toy_records(PRINTED), TOY)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(0.0, abs=1e-12)
    spread = [(TOY_SD_Z[0], TOY_SD_Z[1] + 2e-3 * (k == 3)) for k in range(5)]
    res = toy_decoupling_rule(_toy_records(PRINTED, z_sd=spread), TOY)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(2e-3)
    small = [(TOY_SD_Z[0], TOY_SD_Z[1] + 5e-4 * (k == 3)) for k in range(5)]
    assert toy_decoupling_rule(_toy_records(PRINTED, z_sd=small), TOY).verdict == REPRODUCED
    shifted = [(TOY_SD_Z[0] + 0.03, TOY_SD_Z[1])] * 5  # independent of s1, but not the printed value
    res = toy_decoupling_rule(_toy_records(PRINTED, z_sd=shifted), TOY)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(0.0, abs=1e-12)


def test_toy_decoupling_rule_inconclusive_before_convergence():
    res = toy_decoupling_rule(_toy_records(PRINTED), ToyConfig(steps=1000))
    assert res.verdict == INCONCLUSIVE and res.measured == pytest.approx(0.0, abs=1e-12)
    assert "1000 steps" in res.detail


# ---------------------------------------------------------------------------------------------------------------
# the spec, and a real verdict on a short run


def test_spec_is_consistent():
    experiments = {e.name: e for e in SPEC.experiments}
    assert set(experiments) == {"starvation", "starvation_toy"}
    keys = [c.key for c in SPEC.claims]
    assert keys == ["boundary", "sd_margin", "toy_starvation", "toy_decoupling"] and len(set(keys)) == len(keys)
    for claim in SPEC.claims:
        assert claim.experiment in experiments, claim.key
        assert (claim.paper_value is not None) == claim.key.startswith("toy_"), claim.key
        assert claim.source and claim.text
    assert {m.name for m in experiments["starvation"].metrics} == {m.name for m in METRICS}
    assert {m.name for m in experiments["starvation_toy"].metrics} == {m.name for m in TOY_METRICS}
    # every metric a rule reads is declared by its experiment
    read = {"epoch", "snapshot_epoch", "margin_sd", "margin_ce"} | {f"{k}_{r}" for k in ("min_dist", "boundary_x")
                                                                    for r in REGULARISERS}
    assert read <= {m.name for m in METRICS}
    assert {"s1", "z1_wd", "z2_wd", "z1_sd", "z2_sd"} == {m.name for m in TOY_METRICS}
    # the printed values the toy claims quote are the rules' constants
    assert "1.64, 1.58, 1.47, 1.33, 1.18" in SPEC.claims[2].paper_value
    assert f"({TOY_SD_Z[0]}, {TOY_SD_Z[1]})" in SPEC.claims[3].paper_value


def test_rules_give_real_verdicts_on_a_short_run():
    cfg = Config(epochs=20, artifact_every=20, epochs_per_record=10, n_seeds=1, hidden=16, n_points=60, device="cpu")
    records = list(run(build(cfg)))
    for claim in SPEC.claims[:2]:
        res = claim.evaluate(records, cfg)
        assert res.verdict in (REPRODUCED, NOT_REPRODUCED), (claim.key, res)
        assert res.measured is not None and np.isfinite(res.measured)
    # half-way (before the end of training) both wait
    half = [r for r in records if r.metrics["epoch"] < cfg.epochs]
    assert all(c.evaluate(half, cfg).verdict == INCONCLUSIVE for c in SPEC.claims[:2])
