"""LEAD's claim checks (``docs/papers/lead.md`` §12): each rule on synthetic records gives each of the three verdicts,
and on short real runs it judges what the closed forms say."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from neurodyn.core.loop import Record, run
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from neurodyn.lead import SPEC
from neurodyn.lead import claims as cl
from neurodyn.lead.experiment import (
    GAN_PRESETS,
    LYAPUNOV,
    PRESETS,
    START,
    build,
    build_gan,
    enabled_methods,
    gan_metric,
    lead_rate,
    method_metric,
)

CFG = dataclasses.replace(PRESETS["small"], device="cpu")  # the reference settings: xy, 0.1, 0.5, 0.51
RHO = 0.8776621042  # closed form at CFG (docs/papers/lead.md §9, check 3)
V0 = 7.7 * 2 * START**2


def lead_records(n, *, lead_rate_=RHO, gda_rate=math.sqrt(1.01), config=CFG, lyap=None, diverged_at=None):
    """Synthetic ``lead`` records: every method's norm geometric (LEAD at ``lead_rate_``, GDA at ``gda_rate``)."""
    recs = []
    for k in range(1, n + 1):
        m = {}
        for meth in enabled_methods(config):
            rate = lead_rate_ if meth == "lead" else gda_rate if meth == "simgda" else 0.99
            gone = diverged_at is not None and meth == "simgda" and k >= diverged_at
            m[method_metric("norm", meth)] = rate ** min(k, diverged_at or k)
            m[method_metric("f", meth)] = 0.0
            m[method_metric("grad_evals", meth)] = float(k)
            m[method_metric("diverged", meth)] = float(gone)
        if config.use_lead:
            m[LYAPUNOV] = V0 * (lyap(k) if lyap else lead_rate_ ** (2 * k))
        recs.append(Record(k, m, {}))
    return recs


def gan_records(n, config, adam_modes, lead_modes):
    recs = []
    for k in range(1, n + 1):
        m = {}
        for o, modes in (("adam", adam_modes), ("lead", lead_modes)):
            for i in range(config.n_seeds):
                m[gan_metric(o, "modes", i)] = float(modes[i])
                m[gan_metric(o, "hq", i)] = 0.5
        recs.append(Record(k, m, {}))
    return recs


def test_spec_declares_the_claims_of_the_brief():
    keys = {c.key: c for c in SPEC.claims}
    assert set(keys) == {"rate", "gda_growth", "final_norm", "lyapunov", "gan_modes"}
    assert keys["gan_modes"].paper_value is None and keys["gan_modes"].experiment == "lead_gan"
    assert "0.87766" in keys["rate"].paper_value and "1.00499" in keys["gda_growth"].paper_value
    assert keys["lyapunov"].source.startswith("[R]") and all(keys[k].source.startswith("[T]")
                                                              for k in ("rate", "gda_growth", "final_norm"))


# ---------------------------------------------------------------- rate


def test_rate_rule_three_verdicts():
    assert lead_rate(CFG) == pytest.approx(RHO, abs=1e-9)
    assert cl.rate_rule(lead_records(100), CFG).verdict == REPRODUCED
    bad = cl.rate_rule(lead_records(100, lead_rate_=0.9), CFG)  # 2.5% off
    assert bad.verdict == NOT_REPRODUCED and bad.measured == pytest.approx(0.9)
    early = cl.rate_rule(lead_records(50), CFG)
    assert early.verdict == INCONCLUSIVE and "71 steps" in early.detail
    off = cl.rate_rule(lead_records(100, config=dataclasses.replace(CFG, use_lead=False)),
                       dataclasses.replace(CFG, use_lead=False))
    assert off.verdict == INCONCLUSIVE and "switched off" in off.detail


def test_rate_rule_judges_the_runs_config_not_another():
    """Issue #12: the page compared the old run's rate with the sidebar's new ρ. The rule reads the run's config."""
    recs = lead_records(100)
    moved = dataclasses.replace(CFG, lr=0.2)  # what the sidebar might say after the run
    assert cl.rate_rule(recs, CFG).verdict == REPRODUCED
    assert cl.rate_rule(recs, moved).verdict == NOT_REPRODUCED


