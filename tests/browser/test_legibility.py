"""Every page after a full `small` run, tab by tab, in the real browser: nothing cut off, no Vega warning, the claim
checks drawn with a verdict, a screenshot of each tab for the README."""

from __future__ import annotations

import re

import pytest

from neurodyn.core import registry
from neurodyn.ui.live import LIVE_CHART_CSS

pytestmark = pytest.mark.browser

READY = [registry.paper(k) for k in registry.PACKAGES]
VERDICT = re.compile(r"(✅ reproduced|❌ not reproduced|⏳ inconclusive)")


def _tabs(page):
    return page.locator('[data-baseweb="tab-list"] [data-baseweb="tab"]')


@pytest.mark.parametrize("paper", READY, ids=[p.key for p in READY])
def test_page_after_a_full_run_is_legible_on_every_tab(page, server, shots, paper, cut_texts):
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{server}/{paper.key}?preset=small")
    start = page.get_by_role("button", name=re.compile("^▶ Start")).first
    start.wait_for(timeout=60_000)
    assert cut_texts(page) == [], "text cut off before a run"
    start.click()
    page.locator(LIVE_CHART_CSS).first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"^Done:")).first.wait_for(timeout=180_000)
    page.wait_for_timeout(1500)
    box = page.locator('[class*="-claim-checks"]').first
    assert VERDICT.search(box.inner_text()), "no claim verdict on the page"
    n = _tabs(page).count()
    for i in range(max(n, 1)):
        if n:
            _tabs(page).nth(i).click()
            page.wait_for_timeout(1500)
        label = _tabs(page).nth(i).inner_text().strip() if n else "page"
        assert cut_texts(page) == [], f"text cut off on tab {label!r}"
        page.screenshot(path=str(shots / f"{paper.key}-tab{i + 1}.png"), full_page=True)
    assert page.watch.vega_warnings == [], page.watch.vega_warnings[:5]
    assert page.watch.console_errors == []
