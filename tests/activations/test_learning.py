"""The page's defaults reproduce the paper's claims (slow: the three `small` presets at seed 0, about 1.5 minutes).

These are the runs a visitor starts with one click; ``docs/papers/activations.md §6`` lists them over more seeds. A
change that loses an effect at the page's defaults fails here rather than on stage.
"""

from __future__ import annotations

import pytest
import torch

from neurodyn.activations import SPEC
from neurodyn.core import registry
from neurodyn.core.spec import REPRODUCED

pytestmark = pytest.mark.slow


def _records(name: str) -> tuple[list, object]:
    cfg = registry.make_config(name, "small", seed=0, device="cpu")
    exp = registry.get(name).build(cfg)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        records = []
        while not exp.done:
            records.append(exp.step())
    finally:
        torch.set_num_threads(threads)
    return records, cfg


@pytest.mark.parametrize("claim", SPEC.claims, ids=[c.key for c in SPEC.claims])
def test_small_preset_reproduces_the_claim(claim):
    records, cfg = _records(claim.experiment)
    result = claim.evaluate(records, cfg)
    assert result.verdict == REPRODUCED, f"{claim.key}: {result.verdict}, {result.detail}"
    m = records[-1].metrics
    assert m["clamped"] == 0  # docs/papers/activations.md §3.4: no gain reaches the floor at the page's presets
