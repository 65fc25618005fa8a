"""A live run in the real browser on every page: first chart, updates, Stop, downloads, and the URL round trip."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from neurodyn.core import registry
from neurodyn.core.config import fields_of, to_dict
from neurodyn.ui.live import LIVE_CHART_CSS, page_status_text

pytestmark = pytest.mark.browser

READY = [registry.paper(k) for k in registry.PACKAGES]  # what the server (without the template) lists
STEP = re.compile(r"record (\d+)")


def _steps(page) -> int | None:
    m = STEP.search(page_status_text(page))
    return int(m.group(1)) if m else None


@pytest.mark.parametrize("paper", READY, ids=[p.key for p in READY])
def test_live_run_stop_download_and_reload(page, server, shots, paper, tmp_path):
    url = f"{server}/{paper.key}?preset=small&seed=3"
    page.goto(url)
    start = page.get_by_role("button", name=re.compile("^▶ Start")).first
    start.wait_for(timeout=60_000)
    start.click()
    page.locator(LIVE_CHART_CSS).first.wait_for(timeout=60_000)
    first = _steps(page) or 0
    deadline = time.monotonic() + 20  # the first seconds of a fresh server share the CPU with the UMAP warm-up
    while (_steps(page) or 0) <= first and page.get_by_text("Done:").count() == 0:
        assert time.monotonic() < deadline, "the progress did not move while training"
        page.wait_for_timeout(200)
    done = page.get_by_text("Done:").count() > 0  # a fast preset may finish before Stop can be pressed
    if not done:
        try:
            page.get_by_role("button", name="■ Stop").first.click(timeout=3_000)
        except PlaywrightTimeout:  # the run ended between the check and the click: Stop is disabled
            page.get_by_text("Done:").first.wait_for(timeout=5_000)
        ended = page.get_by_text(re.compile(r"^(Stopped after \d+ records|Done:)")).first
        # the worker stops within a second (tests/core/test_workers.py); the page shows it at its next redraw
        ended.wait_for(timeout=10_000)
        text = ended.inner_text()
        done = text.startswith("Done:")
    if not done:
        n = int(re.search(r"Stopped after (\d+) records", text).group(1))
        page.wait_for_timeout(1200)
        again = page.get_by_text(re.compile(r"^Stopped after")).first.inner_text()
        assert f"Stopped after {n} records" in again, "records kept growing after Stop"
    page.screenshot(path=str(shots / f"{paper.key}.png"), full_page=True)

    with page.expect_download() as dl:
        page.get_by_role("button", name=re.compile("Metrics \\(CSV\\)")).first.click()
    rows = list(csv.DictReader(io.StringIO(open(dl.value.path()).read())))
    with page.expect_download() as dl:
        page.get_by_role("button", name=re.compile("Run record \\(JSON\\)")).first.click()
    record = json.loads(open(dl.value.path()).read())
    assert record["config"]["seed"] == 3 and len(record["records"]) == len(rows) > 0
    if not done:
        assert len(rows) == n
    assert page.watch.console_errors == [] and page.watch.foreign == []

    page.reload()
    page.get_by_role("button", name=re.compile("^▶ Start")).first.wait_for(timeout=60_000)
    assert "seed=3" in page.url
    cfg = registry.make_config(paper.experiments[0].name, "small", seed=3)
    seed_field = next(f for f in fields_of(cfg) if f.name == "seed")
    if seed_field.applies is None or seed_field.applies(to_dict(cfg)):  # else hidden (LEAD's seed: bilinear only)
        assert page.get_by_role("spinbutton", name="seed").first.input_value() == "3"
    else:
        assert page.get_by_role("spinbutton", name="seed").count() == 0
