"""The page's defaults reproduce the paper's trends (slow: two runs of the ``small`` preset at seed 0 on one thread,
about 10-15 s each).

Card 07 check 9 (``docs/papers/alignment.md`` §6): alignment at step 50 above 2.5 × its value at step 0, effective
rank at the last checkpoint below 0.75 × its value at step 0, the largest eigenvalue growing more than 5×; with 50 %
random labels the clean probe above the corrupted one at every checkpoint after step 0. Beside them, the verdicts of
the three claims.
"""

from __future__ import annotations

import pytest
from chart_specs import preset_records

from neurodyn.alignment import SPEC
from neurodyn.alignment.claims import checkpoint_rows, probe_rows
from neurodyn.alignment.experiment import checkpoints
from neurodyn.core.spec import REPRODUCED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clean():
    return preset_records("alignment")


@pytest.fixture(scope="module")
def noisy():
    return preset_records("alignment", random_labels=0.5)


def _claim(key):
    return next(c for c in SPEC.claims if c.key == key)


def test_card_check_9(clean):
    records, cfg = clean
    assert cfg.seed == 0 and cfg.steps == 6000 and cfg.random_labels == 0
    rows = checkpoint_rows(records)
    assert [int(r["checkpoint"]) for r in rows] == checkpoints(cfg.steps)
    at = {int(r["checkpoint"]): r for r in rows}
    a0, a50 = at[0]["align_train"], at[50]["align_train"]
    assert a50 > 2.5 * a0, (a0, a50)
    e0, e1 = rows[0]["erank"], rows[-1]["erank"]
    assert e1 < 0.75 * e0, (e0, e1)
    l0, l1 = rows[0]["eig_max"], rows[-1]["eig_max"]
    assert l1 > 5 * l0, (l0, l1)
    # the network learns the task (card §5: test accuracy 0.99 at the end)
    assert records[-1].metrics["test_acc"] > 0.9 and records[-1].metrics["train_acc"] > 0.95


@pytest.mark.parametrize("key", ["rise", "erank"])
def test_small_preset_reproduces(clean, key):
    records, cfg = clean
    result = _claim(key).evaluate(records, cfg)
    assert result.verdict == REPRODUCED, f"{key}: {result.verdict}, {result.detail}"


def test_clean_probe_above_the_corrupted_one_with_random_labels(noisy):
    records, cfg = noisy
    assert cfg.random_labels == 0.5 and cfg.steps == 6000
    rows = [r for r in probe_rows(records) if r["checkpoint"] > 0]
    assert len(rows) == len(checkpoints(cfg.steps)) - 1
    for r in rows:
        assert r["align_train"] > r["align_corrupt"], (r["checkpoint"], r["align_train"], r["align_corrupt"])
    result = _claim("noise").evaluate(records, cfg)
    assert result.verdict == REPRODUCED, f"noise: {result.verdict}, {result.detail}"
