"""Every page after its runs, tab by tab, in the real browser: nothing cut off, charts as wide as their column, the
claim checks drawn with a verdict, no console error or Vega warning, and a screenshot of each tab (the README's
pictures).

Each live panel runs to Done with cheaper settings than its ``small`` preset (fewer steps or epochs, passed in the
URL as a user would set them): the figures drawn are the same kinds, and the suite stays well inside CI's budget.
"""

from __future__ import annotations

import re

import pytest

from neurodyn.core import registry

pytestmark = pytest.mark.browser

VERDICT = re.compile(r"(✅ reproduced|❌ not reproduced|⏳ inconclusive)")

#: Per page: the URL settings, then every live panel as (tab label or None, Start button label).
PANELS = {
    "attention": ("preset=small&n_steps=200", [(None, "▶ Start")]),
    "lyapunov": ("preset=small&n_steps=200&sweep.preset=small&sweep.n_networks=4&sweep.n_steps=50",
                 [(None, "▶ Start"), ("B · Init-scale sweep", "▶ Start sweep")]),
    "lead": ("preset=small&gan.preset=small&gan.n_steps=300", [(None, "▶ Start"), ("C · 8-Gaussian GAN",
                                                                                   "▶ Start GAN")]),
    "udemd": ("preset=small", [(None, "▶ Start"), ("B · PBMC genes", "▶ Start PBMC"),
                               ("C · Accuracy and speed vs exact EMD", "▶ Start")]),
    "brims": ("preset=small&epochs=2&artifact_every=1", [(None, "▶ Start")]),
    "activations": ("preset=small&epochs=2&grid.preset=small&grid.epochs=1&shift.preset=small&shift.epochs=1"
                    "&shift.adapt_epochs=1", [(None, "▶ Start"), ("B · Landscape and trajectories", "▶ Start grid"),
                                              ("C · Input shift", "▶ Start shift")]),
    "starvation": ("preset=small&epochs=200&artifact_every=100&n_seeds=2", [(None, "▶ Start"),
                                                                            ("B · Linear toy", "▶ Start toy")]),
    "alignment": ("preset=small&steps=500", [(None, "▶ Start")]),
    "causal": ("preset=small&steps=100&eval_every=50&sweep.preset=small&sweep.sizes=3,4&sweep.steps=100",
               [(None, "▶ Start"), ("B · Sweep over N", "▶ Start sweep")]),
    "multitask": ("preset=small&steps_per_task=20&pretrain_steps=15&levels=1&draws=1&eval_trials=32",
                  [(None, "▶ Start")]),
}

#: Visible Vega charts narrower than the block that holds them (beyond a few pixels of padding).
NARROW_CHARTS_JS = """
() => {
  const out = [];
  for (const el of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    if (!el.offsetParent) continue;
    const box = el.closest('[data-testid="stElementContainer"]') || el.parentElement;
    const chart = el.querySelector('canvas, svg');
    if (!chart) continue;
    const w = chart.getBoundingClientRect().width, full = box.getBoundingClientRect().width;
    if (w < 0.9 * full - 8) out.push(`${Math.round(w)} px of ${Math.round(full)} px`);
  }
  return out;
}
"""


def _tabs(page):
    return page.locator('[data-testid="stTab"]:visible')


def _run_panel(page, tab: str | None, label: str) -> None:
    if tab is not None:
        page.get_by_role("tab", name=tab).click()
    panel = page.locator('[role="tabpanel"]:visible').last if tab is not None else page
    start = panel.get_by_role("button", name=label, exact=True).first
    start.wait_for(timeout=60_000)
    start.click()
    panel.locator('[data-testid="stProgress"]:visible', has_text="Done:").first.wait_for(timeout=240_000)


def test_every_registered_page_has_its_panels_listed():
    assert set(PANELS) == set(registry.PACKAGES)


@pytest.mark.parametrize("key", list(PANELS))
def test_page_after_its_runs_is_legible_on_every_tab(page, server, shots, key, cut_texts):
    settings, panels = PANELS[key]
    page.goto(f"{server}/{key}?{settings}")
    page.get_by_role("button", name=panels[0][1], exact=True).first.wait_for(timeout=60_000)
    assert cut_texts(page) == [], "text cut off before a run"
    for tab, label in panels:
        _run_panel(page, tab, label)
    page.wait_for_timeout(1500)
    verdicts = page.locator('[class*="-claim-checks"]')
    assert verdicts.count() > 0 and all(VERDICT.search(t) for t in verdicts.all_inner_texts()), \
        "a claim-check box without a verdict"
    n = _tabs(page).count()
    for i in range(max(n, 1)):
        label = "page"
        if n:
            tab = _tabs(page).nth(i)
            label = tab.inner_text().strip()
            tab.click()
            page.wait_for_timeout(1500)
        assert cut_texts(page) == [], f"text cut off on tab {label!r}"
        assert page.evaluate(NARROW_CHARTS_JS) == [], f"charts narrower than their column on tab {label!r}"
        page.screenshot(path=str(shots / f"{key}-tab{i + 1}.png"), full_page=True)
    # Vega's warnings over the whole visit (every redraw of the runs, every tab): "Infinite extent for field" is a
    # scale computed on no rows (a layer with no data, or data sent after the embed), "Dropping fit-y" a heatmap with
    # a step height; ui.charts and the figure modules avoid both
    (shots / f"{key}-vega-warnings.txt").write_text("\n".join(sorted(set(page.watch.vega_warnings))) + "\n")
    assert sorted(set(page.watch.vega_warnings)) == [], "Vega warned in the console"
    assert page.watch.console_errors == []
