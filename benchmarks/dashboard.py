"""Dashboard speed report, measured in a real browser (Debian chromium through Playwright).

For the server: cold start to a healthy ``/_stcore/health``, then the start-up warm-up that the first visit starts
(worker processes and numba, reported on the home page). For every ready page (and LEAD's GAN panel):

- open to Start button, Start to first chart, and their sum (page open to first chart for a user who presses Start
  at once): medians of four visits in new tabs of a browser that has opened the app before (Streamlit's scripts
  come from its cache), with the slowest sum beside them; the first-ever visit (a new browser profile) to the
  Start button is reported too;
- sidebar click to Start button in an open app, the way pages are opened once the dashboard is loaded;
- the redraw rate while training (changes of the progress text per second) and the ``small`` preset's wall time
  from Start to "Done".

Baselines in the same run: Streamlit's own cold start on a one-line script, so the ratio shows what neurodyn's
imports add, and the time to open that one-line app (the floor Streamlit's page load sets for every open number).

    .venv/bin/python benchmarks/dashboard.py [--pages lead,udemd] [--json out.json]

Goals (issue 7): cold start < 10 s, first chart < 3 s after the page is open, redraw >= 2/s, small preset < 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from neurodyn.ui.live import LIVE_CHART_CSS, page_status_text  # LIVE_CHART_CSS: a run's charts, not a preview
from neurodyn.ui.warmup import STATUS_PREFIX, wait_for_warmup

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(script: Path, max_jobs: int | None = 1) -> tuple[subprocess.Popen, str, float]:
    """Start ``streamlit run script``; return the process, its URL and the seconds to a healthy endpoint.

    ``max_jobs`` sets ``NEURODYN_MAX_JOBS`` (None: the server's default cap)."""
    port = _port()
    env = dict(os.environ)
    env.pop("NEURODYN_MAX_JOBS", None)
    if max_jobs is not None:
        env["NEURODYN_MAX_JOBS"] = str(max_jobs)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - t0 < 120:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{script} did not become healthy in 120 s")


def measure_bare_open(browser, url: str, repeats: int = 3) -> tuple[float, float]:
    """Fastest times from opening a one-line Streamlit app to its text: in a new browser profile, and in a new tab
    of a browser that has opened it before (the page-open floors Streamlit itself sets)."""
    cold = warm = float("inf")
    for _ in range(repeats):
        ctx = _context(browser)
        for i in range(2):
            page = ctx.new_page()
            t0 = time.perf_counter()
            page.goto(url)
            page.get_by_text("bare page ok").first.wait_for(timeout=60_000)
            if i == 0:
                cold = min(cold, time.perf_counter() - t0)
            else:
                warm = min(warm, time.perf_counter() - t0)
            page.close()
        ctx.close()
    return cold, warm


def _context(browser) -> Any:
    """A new browser profile (empty cache) with the report's window size."""
    return browser.new_context(viewport={"width": 1400, "height": 1000})


def _home(ctx, url: str) -> Any:
    """Open the app's home page in a new tab of ``ctx`` and wait for its status caption (drawn last)."""
    page = ctx.new_page()
    page.goto(url)
    page.get_by_text(STATUS_PREFIX).first.wait_for(timeout=60_000)
    return page


def measure_navigation(browser, url: str, paper) -> float:
    """Seconds from clicking the page's link in the sidebar of an open app to the page's Start button.

    This is how a page is opened inside a running dashboard: Streamlit's JavaScript is already loaded, so the
    number is the page's own cost (server script run plus rendering).
    """
    ctx = _context(browser)
    page = _home(ctx, url)
    slug = paper.key
    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{slug}"]').first
    t0 = time.perf_counter()
    link.click()
    page.get_by_role("button", name="▶ Start").first.wait_for(timeout=60_000)
    seconds = time.perf_counter() - t0
    ctx.close()
    return seconds


#: Second live panels on a page: (paper key, tab label, start button label, row name in the report).
EXTRA_PANELS = (("lead", "C · 8-Gaussian GAN", "▶ Start GAN", "lead (panel C, GAN)"),)


def _open(ctx, url: str, paper, tab: str | None, start_label: str) -> tuple[Any, Any, float]:
    """Open the page in a new tab of ``ctx`` (and its ``tab``); return the tab, its Start button and the seconds."""
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(f"{url}/{paper.key}")
    if tab is not None:
        page.get_by_role("tab", name=tab).click()
    start = page.get_by_role("button", name=start_label, exact=True).first
    start.wait_for(timeout=90_000)
    return page, start, time.perf_counter() - t0


def measure_cold_open(browser, url: str, paper, tab: str | None, start_label: str) -> float:
    """Seconds from opening the page in a brand-new browser profile (empty cache) to its Start button."""
    ctx = _context(browser)
    seconds = _open(ctx, url, paper, tab, start_label)[2]
    ctx.close()
    return seconds


def _open_and_start(ctx, url: str, paper, tab: str | None, start_label: str) -> tuple[Any, float, float, float]:
    """Open the page, press Start, wait for a run's chart (not a preview).

    Returns the tab, the open-to-Start and Start-to-chart seconds, and the clock reading at the click.
    """
    page, start, open_s = _open(ctx, url, paper, tab, start_label)
    start.click()
    t_click = time.perf_counter()
    page.locator(LIVE_CHART_CSS + ":visible").first.wait_for(timeout=90_000)
    return page, open_s, time.perf_counter() - t_click, t_click


def measure_page(browser, url: str, paper, timeout_s: float = 120.0, tab: str | None = None,
                 start_label: str = "▶ Start", row: str | None = None, tries: int = 3) -> dict:
    """Open one page, start the small preset and time the first chart, redraws and completion.

    Page open and first chart are the medians of ``tries`` visits that are stopped at the first chart plus the
    visit that then runs the preset to the end. ``tab`` and ``start_label`` select a second live panel of the
    page (e.g. LEAD's GAN panel).
    """
    cold_s = measure_cold_open(browser, url, paper, tab, start_label)
    # the timed visits: new tabs of a browser that has opened the app before (its HTTP cache holds Streamlit's
    # scripts), the usual way a page is opened; the first-ever visit is ``cold_s`` above
    ctx = _context(browser)
    _home(ctx, url).close()
    opens, charts = [], []
    for _ in range(tries):
        page, t_open, t_chart, _ = _open_and_start(ctx, url, paper, tab, start_label)
        opens.append(t_open)
        charts.append(t_chart)
        try:  # a short preset may be done already, with Stop disabled
            page.locator("button:visible", has_text="■ Stop").first.click(timeout=2_000)
        except PlaywrightTimeout:
            pass
        page.get_by_text("Stopped after").or_(page.get_by_text("Done:")).first.wait_for(timeout=10_000)
        page.close()
    page, t_open, t_chart, t_click = _open_and_start(ctx, url, paper, tab, start_label)
    opens.append(t_open)
    charts.append(t_chart)
    totals = [a + b for a, b in zip(opens, charts)]
    # redraw rate while training: changes of the progress text ("step n/N · elapsed") over up to 5 s, timed from
    # the first change seen to the last one before "Done" (a run shorter than the window still gives a rate)
    stamps, last, t_end = [], None, time.perf_counter() + 5.0
    while time.perf_counter() < t_end:
        txt = page_status_text(page)
        if txt and txt.startswith("Done"):
            break
        if txt and txt != last:
            stamps.append(time.perf_counter())
            last = txt
        time.sleep(0.05)
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) >= 2 else None
    page.locator('[data-testid="stProgress"]:visible', has_text="Done:").first.wait_for(timeout=timeout_s * 1000)
    t_done = time.perf_counter()
    ctx.close()
    nav_s = measure_navigation(browser, url, paper)
    med = statistics.median
    return {
        "page": row or paper.key,
        "sidebar_click_to_start_button_s": round(nav_s, 2),
        "sidebar_click_to_first_chart_s": round(nav_s + med(charts), 2),
        "new_profile_open_to_start_button_s": round(cold_s, 2),
        "open_to_start_button_s": round(med(opens), 2),
        "start_to_first_chart_s": round(med(charts), 2),
        "open_to_first_chart_s": round(med(totals), 2),
        "open_to_first_chart_max_s": round(max(totals), 2),
        "redraws_per_s": None if rate is None else round(rate, 2),
        "small_preset_wall_s": round(t_done - t_click, 1),
    }


