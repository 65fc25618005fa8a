"""Worker processes for training jobs: pre-started, pre-imported, killable.

Training in a thread of the dashboard's process shares the interpreter lock with every page redraw: a few open tabs
drawing altair charts twice a second slowed small models ten-fold in our measurements. A worker process trains at
full speed on its own core, returns its memory to the system when it is recycled, and can be killed when a step runs
long, so Stop always lands within a second.

Protocol over a ``multiprocessing`` pipe (parent -> child, then child -> parent)::

    ("run", job_id, name, config, build)   build: picklable callable
    ("cancel",)                            stop after the current step
    ("exit",)
    ("ready", pid) | ("built", job_id, total_steps) | ("record", job_id, Record)
    | ("done", job_id) | ("stopped", job_id) | ("failed", job_id, message)

A worker is started with the ``spawn`` method (no fork of a threaded server) and imports every registered paper package
and runs the warm-up before it reports ready, so the first step of a job starts at once. It drives the experiment
through :func:`neurodyn.core.loop.run`, whose ``cancel`` reads the pipe between steps.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
import types
from typing import Any, Callable

__all__ = ["Worker", "WorkerPool"]

log = logging.getLogger(__name__)
_SPAWN_LOCK = threading.Lock()


def _exit_on_sigterm(signum: int, frame: Any) -> None:  # pragma: no cover - runs in the child process
    raise SystemExit(0)  # unwind normally, so that finalizers release what the libraries hold (semaphores)


def _child_main(conn: Any, torch_threads: int) -> None:  # pragma: no cover - runs in the child process
    # Ctrl-C in the terminal reaches the whole process group: the server decides when workers end, not the key press.
    # SIGTERM (the parent's last resort, or `docker stop` on the group) ends the worker cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(torch_threads)
    import torch

    torch.set_num_threads(torch_threads)
    from neurodyn.core import registry
    from neurodyn.core.loop import run
    from neurodyn.core.warmup import run_warmup

    try:
        registry.papers()  # import every paper package now, not in the first job
    except Exception:  # a broken package fails its own jobs, not the worker
        log.warning("worker could not import the paper packages:\n%s", traceback.format_exc())
    run_warmup()
    # numba's OpenMP threading layer (UMAP, in the warm-up) sets OpenMP's global thread count, which torch's
    # intra-op pool reads: without this the worker trains on every core and starves the server and other jobs
    torch.set_num_threads(torch_threads)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "exit":
            return
        if msg[0] != "run":
            continue
        _, job_id, name, config, build = msg
        control: list[str] = []

        def cancelled() -> bool:
            if not control and conn.poll():
                ctl = conn.recv()
                if ctl[0] in ("cancel", "exit"):
                    control.append(ctl[0])
            return bool(control)

        exp = None
        try:
            exp = build(config)
            conn.send(("built", job_id, int(getattr(exp, "total_steps", 0) or 0)))
            for rec in run(exp, cancel=cancelled):
                conn.send(("record", job_id, rec))
            conn.send(("stopped", job_id) if control else ("done", job_id))
            if control == ["exit"]:
                return
        except Exception as exc:
            log.error("job %s (%s) failed in its worker:\n%s", job_id, name, traceback.format_exc())
            conn.send(("failed", job_id, f"{type(exc).__name__}: {exc}"))
        exp = None  # free the model before waiting for the next job


class Worker:
    """One child process and the parent's end of its pipe."""

    def __init__(self, torch_threads: int = 1) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_child_main, args=(child, torch_threads), daemon=True,
                                   name="neurodyn-worker")
        # Streamlit runs the app script as sys.modules["__main__"] (with __file__ = app.py), and "spawn" re-runs the
        # parent's main file in the child: the worker would start the whole app, and its own workers. Hide it.
        with _SPAWN_LOCK:
            saved = sys.modules.get("__main__")
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                self.process.start()
            finally:
                if saved is not None:
                    sys.modules["__main__"] = saved
        child.close()
        self.ready = threading.Event()
        self.jobs_run = 0

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the child has imported everything and said ready (False on timeout or death)."""
        if self.ready.is_set():
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.process.is_alive():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            if self.conn.poll(0.1 if left is None else min(0.1, left)):
                try:
                    msg = self.conn.recv()
                except (EOFError, OSError):
                    return False
                if msg[0] == "ready":
                    self.ready.set()
                    return True
        return False

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return self.process.is_alive()

    def rss_mib(self) -> float:
        """Resident memory of the child in MiB (NaN where /proc is not readable)."""
        try:
            with open(f"/proc/{self.process.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def kill(self) -> None:
        """Terminate the child at once (a step that would not end)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(2)
        self.conn.close()

    def close(self) -> None:
        """Ask the child to exit, then make sure it did."""
        try:
            self.conn.send(("exit",))
        except (OSError, ValueError):
            pass
        self.process.join(2)
        self.kill()


class WorkerPool:
    """Keeps ``size`` ready workers; hands one to each running job; recycles big or broken ones.

    Parameters
    ----------
    size : int
        Workers kept ready (the job cap).
    torch_threads : int
        ``torch.set_num_threads`` in each worker.
    max_rss_mib : float
        A worker whose memory passes this after a job is replaced by a fresh one.
    """

    def __init__(self, size: int, torch_threads: int = 1, max_rss_mib: float = 3072.0) -> None:
        self.size, self.torch_threads, self.max_rss_mib = size, torch_threads, max_rss_mib
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._spawn_async()

    def _spawn_async(self) -> None:
        def spawn() -> None:
            for attempt in range(3):
                try:
                    w = Worker(self.torch_threads)
                except (OSError, RuntimeError) as exc:  # e.g. out of processes or memory: try again shortly
                    log.warning("starting a worker process failed (attempt %d): %s", attempt + 1, exc)
                    time.sleep(1.0 * (attempt + 1))
                    continue
                if w.wait_ready(300):
                    with self._lock:
                        if not self._closed:
                            self._idle.append(w)
                            return
                    w.close()  # the pool closed while it started: let it exit cleanly
                    return
                w.kill()
                return
            log.error("no worker process could be started")

        threading.Thread(target=spawn, name="neurodyn-worker-spawn", daemon=True).start()

    @property
    def n_ready(self) -> int:
        """Workers started and waiting for a job."""
        with self._lock:
            return sum(w.alive for w in self._idle)

    def checkout(self, cancelled: Callable[[], bool], timeout: float = 300.0) -> Worker | None:
        """Take a ready worker, waiting for one to finish starting; None if cancelled or timed out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not cancelled():
            with self._lock:
                while self._idle:
                    w = self._idle.pop()
                    if w.alive:
                        return w
                    self._spawn_async()
            time.sleep(0.05)
        return None

    def checkin(self, worker: Worker) -> None:
        """Return a worker after a job; a dead or bloated one is replaced."""
        worker.jobs_run += 1
        if self._closed:
            worker.close()
            return
        if worker.alive and worker.rss_mib() < self.max_rss_mib:
            with self._lock:
                self._idle.append(worker)
            return
        self.discard(worker)

    def discard(self, worker: Worker) -> None:
        """Kill a worker and start a replacement."""
        worker.kill()
        if not self._closed:
            self._spawn_async()

    def close(self) -> None:
        """Stop every idle worker (running ones end with their jobs)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.close()
