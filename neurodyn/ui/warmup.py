"""Start-up work once per server process, in a background thread started by ``app.py``: the job manager's worker
processes are started (each imports and warms up on its own) and :mod:`neurodyn.core.warmup` runs here too."""

from __future__ import annotations

import threading
import time
from typing import Any

import streamlit as st

from neurodyn.core.jobs import get_manager
from neurodyn.core.warmup import run_warmup

__all__ = ["STATUS_PREFIX", "WARMUP_DONE", "start_warmup", "wait_for_warmup", "warmup_state"]

#: The home page's status caption starts with this and, once the warm-up has finished, contains ``WARMUP_DONE``.
STATUS_PREFIX = "Server:"
WARMUP_DONE = "Start-up warm-up done"


class _State:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.seconds = 0.0
        self.errors: list[str] = []

    def _run(self) -> None:
        t0 = time.perf_counter()
        mgr = get_manager()  # starts the worker processes, which warm up on their own in parallel
        _, self.errors = run_warmup()
        if not mgr.wait_workers_ready(300):
            self.errors.append("the worker processes did not start within 300 s")
        self.seconds = time.perf_counter() - t0
        self.done.set()


@st.cache_resource(show_spinner=False)
def _state() -> _State:
    state = _State()
    threading.Thread(target=state._run, name="neurodyn-warmup", daemon=True).start()
    return state


def start_warmup() -> None:
    """Start the process-wide warm-up thread (no-op after the first call)."""
    _state()


def warmup_state() -> _State:
    """The warm-up's state: ``done`` event, ``seconds`` taken, ``errors``."""
    return _state()


def wait_for_warmup(browser: Any, url: str, timeout_s: float = 120.0) -> float:
    """Reload the home page in a real browser until its status says the warm-up is done (browser tests, benchmarks).

    Parameters
    ----------
    browser : playwright.sync_api.Browser
    url : str
        The dashboard's base URL.
    timeout_s : float
        Give up reloading after this long (the caller's next step then meets a cold server).

    Returns
    -------
    float
        Seconds from opening the home page to the status that says done (or to giving up).
    """
    t0 = time.perf_counter()
    page = browser.new_page()
    page.goto(url)
    while time.perf_counter() - t0 < timeout_s:
        page.get_by_text(STATUS_PREFIX).first.wait_for(timeout=60_000)  # the caption drawn last
        if page.get_by_text(WARMUP_DONE).count():
            break
        page.wait_for_timeout(500)
        page.reload()
    seconds = time.perf_counter() - t0
    page.close()
    return seconds