#: Every live panel of the dashboard with a ``small`` preset: (paper key, tab label or None, start button label).
ALL_PANELS = (
    ("attention", None, "▶ Start"),
    ("lyapunov", None, "▶ Start"),
    ("lyapunov", "B · Init-scale sweep", "▶ Start sweep"),
    ("lead", None, "▶ Start"),
    ("lead", "C · 8-Gaussian GAN", "▶ Start GAN"),
    ("udemd", None, "▶ Start"),
    ("udemd", "B · PBMC genes", "▶ Start PBMC"),
    ("udemd", "C · Accuracy and speed vs exact EMD", "▶ Start"),
    ("brims", None, "▶ Start"),
    ("activations", None, "▶ Start"),
    ("activations", "B · Landscape and trajectories", "▶ Start grid"),
    ("activations", "C · Input shift", "▶ Start shift"),
    ("starvation", None, "▶ Start"),
    ("starvation", "B · Linear toy", "▶ Start toy"),
    ("alignment", None, "▶ Start"),
    ("causal", None, "▶ Start"),
    ("causal", "B · Sweep over N", "▶ Start sweep"),
    ("multitask", None, "▶ Start"),
)

#: The other user's run in the two-session column: BRIMs' ``small`` preset, the longest torch training, restarted
#: whenever it ends so that it trains during the whole measured run.
BACKGROUND = ("brims", None, "▶ Start")


