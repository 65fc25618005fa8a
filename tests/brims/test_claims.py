"""The BRIMs claim checks (docs/papers/brims.md §7) on synthetic records: each rule gives each of the three verdicts,
reads the evaluation where it ended, and falls back to the probe sweep when the run shows another K."""

from __future__ import annotations

import numpy as np
import pytest

from neurodyn.brims import SPEC
from neurodyn.brims.claims import accuracies_at_rows, gap_grows_rule, lstm_margin_rule, noise_rule, top_down_rule
from neurodyn.brims.experiment import PROBE_ROWS, PROBE_SIGMAS, Config, model_metric
from neurodyn.core.loop import Record, record_to_json
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

CFG = Config(epochs=3)


def _metrics(epoch: float, acc: dict[str, tuple[float, float]]) -> dict[str, float]:
    m = {"eval_epoch": float(epoch)}
    for name, (clean, distracted) in acc.items():
        m[model_metric(name, "test_acc")], m[model_metric(name, "distracted_acc")] = clean, distracted
    return m


def _records(acc: dict[str, tuple[float, float]], *, noise: dict[str, float] | None = None,
             epochs: int = 1) -> list[Record]:
    """An untrained evaluation (all at chance), then ``epochs`` evaluations with ``acc``; a sweep at the end."""
    chance = {n: (0.1, 0.1) for n in acc}
    recs = [Record(1, _metrics(0, chance))]
    for e in range(1, epochs + 1):
        recs.append(Record(len(recs) + 1, _metrics(e, acc)))
    if noise is not None:
        names = list(acc)
        art = {"probe_distractors": np.array([[acc[n][0], 0.5, acc[n][1], 0.2] for n in names]),
               "probe_noise": np.array([[acc[n][0], 0.5, noise[n], 0.2] for n in names]),
               "probe_stretch": np.full((len(names), 4), 0.5), "probe_epoch": epochs}
        recs.append(Record(len(recs) + 1, recs[-1].metrics, art))
    return recs


GOOD = {"brims": (0.90, 0.55), "rims": (0.88, 0.45), "lstm": (0.98, 0.25)}  # the paper's picture
BAD = {"brims": (0.90, 0.30), "rims": (0.88, 0.45), "lstm": (0.98, 0.25)}  # BRIMs loses its lead


@pytest.mark.parametrize("rule,good,bad", [
    (lstm_margin_rule, 0.30, 0.05),
    (gap_grows_rule, 0.30 + 0.08, 0.05 + 0.08),
    (top_down_rule, 0.10, -0.15),
])
def test_distractor_rules_give_each_verdict_with_the_measured_value(rule, good, bad):
    res = rule(_records(GOOD), CFG)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(good)
    res = rule(_records(BAD), CFG)
    if rule is gap_grows_rule:  # +0.05 at K = 4 against -0.08 clean: the lead still grows
        assert res.verdict == REPRODUCED and res.measured == pytest.approx(bad)
        flat = {"brims": (0.90, 0.15), "rims": (0.88, 0.45), "lstm": (0.98, 0.25)}
        res = rule(_records(flat), CFG)
        assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(-0.10 + 0.08)
    else:
        assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(bad)
    untrained = rule(_records(GOOD)[:1], CFG)  # only the epoch-0 evaluation of the untrained models
    assert untrained.verdict == INCONCLUSIVE and untrained.measured is None
    assert "waits for the first evaluation" in untrained.detail


def test_margin_threshold_is_inclusive_at_0_15():
    at = {"brims": (0.9, 0.40), "rims": (0.9, 0.40), "lstm": (0.9, 0.25)}
    assert lstm_margin_rule(_records(at), CFG).verdict == REPRODUCED
    below = {"brims": (0.9, 0.39), "rims": (0.9, 0.40), "lstm": (0.9, 0.25)}
    assert lstm_margin_rule(_records(below), CFG).verdict == NOT_REPRODUCED


def test_noise_rule_reads_the_latest_sweep_and_waits_for_it():
    recs = _records(GOOD)
    res = noise_rule(recs, CFG)
    assert res.verdict == INCONCLUSIVE and "first probe sweep" in res.detail
    res = noise_rule(_records(GOOD, noise={"brims": 0.62, "rims": 0.6, "lstm": 0.58}), CFG)
    assert res.verdict == REPRODUCED and res.measured == pytest.approx(0.04)
    res = noise_rule(_records(GOOD, noise={"brims": 0.43, "rims": 0.41, "lstm": 0.63}), CFG)
    assert res.verdict == NOT_REPRODUCED and res.measured == pytest.approx(-0.20)
    assert PROBE_SIGMAS[2] == 0.4  # the artifact column the rule reads


def test_rules_read_the_evaluation_where_it_ended():
    # after epoch 1's evaluation, epoch 2's units evaluate BRIMs first: the carried record mixes epochs
    recs = _records(GOOD)
    mixed = dict(recs[-1].metrics)
    mixed[model_metric("brims", "distracted_acc")] = 0.0
    recs.append(Record(len(recs) + 1, mixed))
    assert lstm_margin_rule(recs, CFG).measured == pytest.approx(0.30)


def test_another_k_on_screen_makes_the_rules_read_k_4_from_the_probe_sweep():
    cfg = Config(epochs=3, probe_rows=8)
    recs = _records(GOOD)
    assert lstm_margin_rule(recs, cfg).verdict == INCONCLUSIVE  # no sweep yet
    recs = _records(GOOD, noise={"brims": 0.5, "rims": 0.5, "lstm": 0.5})
    epoch, where, acc = accuracies_at_rows(recs, cfg, 4)
    assert where == "the latest probe sweep" and acc["brims"] == (0.90, 0.55)
    assert PROBE_ROWS[2] == 4
    assert lstm_margin_rule(recs, cfg).measured == pytest.approx(0.30)


def test_switched_off_baselines_make_their_claims_inconclusive():
    cfg = Config(lstm_baseline=False, rims_baseline=False)
    recs = _records({"brims": (0.9, 0.5)})
    for rule in (lstm_margin_rule, gap_grows_rule, top_down_rule, noise_rule):
        res = rule(recs, cfg)
        assert res.verdict == INCONCLUSIVE and "switched off" in res.detail


def test_rules_accept_json_records_as_the_run_record_stores_them():
    recs = _records(GOOD, noise={"brims": 0.62, "rims": 0.6, "lstm": 0.58})
    as_json = [record_to_json(r) for r in recs]
    for rule in (lstm_margin_rule, gap_grows_rule, top_down_rule, noise_rule):
        assert rule(as_json, CFG) == rule(recs, CFG)


def test_spec_declares_the_four_claims_with_no_paper_number():
    assert [c.key for c in SPEC.claims] == ["lstm_margin", "gap_grows", "top_down", "noise"]
    assert all(c.paper_value is None for c in SPEC.claims)  # the paper's tables could not be read
    gap = next(c for c in SPEC.claims if c.key == "gap_grows")
    assert gap.source.startswith("[3P]") and "not the paper's" in gap.source
