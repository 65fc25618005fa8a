"""A live ``streamlit run app.py`` on a free local port, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from neurodyn.ui.warmup import wait_for_warmup

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         # each context stands for a user with the app in the foreground: no background-tab timer throttling
         "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
         "--disable-backgrounding-occluded-windows"]


SERVER: dict = {}  # the running server's Popen, for tests that read its memory


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(browser):
    """Start the dashboard; yield its base URL; stop it at the end."""
    port = _free_port()
    env = {**os.environ, "NEURODYN_HEARTBEAT_TIMEOUT": "6", "NEURODYN_MAX_JOBS": "1"}
    (ROOT / "test-output").mkdir(exist_ok=True)
    log = open(ROOT / "test-output" / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    # like ./run.sh: the numba cache on disk is filled before the server starts, and the first visit starts the
    # in-process warm-up, which the home page reports as done
    subprocess.run([sys.executable, "-m", "neurodyn", "warmup"], cwd=ROOT, env=env, check=True, timeout=300)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.terminate()
        pytest.fail("the dashboard did not become healthy within 60 s; see test-output/server.log")
    SERVER["proc"] = proc
    wait_for_warmup(browser, url)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def server_pid(server) -> int:
    """Process id of the running dashboard server."""
    return SERVER["proc"].pid


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}; install it with `apt-get install -y chromium chromium-driver`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


class Watch:
    """Console errors and requests to any host but the app's own, seen by one page."""

    def __init__(self, page, base: str) -> None:
        self.errors: list[str] = []
        self.vega_warnings: list[str] = []  # e.g. "Infinite extent for field": a chart drawn from empty or NaN data
        self.foreign: list[str] = []
        host = base.split("//", 1)[1]

        def on_console(m) -> None:
            if m.type == "error":
                self.errors.append(m.text)
            elif m.type == "warning" and re.match(r"\s*(WARN|ERROR)\b", m.text):
                self.vega_warnings.append(m.text)

        page.on("console", on_console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def on_request(req):
            u = req.url
            if u.startswith(("data:", "blob:", "about:")):
                return
            if "//" in u and u.split("//", 1)[1].split("/", 1)[0] != host:
                self.foreign.append(u)

        page.on("request", on_request)
        page.on("response", self._on_response)
        self._probe_404 = 0

    # Opened at a deep link (/lead?...), Streamlit's front end first probes <path>/_stcore/{health,host-config} to
    # find the server's base path and falls back to the root on 404. Those probes and the browser's console line
    # about each are the only errors tolerated; any other failed response or console error fails the test.
    _PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")

    def _on_response(self, r) -> None:
        if r.status >= 400:
            if r.status == 404 and self._PROBE.search(r.url.split("?")[0]):
                self._probe_404 += 1
            else:
                self.errors.append(f"HTTP {r.status} {r.url}")

    @property
    def console_errors(self) -> list[str]:
        """Console errors, less one 'Failed to load resource: 404' line per tolerated base-path probe."""
        out, skip = [], self._probe_404
        for e in self.errors:
            if skip and "status of 404" in e:
                skip -= 1
                continue
            out.append(e)
        return out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def page(browser, server, request):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    pg.watch = Watch(pg, server)
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:  # keep what the page showed when the test failed
        (OUT.parent / "failures").mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(OUT.parent / "failures" / f"{request.node.name}.png"), full_page=True)
    ctx.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


#: Visible text elements whose text is cut (ellipsis or hidden overflow): buttons, widget labels, tabs, metrics.
OVERFLOW_JS = """
() => {
  // a button's label sits in elements of its own, which are the ones that clip with an ellipsis
  const sel = 'button, button *, [data-testid="stWidgetLabel"], [data-testid="stWidgetLabel"] *, ' +
              '[data-baseweb="tab"], [data-baseweb="tab"] *, [data-testid="stMetricLabel"] *, ' +
              '[data-testid="stExpander"] summary *';
  const out = [];
  for (const el of document.querySelectorAll(sel)) {
    if (!el.offsetParent || !el.innerText || !el.innerText.trim()) continue;
    const st = getComputedStyle(el);
    const clips = st.overflow !== 'visible' || st.overflowX !== 'visible' || st.textOverflow === 'ellipsis';
    if (clips && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 2)) {
      out.push(el.innerText.trim().slice(0, 80));
    }
  }
  return [...new Set(out)];
}
"""


@pytest.fixture
def cut_texts():
    """``cut_texts(page)``: texts of buttons, labels and tabs that overflow their box (cut, or an ellipsis)."""
    return lambda page: page.evaluate(OVERFLOW_JS)
