"""Start-up work once per server process, in a background thread started by ``app.py``: the job manager's worker
processes are started (each imports and warms up on its own) and :mod:`neurodyn.core.warmup` runs here too."""

from __future__ import annotations

import threading
import time

import streamlit as st

from neurodyn.core.jobs import get_manager
from neurodyn.core.warmup import run_warmup

__all__ = ["start_warmup", "warmup_state"]


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
