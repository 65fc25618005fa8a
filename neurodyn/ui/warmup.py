"""Run :mod:`neurodyn.core.warmup` once per server process, in a background thread started by ``app.py``."""

from __future__ import annotations

import threading

import streamlit as st

from neurodyn.core.warmup import run_warmup

__all__ = ["start_warmup", "warmup_state"]


class _State:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.seconds = 0.0
        self.errors: list[str] = []

    def _run(self) -> None:
        self.seconds, self.errors = run_warmup()
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