def _progress_text(page) -> str:
    return page_status_text(page)


def _done_or_stopped(page) -> bool:
    return _progress_text(page).startswith(("Done", "Stopped", "Failed"))


def measure_two_sessions(browser, url: str, panel: tuple[str, str | None, str], timeout_s: float = 300.0) -> dict:
    """Start to Done of ``panel``'s ``small`` preset while a second browser session trains :data:`BACKGROUND`.

    Two browser profiles (two users): the other user presses Start first and, whenever that run ends, Start again;
    the measured user opens the panel, presses Start once the other run is training, and the clock stops at "Done".
    Also returns the same panel timed alone, right before, on the same server, as the baseline of the ratio.
    """
    from neurodyn.core import registry

    key, tab, label = panel
    name = f"{key}" + (f" ({tab})" if tab else "")

    def alone() -> float:
        ctx = _context(browser)
        page, start, _ = _open(ctx, url, registry.paper(key), tab, label)
        start.click()
        t0 = time.perf_counter()
        page.locator('[data-testid="stProgress"]:visible', has_text="Done:").first.wait_for(timeout=timeout_s * 1000)
        seconds = time.perf_counter() - t0
        ctx.close()
        return seconds

    solo = alone()
    other_ctx, me_ctx = _context(browser), _context(browser)
    bkey, btab, blabel = BACKGROUND
    other, other_start, _ = _open(other_ctx, url, registry.paper(bkey), btab, blabel)
    other_start.click()
    other.locator(LIVE_CHART_CSS + ":visible").first.wait_for(timeout=90_000)  # the other run is training
    restarts = 0
    me, start, _ = _open(me_ctx, url, registry.paper(key), tab, label)
    start.click()
    t0 = time.perf_counter()
    done = me.locator('[data-testid="stProgress"]:visible', has_text="Done:").first
    while not done.count():
        if time.perf_counter() - t0 > timeout_s:
            shot = Path(tempfile.gettempdir()) / "neurodyn-two-sessions-measured.png"
            me.screenshot(path=str(shot), full_page=True)
            raise RuntimeError(f"{name}: not done after {timeout_s:.0f} s with a second session training (its "
                               f"status: {_progress_text(me)!r}; the other's: {_progress_text(other)!r}); its page "
                               f"is in {shot}")
        if _done_or_stopped(other):  # keep the other user training for the whole measurement
            # Start comes back after the ended run's final full redraw, which takes a while on a loaded machine
            try:
                other.get_by_role("button", name=blabel, exact=True).first.click(timeout=120_000)
            except PlaywrightTimeout:
                shot = Path(tempfile.gettempdir()) / "neurodyn-two-sessions-other.png"
                other.screenshot(path=str(shot), full_page=True)
                raise RuntimeError(f"{name}: the other session's Start stayed disabled for 120 s after its run "
                                   f"ended ({_progress_text(other)!r}); its page is in {shot}") from None
            restarts += 1
        me.wait_for_timeout(250)
    seconds = time.perf_counter() - t0
    me_ctx.close()
    other_ctx.close()
    return {"panel": name, "small_preset_alone_s": round(solo, 1), "small_preset_two_sessions_s": round(seconds, 1),
            "ratio": round(seconds / solo, 2), "other_run_restarts": restarts}


