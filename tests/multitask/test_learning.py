"""The page's defaults learn the tasks (slow: one run of the ``small`` preset at seed 0 on one thread, about 35 s).

Measured (docs/papers/multitask.md §8): every strategy solves Delay pro; the mean accuracies are Separate 0.66, Joint
0.56, Modular-random 0.73, MoLaP 0.86. The robustness verdict is an honest measurement and is not asserted.
"""

from __future__ import annotations

import pytest
import torch

from neurodyn.core.loop import run
from neurodyn.core.spec import NOT_REPRODUCED, REPRODUCED, VERDICTS
from neurodyn.multitask import SPEC
from neurodyn.multitask.experiment import PRESETS, STRATEGIES, build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small():
    cfg = PRESETS["small"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return list(run(build(cfg))), cfg
    finally:
        torch.set_num_threads(threads)


def test_every_strategy_solves_delay_pro_and_molap_learns_most_tasks(small):
    records, _ = small
    m = records[-1].metrics
    for s in STRATEGIES:
        assert m[f"acc_{s}_DelayPro"] >= 0.9, (s, m[f"acc_{s}_DelayPro"])
    assert m["acc_molap"] >= 0.6
    assert all(m[f"pretrain_loss_m{i}"] < 0.2 for i in range(1, 5))
    assert all(m[f"activity_m{i}"] > 0.01 for i in range(1, 5))  # no frozen module went silent


def test_claims_give_verdicts_on_the_small_run(small):
    records, cfg = small
    verdicts = {c.key: c.evaluate(records, cfg) for c in SPEC.claims}
    assert verdicts["efficiency"].verdict == REPRODUCED
    assert verdicts["primitives"].verdict in (REPRODUCED, NOT_REPRODUCED)
    assert verdicts["robustness"].verdict in VERDICTS and "weight noise" in verdicts["robustness"].detail
