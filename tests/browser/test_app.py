"""The dashboard in a real browser: every page renders, with no console error and no request off the server."""

from __future__ import annotations

import re

import pytest

from neurodyn.core import registry

pytestmark = pytest.mark.browser

READY = [registry.paper(k) for k in registry.PACKAGES]  # what the server (without the template) lists


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.locator("h1").first.wait_for(timeout=60_000)


def test_home_lists_the_ten_papers_and_links_the_ready_pages(page, server, shots):
    _open(page, server)
    page.get_by_text("neurodyn lab").first.wait_for()
    page.get_by_text(re.compile(r"^Server: ")).first.wait_for(timeout=30_000)  # drawn last on the home page
    text = page.get_by_text(re.compile(r"pages ready\)")).first.inner_text()
    planned = page.get_by_text("Planned: the page is not built yet.").count()
    assert f"({len(READY)} of {len(READY) + planned} pages ready)" in text and len(READY) + planned == 10
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shots / "home.png"), full_page=True)
    assert page.watch.console_errors == []
    assert page.watch.foreign == []


@pytest.mark.parametrize("paper", READY, ids=[p.key for p in READY])
def test_every_page_renders_from_the_navigation(page, server, shots, paper):
    _open(page, server)
    page.get_by_role("link", name=paper.short).first.click()
    page.wait_for_url(f"**/{paper.key}**", timeout=30_000)
    page.get_by_role("button", name="▶ Start").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / f"{paper.key}-open.png"), full_page=True)
    assert page.watch.console_errors == []
    assert page.watch.foreign == []