def main_two_sessions(args: argparse.Namespace) -> int:
    """The two-session column: every panel's ``small`` preset alone and with another session training."""
    from playwright.sync_api import sync_playwright

    panels = [p for p in ALL_PANELS if not args.pages or p[0] in args.pages.split(",")]
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
        proc, url, _ = start_server(ROOT / "app.py", max_jobs=None)
        try:
            wait_for_warmup(browser, url, timeout_s=300)
            for panel in panels:
                rows.append(measure_two_sessions(browser, url, panel))
                print(json.dumps(rows[-1]), flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
        browser.close()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "background": " ".join(x for x in BACKGROUND if x), "panels": rows}
    print(json.dumps(report, indent=2))
    worst = max(r["small_preset_two_sessions_s"] for r in rows)
    print(f"slowest small preset with a second session training: {worst:.1f} s (goal: under 60 s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def main() -> int:
    from playwright.sync_api import sync_playwright

    from neurodyn.core import registry

    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", default="", help="comma-separated paper keys (default: every ready page)")
    parser.add_argument("--json", default="", help="also write the results here")
    parser.add_argument("--two-sessions", action="store_true",
                        help="only the two-session column: every panel's small preset alone and with a second "
                        "browser session training (the server's default job cap)")
    args = parser.parse_args()
    if args.two_sessions:
        return main_two_sessions(args)
    ready = [registry.paper(k) for k in registry.PACKAGES if not args.pages or k in args.pages.split(",")]

    rows, warm_s = [], float("nan")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
        with tempfile.TemporaryDirectory() as tmp:
            # baseline in the same run: a one-line Streamlit app's cold start, and its page open in a fresh tab
            bare = Path(tmp) / "bare.py"
            bare.write_text("import streamlit as st\nst.write('bare page ok')\n")
            proc, bare_url, bare_s = start_server(bare)
            try:
                bare_open = measure_bare_open(browser, bare_url)
            finally:
                proc.terminate()
                proc.wait(10)
        proc, url, cold_s = start_server(ROOT / "app.py")
        try:
            # the first visit starts the warm-up (worker processes, numba); the home page says when it is done
            warm_s = wait_for_warmup(browser, url, timeout_s=300)
            for paper in ready:
                rows.append(measure_page(browser, url, paper))
                print(json.dumps(rows[-1]), flush=True)
                for key, tab, label, row in EXTRA_PANELS:
                    if key == paper.key:
                        rows.append(measure_page(browser, url, paper, tab=tab, start_label=label, row=row))
                        print(json.dumps(rows[-1]), flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
        browser.close()
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "cold_start_s": round(cold_s, 2),
        "bare_streamlit_cold_start_s": round(bare_s, 2),
        "cold_start_ratio_vs_bare_streamlit": round(cold_s / bare_s, 2),
        "bare_streamlit_new_profile_open_to_text_s": round(bare_open[0], 2),
        "bare_streamlit_open_to_text_s": round(bare_open[1], 2),
        "first_visit_to_warm_s": round(warm_s, 1),
        "pages": rows,
    }
    print(json.dumps(report, indent=2))
    print(f"cold start {cold_s:.2f} s vs bare streamlit {bare_s:.2f} s: ratio {cold_s / bare_s:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
