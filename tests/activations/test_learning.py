"""The page's defaults reproduce the paper's claims (slow: the three `small` presets at seed 0, about 1.5 minutes).

These are the runs a visitor starts with one click; ``docs/papers/activations.md §6`` lists them over more seeds. A
change that loses an effect at the page's defaults fails here rather than on stage.
"""

from __future__ import annotations

import pytest
from chart_specs import preset_records

from neurodyn.activations import SPEC
from neurodyn.core.spec import REPRODUCED

pytestmark = pytest.mark.slow




@pytest.mark.parametrize("claim", SPEC.claims, ids=[c.key for c in SPEC.claims])
def test_small_preset_reproduces_the_claim(claim):
    records, cfg = preset_records(claim.experiment)
    result = claim.evaluate(records, cfg)
    assert result.verdict == REPRODUCED, f"{claim.key}: {result.verdict}, {result.detail}"
    m = records[-1].metrics
    assert m["clamped"] == 0  # docs/papers/activations.md §3.4: no gain reaches the floor at the page's presets
