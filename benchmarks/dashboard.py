"""Dashboard speed report, measured in a real browser (Debian chromium through Playwright).

For the server: cold start to a healthy ``/_stcore/health``, then the start-up warm-up that the first visit starts
(worker processes and numba, reported on the home page). For every ready page: time from opening the page to
its Start button, from Start to the first chart, the redraw rate during training (distinct progress texts per
second), and the wall time of the ``small`` preset from Start to "Done". Baseline in the same run: Streamlit's own
cold start on a one-line script, so the ratio shows what neurodyn's imports add.

    .venv/bin/python benchmarks/dashboard.py [--pages lead,udemd] [--json out.json]

Goals (issue 7): cold start < 10 s, first chart < 3 s after the page is open, redraw >= 2/s, small preset < 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(script: Path) -> tuple[subprocess.Popen, str, float]:
    """Start ``streamlit run script``; return the process, its URL and the seconds to a healthy endpoint."""
    port = _port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "NEURODYN_MAX_JOBS": "1"},
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


def measure_page(browser, url: str, paper, timeout_s: float = 120.0) -> dict:
    """Open one page, start the small preset and time the first chart, redraws and completion."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    t_open = time.perf_counter()
    page.goto(f"{url}/{paper.page.removesuffix('.py')}")
    start = page.get_by_role("button", name="▶ Start").first
    start.wait_for(timeout=90_000)
    t_ready = time.perf_counter()
    start.click()
    t_click = time.perf_counter()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=90_000)
    t_chart = time.perf_counter()
    texts, changes, t_end = set(), 0, time.perf_counter() + 5.0
    last = None
    while time.perf_counter() < t_end:
        loc = page.locator('[data-testid="stProgress"]')
        txt = loc.first.inner_text() if loc.count() else None
        if txt and txt != last:
            changes += 1
            texts.add(txt)
            last = txt
        if txt and txt.startswith("Done"):
            break
        time.sleep(0.05)
    window = 5.0 - max(0.0, t_end - time.perf_counter())
    page.get_by_text("Done:").first.wait_for(timeout=timeout_s * 1000)
    t_done = time.perf_counter()
    ctx.close()
    return {
        "page": paper.key,
        "open_to_start_button_s": round(t_ready - t_open, 2),
        "start_to_first_chart_s": round(t_chart - t_click, 2),
        "redraws_per_s": round(changes / window, 2) if window > 0 else None,
        "small_preset_wall_s": round(t_done - t_click, 1),
    }


def main() -> int:
    from playwright.sync_api import sync_playwright

    from neurodyn.core import registry

    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", default="", help="comma-separated paper keys (default: every ready page)")
    parser.add_argument("--json", default="", help="also write the results here")
    args = parser.parse_args()
    ready = [p for p in registry.PAPERS if p.page and (not args.pages or p.key in args.pages.split(","))]

    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text("import streamlit as st\nst.write('ok')\n")
        proc, _, bare_s = start_server(bare)
        proc.terminate()
        proc.wait(10)
    proc, url, cold_s = start_server(ROOT / "app.py")
    rows, warm_s = [], float("nan")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
            # the first visit starts the warm-up (worker processes, numba); the home page says when it is done
            t0 = time.perf_counter()
            home = browser.new_page()
            home.goto(url)
            while time.perf_counter() - t0 < 300:
                home.get_by_text("Server:").first.wait_for(timeout=60_000)  # the caption drawn last
                if home.get_by_text("Start-up warm-up done").count():
                    break
                home.wait_for_timeout(500)
                home.reload()
            warm_s = time.perf_counter() - t0
            home.close()
            for paper in ready:
                rows.append(measure_page(browser, url, paper))
                print(json.dumps(rows[-1]), flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "cold_start_s": round(cold_s, 2),
        "bare_streamlit_cold_start_s": round(bare_s, 2),
        "cold_start_ratio_vs_bare_streamlit": round(cold_s / bare_s, 2),
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