@pytest.mark.parametrize("game,order", [("xy", "simultaneous"), ("xy", "alternating"), ("quadratic", "simultaneous"),
                                        ("bilinear", "alternating")])
def test_rate_rule_on_real_runs(game, order):
    cfg = dataclasses.replace(CFG, game=game, lead_order=order, n_steps=120, use_altgda=False, use_eg=False,
                              use_ogda=False)
    res = cl.rate_rule(list(run(build(cfg))), cfg)
    assert res.verdict == REPRODUCED, res


# ---------------------------------------------------------------- GDA growth


def test_gda_growth_rule_three_verdicts():
    assert cl.gda_growth_rule(lead_records(30), CFG).verdict == REPRODUCED
    assert cl.gda_growth_rule(lead_records(30, gda_rate=1.0), CFG).verdict == NOT_REPRODUCED  # orbits: no growth
    assert cl.gda_growth_rule(lead_records(5), CFG).verdict == INCONCLUSIVE
    quad = dataclasses.replace(CFG, game="quadratic")
    res = cl.gda_growth_rule(lead_records(30, config=quad), quad)
    assert res.verdict == INCONCLUSIVE and "quadratic" in res.detail


def test_gda_growth_rule_uses_the_steps_before_divergence():
    fast = dataclasses.replace(CFG, lr=1.5)
    recs = lead_records(60, gda_rate=math.sqrt(1 + 1.5**2), config=fast, diverged_at=20)
    res = cl.gda_growth_rule(recs, fast)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(math.sqrt(3.25))


def test_gda_growth_rule_on_a_real_run():
    cfg = dataclasses.replace(CFG, n_steps=30, lr=0.3)
    res = cl.gda_growth_rule(list(run(build(cfg))), cfg)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(math.sqrt(1.09), rel=1e-9)


# ---------------------------------------------------------------- final norm


def test_final_norm_rule_three_verdicts():
    good = cl.final_norm_rule(lead_records(120, lead_rate_=0.877, gda_rate=1.005), CFG)
    assert good.verdict == REPRODUCED and good.measured == pytest.approx(0.877**100)
    slow = cl.final_norm_rule(lead_records(120, lead_rate_=0.95), CFG)  # 0.95^100 = 5.9e-3
    assert slow.verdict == NOT_REPRODUCED
    flat = cl.final_norm_rule(lead_records(120, gda_rate=1.001), CFG)  # GDA 1.105 < 1.5
    assert flat.verdict == NOT_REPRODUCED and "1.105" in flat.detail
    assert cl.final_norm_rule(lead_records(60), CFG).verdict == INCONCLUSIVE


@pytest.mark.parametrize("change,word", [({"lr": 0.2}, "η = 0.2"), ({"game": "quadratic"}, "game = quadratic"),
                                         ({"lead_order": "alternating"}, "LEAD order"),
                                         ({"use_simgda": False}, "switched off"), ({"n_steps": 50}, "fewer than 100")])
def test_final_norm_rule_is_inconclusive_away_from_the_reference_settings(change, word):
    cfg = dataclasses.replace(CFG, **change)
    res = cl.final_norm_rule(lead_records(120, config=cfg), cfg)
    assert res.verdict == INCONCLUSIVE and word in res.detail


def test_final_norm_rule_on_the_paper_preset_run():
    cfg = dataclasses.replace(PRESETS["paper"], device="cpu")
    res = cl.final_norm_rule(list(run(build(cfg))), cfg)
    assert res.verdict == REPRODUCED
    assert res.measured == pytest.approx(2.45e-6, rel=0.01) and "1.645" in res.detail  # PAPER-NUMBERS §06 [T]


# ---------------------------------------------------------------- Lyapunov


