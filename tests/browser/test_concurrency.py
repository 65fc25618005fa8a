"""Several users at once: four tabs on different pages train together under a cap of one running job."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from neurodyn.core import registry
from neurodyn.ui.live import LIVE_CHART_CSS, page_status_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _wait_status(page, pattern: str, timeout_s: float) -> str:
    """Wait until the page's status line (its own frame while queued or running) matches ``pattern``."""
    rx, deadline, text = re.compile(pattern), time.monotonic() + timeout_s, ""
    while time.monotonic() < deadline:
        text = page_status_text(page)
        if rx.search(text):
            return text
        page.wait_for_timeout(100)
    raise AssertionError(f"the status line {text!r} did not match {pattern!r} within {timeout_s} s")

PAGES = ["attention", "lyapunov", "lead", "udemd"]


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _rss_peak_mib(pid: int) -> tuple[float, float]:
    """Peak resident memory of the server and the sum of its worker processes' peaks, in MiB."""
    return _peak_mib(pid), sum(_peak_mib(c) for c in _children(pid))


def test_four_users_share_one_worker_slot_fairly(browser, server, server_pid, shots):
    assert set(registry.PACKAGES) >= set(PAGES)
    contexts, pages = [], []
    for name in PAGES:
        ctx = browser.new_context(viewport={"width": 1300, "height": 900})
        pg = ctx.new_page()
        pg.goto(f"{server}/{name}?preset=small")
        pg.get_by_role("button", name=re.compile("^▶ Start")).first.wait_for(timeout=60_000)
        contexts.append(ctx)
        pages.append(pg)
    for pg in pages:  # one after the other, so that the queue order is the click order
        pg.get_by_role("button", name=re.compile("^▶ Start")).first.click()
        pg.get_by_role("button", name="■ Stop").first.wait_for(timeout=10_000)
        _wait_status(pg, r"Queued: position|record \d", 10)
    # the first runs; the other three wait in the FIFO queue and say where they stand
    try:
        pages[0].locator(LIVE_CHART_CSS).first.wait_for(timeout=60_000)
    finally:
        for name, pg in zip(PAGES, pages):
            pg.screenshot(path=str(shots / f"concurrency-{name}.png"))
    for pos, pg in enumerate(pages[1:], start=1):
        _wait_status(pg, f"Queued: position {pos} of", 10)
    # a queued user can still use the page: Stop on the last one cancels its queued run at once
    pages[3].get_by_role("button", name="■ Stop").first.click()
    pages[3].get_by_text("Stopped after 0 records").first.wait_for(timeout=5_000)
    # closing the running tab stops its heartbeats: its job is cancelled within two heartbeat periods (6 s each
    # in this server), which lets the next user in the queue start
    t0 = time.monotonic()
    contexts[0].close()
    _wait_status(pages[1], r"record \d", 15)
    waited = time.monotonic() - t0
    assert waited < 2 * 6 + 2, f"the closed tab's job held the slot for {waited:.1f} s"
    pages[1].locator(LIVE_CHART_CSS).first.wait_for(timeout=60_000)
    _wait_status(pages[2], "Queued: position 1 of", 10)
    peak, workers = _rss_peak_mib(server_pid)
    print(f"peak resident memory: server {peak:.0f} MiB, worker processes {workers:.0f} MiB; "
          f"slot handed over {waited:.1f} s after the tab closed")
    assert peak < 2048 and workers < 4096, f"memory peaked at {peak:.0f} MiB (server), {workers:.0f} MiB (workers)"
    for ctx in contexts[1:]:
        ctx.close()
