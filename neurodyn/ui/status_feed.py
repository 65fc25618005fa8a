"""The live status line of a run, redrawn by the browser itself from a small file the server keeps up to date.

A Streamlit rerun costs the browser tab about 0.1 s of CPU however little changes (it re-renders the app), so a
status line redrawn by reruns twice a second kept an open tab at about 0.2 of a core and the training worker on
the same cores lost that much (measured on 2026-12-01 with the attention page: the tab's CPU fell from 0.29 to 0.07
of a core without those reruns). Here the status line is a small custom component: it polls
``feed/<token>.json`` next to its own ``index.html`` (served by Streamlit's component route) and redraws its text
and bar, and a thread of the server rewrites that file for every run in progress. When the run ends the component
sends its final state once, which reruns the page's status fragment, which draws the final state (and the ended
run's figures) the Streamlit way.

The token in the file name is random (128 bits) and the file holds only the status line (state, progress, text).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from neurodyn.core.jobs import Job, JobState, get_manager

__all__ = ["status_line", "StatusFeed", "get_feed", "show", "WRITE_EVERY_S", "KEEP_S"]

WRITE_EVERY_S = 0.4  # the server rewrites each live run's file this often
KEEP_S = 120.0  # an ended run's file stays this long (a tab that was asleep still reads the final state)
_HTML = Path(__file__).with_name("assets") / "status_feed.html"


def status_line(job: Job) -> dict[str, Any]:
    """The status line of ``job``: what the page shows above a run's figures.

    Parameters
    ----------
    job : Job

    Returns
    -------
    dict
        ``state`` (the job state's value), ``active`` (queued or running), ``kind`` (``"progress"`` for a bar with
        text, ``"info"`` for the queue notice, ``"warning"`` or ``"error"`` for an ended run), ``progress`` in
        [0, 1] and ``text``.
    """
    n, total = job.n_records, job.total_steps
    state = job.state
    out: dict[str, Any] = {"state": state.value, "active": state.active, "kind": "progress", "progress": 0.0}
    if state is JobState.QUEUED:
        mgr = get_manager()
        out.update(kind="info", text=f"⏳ Queued: position {mgr.queue_position(job)} of {mgr.n_queued}; "
                   f"{mgr.n_running} run(s) ahead use the {mgr.max_running} worker slot(s). It starts by itself.")
        return out
    steps = f"record {n}/{total}" if total else f"record {n}"
    records = job.records
    if records and records[-1].step != n - 1:  # e.g. one record per 5 optimizer steps
        steps += f" (step {records[-1].step})"
    if state is JobState.RUNNING:
        eta = job.eta_seconds
        left = f" · about {eta:.0f} s left" if eta else ""
        out.update(progress=float(job.progress), text=f"{job.phase.capitalize()}: {steps} · {job.elapsed:.1f} s{left}")
    elif state is JobState.DONE:
        out.update(progress=1.0, text=f"Done: {job.message}")
    elif state is JobState.STOPPED:
        out.update(kind="warning", progress=float(job.progress),
                   text=f"Stopped after {n} records ({job.elapsed:.1f} s): {job.message}. "
                   "The partial results stay below.")
    else:
        out.update(kind="error", progress=float(job.progress),
                   text=f"{job.message} Partial results ({n} records) stay below.")
    return out


class StatusFeed:
    """Status files of the runs in progress, in a directory served as a custom component.

    Parameters
    ----------
    root : path, optional
        Directory for ``index.html`` and ``feed/``; default a new temporary directory (removed at exit).
    every_s : float
        Seconds between two rewrites of a live run's file.
    """

    def __init__(self, root: str | os.PathLike | None = None, every_s: float = WRITE_EVERY_S) -> None:
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="neurodyn-status-"))
        (self.root / "feed").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_HTML, self.root / "index.html")
        self.every_s = float(every_s)
        self._tokens: dict[int, str] = {}  # job id -> token
        self._jobs: dict[str, Job] = {}  # token -> job, while its file is kept
        self._ended: dict[str, float] = {}  # token -> monotonic time its final state was written
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def path(self, token: str) -> Path:
        """The status file of ``token``."""
        return self.root / "feed" / f"{token}.json"

    def publish(self, job: Job) -> str:
        """Start keeping ``job``'s status file (written at once); return its token (the same for every call).

        Parameters
        ----------
        job : Job

        Returns
        -------
        str
            32 hex digits.
        """
        with self._lock:
            token = self._tokens.get(job.id)
            if token is None:
                token = uuid.uuid4().hex
                self._tokens[job.id] = token
                self._jobs[token] = job
        self._write(token, job)
        self._ensure_thread()
        return token

    def _write(self, token: str, job: Job) -> None:
        target = self.path(token)
        tmp = target.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(status_line(job)), encoding="utf-8")
            os.replace(tmp, target)  # a reader never sees half a file
        except OSError:
            pass  # a full or vanished temporary directory must not take the server down; the page shows no line

    def write_all(self) -> None:
        """Rewrite the file of every live run, write the final state of runs that ended, drop old ones."""
        now = time.monotonic()
        with self._lock:
            items = list(self._jobs.items())
        for token, job in items:
            with self._lock:
                ended = self._ended.get(token)
            if ended is not None:
                if now - ended > KEEP_S:
                    with self._lock:
                        self._jobs.pop(token, None)
                        self._ended.pop(token, None)
                        self._tokens.pop(job.id, None)
                    self.path(token).unlink(missing_ok=True)
                continue
            final = not job.state.active  # read before writing: the file then holds this state or a later one
            self._write(token, job)
            if final:
                with self._lock:
                    self._ended[token] = now

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="neurodyn-status-feed", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.every_s)
            self.write_all()
            with self._lock:
                if not self._jobs:
                    self._thread = None
                    return


_feed: StatusFeed | None = None
_component: Any = None
_feed_lock = threading.Lock()


def get_feed() -> StatusFeed:
    """The server's status feed (created on first use, its directory removed at exit)."""
    global _feed
    with _feed_lock:
        if _feed is None:
            import atexit

            _feed = StatusFeed()
            atexit.register(shutil.rmtree, _feed.root, True)
        return _feed


def show(job: Job, *, key: str, every_ms: int = 450) -> Any:
    """Draw ``job``'s live status line: a component that polls its status file every ``every_ms``.

    Parameters
    ----------
    job : Job
        A queued or running job.
    key : str
        Widget key (one per live panel).
    every_ms : int
        Milliseconds between two polls of the status file.

    Returns
    -------
    str or None
        ``"<token>:<state>"`` once the component has seen the run end (the value that reruns the fragment; the
        token makes it new for every run), else None.
    """
    global _component
    import streamlit.components.v1 as components

    feed = get_feed()
    if _component is None:
        _component = components.declare_component("status", path=str(feed.root))
    token = feed.publish(job)
    return _component(token=token, every_ms=int(every_ms), initial=status_line(job), key=key, default=None)
