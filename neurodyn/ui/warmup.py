"""Pay one-off start-up costs (numba JIT behind UMAP) once per server process, in the background."""

from __future__ import annotations

import importlib
import logging
import threading
import time

import streamlit as st

__all__ = ["start_warmup", "warmup_state"]

log = logging.getLogger(__name__)

# (module, function) pairs called once per process; each is optional until its package lands.
_TASKS: tuple[tuple[str, str], ...] = ()


class _State:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.seconds = 0.0
        self.errors: list[str] = []


def _run(state: _State) -> None:
    t0 = time.perf_counter()
    for module, func in _TASKS:
        try:
            getattr(importlib.import_module(module), func)()
        except Exception as exc:  # warm-up is an optimisation; a failure is logged, never fatal
            log.warning("warm-up %s.%s failed: %s", module, func, exc)
            state.errors.append(f"{module}.{func}: {exc}")
    state.seconds = time.perf_counter() - t0
    state.done.set()


@st.cache_resource(show_spinner=False)
def _state() -> _State:
    state = _State()
    threading.Thread(target=_run, args=(state,), name="neurodyn-warmup", daemon=True).start()
    return state


def start_warmup() -> None:
    """Start the process-wide warm-up thread (no-op after the first call)."""
    _state()


def warmup_state() -> _State:
    """The warm-up's state: ``done`` event, ``seconds`` taken, ``errors``."""
    return _state()
