"""UDEMD's claim checks (``docs/papers/udemd.md §7``): each rule's three verdicts on synthetic records, then all
rules on a short real run."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from neurodyn.core.loop import Record
from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from neurodyn.udemd import SPEC
from neurodyn.udemd.claims import (
    KNN_MARGIN,
    MIN_PAIRS,
    SPEARMAN_MIN,
    SPEEDUP_MIN,
    knn_rule,
    spearman_rule,
    speed_rule,
    unbalanced_spearman_rule,
)
from neurodyn.udemd.experiment import EXACT_MAX_NODES, EXACT_STAGE, PRESETS, build, declared_metrics

torch.set_num_threads(1)

CFG = PRESETS["small"]  # 10 steps


def _records(n: int = 8, **values: float) -> list[Record]:
    """``n`` records whose last one holds ``values`` (every other declared metric 0, the stage from the step)."""
    recs = []
    for k in range(n):
        m = {d.name: 0.0 for d in declared_metrics(CFG)}
        m.update(stage=float(min(k, EXACT_STAGE)), n_nodes=364.0, n_signals=300.0)
        if k == n - 1:
            m.update(values)
        recs.append(Record(k, m))
    return recs


@pytest.mark.parametrize("rule,name", [(spearman_rule, "exact_spearman"),
                                       (unbalanced_spearman_rule, "exact_spearman_unbalanced")])
def test_spearman_rules_give_each_verdict(rule, name):
    enough = float(MIN_PAIRS + 10)
    ok = rule(_records(exact_pairs=enough, **{name: 0.9}), CFG)
    assert ok.verdict == REPRODUCED and ok.measured == pytest.approx(0.9)
    bad = rule(_records(exact_pairs=enough, **{name: SPEARMAN_MIN - 0.01}), CFG)
    assert bad.verdict == NOT_REPRODUCED
    # pending: before the exact stage, and with too few pairs while the run goes on (a 0.0 placeholder is no value)
    early = rule(_records(5), CFG)
    assert early.verdict == INCONCLUSIVE and early.measured is None and "exact EMD starts" in early.detail
    few = rule(_records(7, exact_pairs=4.0, **{name: 0.99}), CFG)
    assert few.verdict == INCONCLUSIVE and f"waits for {MIN_PAIRS}" in few.detail
    ended = rule(_records(CFG.n_steps, exact_pairs=4.0, **{name: 0.99}), CFG)
    assert ended.verdict == INCONCLUSIVE and "the run ended" in ended.detail
    big = rule(_records(n_nodes=float(EXACT_MAX_NODES + 1)), CFG)
    assert big.verdict == INCONCLUSIVE and "skipped" in big.detail


def test_speed_rule_gives_each_verdict():
    timed = dict(exact_pairs=15.0, time_operator_s=0.1, time_embed_s=0.05, time_distances_s=0.05,
                 time_exact_per_pair_s=0.004)
    ok = speed_rule(_records(**timed, speedup_vs_exact=SPEEDUP_MIN * 40), CFG)
    assert ok.verdict == REPRODUCED and "44,850 pairs" in ok.detail
    assert speed_rule(_records(**timed, speedup_vs_exact=SPEEDUP_MIN / 2), CFG).verdict == NOT_REPRODUCED
    assert speed_rule(_records(6), CFG).verdict == INCONCLUSIVE  # layout done, no exact pair timed yet
    assert speed_rule(_records(n_nodes=float(EXACT_MAX_NODES + 1)), CFG).verdict == INCONCLUSIVE


def test_knn_rule_judges_udemd_against_the_best_other_method_and_waits_for_all():
    acc = dict(acc_udemd=0.58, acc_balanced=0.62, acc_l1=0.51, acc_cosine=0.57)
    ok = knn_rule(_records(5, **acc), CFG)
    assert ok.verdict == REPRODUCED and ok.measured == pytest.approx(0.58)
    assert "balanced DEMD" in ok.threshold and f"{0.62 - KNN_MARGIN:.3f}" in ok.threshold
    worst = knn_rule(_records(5, **{**acc, "acc_udemd": 0.45}), CFG)
    assert worst.verdict == NOT_REPRODUCED
    # stage 3: L1 and cosine are still 0.0 placeholders, so UDEMD must not be judged against them
    pending = knn_rule(_records(4, acc_udemd=0.9, acc_balanced=0.6), CFG)
    assert pending.verdict == INCONCLUSIVE and "L1 on signals" in pending.detail and "cosine" in pending.detail


def test_claims_on_a_short_real_run_of_the_small_preset():
    cfg = replace(CFG, layout="spectral", device="cpu", seed=0)
    exp = build(cfg)
    records = [exp.step() for _ in range(cfg.n_steps)]
    results = {c.key: c.evaluate(records, cfg) for c in SPEC.claims_for("udemd")}
    assert set(results) == {"spearman", "speed", "knn", "unbalanced_spearman"}
    # measured on seed 0: Spearman 0.965 (balanced) and 0.985 (unbalanced) on 60 pairs, about 400x faster,
    # kNN accuracy 0.947 against 0.65 for balanced DEMD
    assert all(r.verdict == REPRODUCED for r in results.values()), results
    assert results["spearman"].measured >= 0.9 and results["knn"].measured >= 0.85
    early = {c.key: c.evaluate(records[:4], cfg).verdict for c in SPEC.claims}
    assert set(early.values()) == {INCONCLUSIVE}
    as_json = [{"step": r.step, "metrics": dict(r.metrics)} for r in records]  # run records read back from JSON
    assert spearman_rule(as_json, cfg) == results["spearman"]
