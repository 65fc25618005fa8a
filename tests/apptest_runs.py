"""Page tests in AppTest: press a live panel's Start and wait for its run to end, as the page's redraws would."""

from __future__ import annotations

import time
from typing import Any

from streamlit.testing.v1 import AppTest


def run_to_end(at: AppTest, key: str, timeout_s: float = 120) -> Any:
    """Press the panel's Start, send the heartbeats its redraws would send until the run ends, and return the job.

    Parameters
    ----------
    at : AppTest
        The page, already run once.
    key : str
        The live panel's key (its buttons are ``{key}.start`` and ``{key}.stop``).
    timeout_s : float
        Longest wait for the run to end.

    Returns
    -------
    Job
        The ended job (the caller checks its state).
    """
    at.button(key=f"{key}.start").click().run()
    job = at.session_state[f"nd.job.{key}"]
    deadline = time.monotonic() + timeout_s
    while job.state.active and time.monotonic() < deadline:
        job.heartbeat()
        time.sleep(0.1)
    return job
