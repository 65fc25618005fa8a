"""A run started in the browser is stored as it goes, survives a server restart, and opens on the Stored runs page."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from neurodyn.core.store import RunStore
from neurodyn.ui.live import LIVE_CHART_CSS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(home) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "NEURODYN_HOME": str(home), "NEURODYN_MAX_JOBS": "1"}
    env.pop("NEURODYN_DB_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail("the dashboard did not become healthy within 60 s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_browser_run_is_stored_survives_a_restart_and_opens_on_the_runs_page(browser, tmp_path, shots):
    home = tmp_path / "home"
    proc, url = _start(home)
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = ctx.new_page()
        page.goto(f"{url}/lead?preset=small&seed=2")
        start = page.get_by_role("button", name=re.compile("^▶ Start")).first
        start.wait_for(timeout=90_000)
        start.click()
        page.locator(LIVE_CHART_CSS).first.wait_for(timeout=60_000)
        page.get_by_text("Done:").first.wait_for(timeout=120_000)
        with page.expect_download() as dl:
            page.get_by_role("button", name=re.compile("Run record \\(JSON\\)")).first.click()
        downloaded = json.loads(open(dl.value.path()).read())
        ctx.close()
    finally:
        _stop(proc)

    store = RunStore(f"sqlite:///{home}/runs.sqlite")
    try:
        (run,) = store.runs()
        t0 = time.monotonic()
        while run.status == "running" and time.monotonic() - t0 < 10:  # the writer ends it just after the run
            time.sleep(0.2)
            run = store.run(run.id)
        assert (run.experiment, run.status, run.seed, run.source, run.paper) == ("lead", "done", 2, "page", "lead")
        stored = store.records(run.id)
        assert stored == downloaded["records"]  # every record, artifacts included, as the page's download has them
        assert [c["key"] for c in run.claims] == [c["key"] for c in downloaded["claims"]]
    finally:
        store.close()

    proc, url = _start(home)  # a new server process: the run is still there
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = ctx.new_page()
        page.goto(f"{url}/runs?run={run.id}")
        page.get_by_text("Stored runs").first.wait_for(timeout=90_000)
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)  # its metric curve
        assert page.get_by_text(f"#{run.id} lead").count() >= 1
        with page.expect_download() as dl:
            page.get_by_role("button", name=re.compile("Run record \\(JSON\\)")).first.click()
        again = json.loads(open(dl.value.path()).read())
        assert again["records"] == downloaded["records"] and again["id"] == run.id
        page.screenshot(path=str(shots / "runs.png"), full_page=True)
        ctx.close()
    finally:
        _stop(proc)