def test_lyapunov_rule_three_verdicts():
    res = cl.lyapunov_rule(lead_records(50), CFG)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(RHO**2)
    bump = cl.lyapunov_rule(lead_records(50, lyap=lambda k: 0.9**k * (1.2 if k == 30 else 1.0)), CFG)
    assert bump.verdict == NOT_REPRODUCED and bump.measured == pytest.approx(1.2 * 0.9)
    last = cl.lyapunov_rule(lead_records(5, lyap=lambda k: 1.0 + (k == 5)), CFG)  # the last step rises
    assert last.verdict == NOT_REPRODUCED and last.measured == pytest.approx(2.0)
    assert cl.lyapunov_rule(lead_records(1), CFG).verdict == INCONCLUSIVE
    other = dataclasses.replace(CFG, beta=0.3)
    res = cl.lyapunov_rule(lead_records(50, config=other), other)
    assert res.verdict == INCONCLUSIVE and "β = 0.3" in res.detail


@pytest.mark.parametrize("order", ["simultaneous", "alternating"])
def test_lyapunov_rule_on_real_runs(order):
    cfg = dataclasses.replace(CFG, lead_order=order, n_steps=100)
    recs = list(run(build(cfg)))
    res = cl.lyapunov_rule(recs, cfg)
    assert res.verdict == REPRODUCED and res.measured < 1.0
    if order == "simultaneous":  # from rest, step 1 raises V_0 = 7.7 |w_0|^2 by eta^2 (2 + 7.7): the rule starts at V_1
        assert recs[0].metrics[LYAPUNOV] == pytest.approx(V0 + 0.01 * (2 + 7.7))


# ---------------------------------------------------------------- GAN modes


def test_gan_modes_rule_three_verdicts():
    cfg = dataclasses.replace(GAN_PRESETS["small"], n_steps=50, n_seeds=2)
    res = cl.gan_modes_rule(gan_records(50, cfg, [6, 8], [8, 8]), cfg)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(1.0)
    assert cl.gan_modes_rule(gan_records(50, cfg, [8, 8], [8, 8]), cfg).verdict == REPRODUCED  # ties count
    worse = cl.gan_modes_rule(gan_records(50, cfg, [8, 8], [8, 7]), cfg)
    assert worse.verdict == NOT_REPRODUCED and worse.measured == pytest.approx(-0.5)
    running = cl.gan_modes_rule(gan_records(30, cfg, [6, 8], [8, 8]), cfg)
    assert running.verdict == INCONCLUSIVE and "step 30 of 50" in running.detail


def test_gan_modes_rule_judges_the_second_half_of_the_run():
    cfg = dataclasses.replace(GAN_PRESETS["small"], n_steps=10, n_seeds=1)
    recs = gan_records(10, cfg, [8], [4])
    for r in recs[5:]:
        r.metrics[gan_metric("adam", "modes", 0)] = 2.0  # Adam drops modes in the second half only
    res = cl.gan_modes_rule(recs, cfg)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(4.0 - 2.0)
    assert "steps 6–10" in res.detail and "+2.00" in res.detail


def test_gan_modes_rule_on_a_short_real_run():
    cfg = dataclasses.replace(GAN_PRESETS["small"], n_steps=4, hidden=16, n_seeds=2, device="cpu")
    recs = list(run(build_gan(cfg)))
    res = cl.gan_modes_rule(recs, cfg)
    half = recs[2:]
    mean = {o: np.mean([[r.metrics[gan_metric(o, "modes", i)] for i in range(2)] for r in half])
            for o in ("adam", "lead")}
    assert res.measured == pytest.approx(mean["lead"] - mean["adam"]) and res.verdict != INCONCLUSIVE
    assert cl.gan_modes_rule(recs[:2], cfg).verdict == INCONCLUSIVE


def test_every_claim_evaluates_on_a_real_default_run():
    cfg = dataclasses.replace(CFG, n_steps=100)
    recs = list(run(build(cfg)))
    got = {c.key: c.evaluate(recs, cfg).verdict for c in SPEC.claims_for("lead")}
    assert got == {"rate": REPRODUCED, "gda_growth": REPRODUCED, "final_norm": REPRODUCED, "lyapunov": REPRODUCED}
    assert np.isfinite([c.evaluate(recs, cfg).measured for c in SPEC.claims_for("lead")]).all()
