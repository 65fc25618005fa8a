"""Background training jobs: one worker thread per job, a process-wide cap, a FIFO queue, heartbeats.

A page never trains in its script body. It submits a job here; the worker builds the experiment and calls
``step()`` until the run is done, cancelled, out of time or broken, appending each :class:`Record` to the job's
list. The page's fragment reads that list a few times per second and sends a heartbeat. Guarantees:

- **Stop within a second.** The worker checks the cancel flag between steps, and a step stays under 0.5 s
  (``check_experiment`` enforces it), so ``cancel()`` takes effect within one step. Records taken so far stay.
- **Caps.** At most ``max_running`` jobs run at once in the process (default: one per two cores, at least two); the
  rest wait in a FIFO queue whose position is visible. Each browser session has at most one queued or running job.
- **Abandoned jobs end.** A job whose session sends no heartbeat for ``heartbeat_timeout`` seconds is cancelled,
  unless the session is still connected (a hidden tab whose timers the browser throttles keeps its run).
- **Failures are readable.** An exception or a non-finite metric ends the job with a one-line message; the
  partial records stay.
- **Processes.** By default each job runs in a pre-started worker process (:mod:`neurodyn.core.workers`), so page
  redraws never compete with training for the interpreter lock, memory goes back to the system, and a step that
  outlasts the Stop grace (0.8 s) is ended by killing its worker. ``mode="thread"`` runs jobs in threads of this
  process instead (tests, or experiments whose build function cannot be pickled).
- **Threads per job.** Each worker sets ``torch.set_num_threads(torch_threads)`` (default 1: several small models
  on a 2-core machine are much faster with one thread each than fighting over two).

Configuration by environment: ``NEURODYN_WORKERS`` (``process`` or ``thread``), ``NEURODYN_MAX_JOBS``,
``NEURODYN_TORCH_THREADS``, ``NEURODYN_HEARTBEAT_TIMEOUT``
(seconds), ``NEURODYN_MAX_JOB_SECONDS`` (wall-clock budget of one job), ``NEURODYN_DATA_DIR`` (finished runs are
saved there as JSON run records when set), ``NEURODYN_STORE`` (``0`` turns the run registry off for the dashboard).

- **Runs are stored as they go.** With ``store=True`` (the dashboard's manager) every job is a run in the registry
  (:mod:`neurodyn.core.store`): its records are written in batches by a background thread, never by the thread
  that relays them, and its status and claim verdicts when it ends. A registry that cannot be opened leaves
  :attr:`JobManager.store_error` set and the runs unsaved; training goes on.
"""

from __future__ import annotations

import atexit
import enum
import itertools
import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from neurodyn.core import registry
from neurodyn.core.export import data_dir, run_record, run_summary, save_run
from neurodyn.core.loop import Experiment, Record, non_finite_metrics, run

__all__ = ["JobState", "Job", "JobManager", "JobLimitError", "get_manager", "default_max_running"]

log = logging.getLogger(__name__)


class JobState(str, enum.Enum):
    """Lifecycle of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """True while the job is queued or running."""
        return self in (JobState.QUEUED, JobState.RUNNING)


class JobLimitError(RuntimeError):
    """A session asked for a second job while its first is still queued or running."""


_ids = itertools.count(1)


@dataclass(eq=False)
class Job:
    """One training run in the background. Read its fields from any thread; only the worker writes them."""

    name: str
    config: Any
    session_id: str
    build: Callable[[Any], Experiment]
    id: int = field(default_factory=lambda: next(_ids))
    records: list[Record] = field(default_factory=list)
    state: JobState = JobState.QUEUED
    phase: str = "waiting for a free worker"
    message: str = ""
    total_steps: int | None = None
    experiment: Any = None  # the built experiment, once the worker has built it (read-only for others)
    alive: Callable[[], bool] | None = None  # is the browser session still connected? (see JobManager.submit)
    run_id: int | None = None  # the run's id in the run registry, once stored
    writer: Any = None  # its RecordWriter (neurodyn.core.store), or None when the run is not stored
    created_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    last_heartbeat: float = field(default_factory=time.monotonic)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    # -- control ---------------------------------------------------------------------------------------------
    def cancel(self, reason: str = "stopped by user") -> None:
        """Ask the worker to stop after the current step; records taken so far are kept.

        Parameters
        ----------
        reason : str
            Shown as the job's message once it has stopped.
        """
        if not self._cancel.is_set():
            self.message = reason
            self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def heartbeat(self) -> None:
        """Record that the job's browser session is still there."""
        self.last_heartbeat = time.monotonic()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (done, stopped or failed).

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most.

        Returns
        -------
        bool
            True if the job finished within the timeout.
        """
        return self._finished.wait(timeout)

    # -- progress --------------------------------------------------------------------------------------------
    @property
    def n_records(self) -> int:
        """Number of records taken so far."""
        return len(self.records)

    @property
    def elapsed(self) -> float:
        """Seconds since the worker started (0 while queued)."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return end - self.started_at

    @property
    def progress(self) -> float:
        """Fraction of ``total_steps`` done, in [0, 1]."""
        if self.state is JobState.DONE:
            return 1.0
        if not self.total_steps:
            return 0.0
        return min(1.0, self.n_records / self.total_steps)

    @property
    def eta_seconds(self) -> float | None:
        """Estimated seconds left, from the mean step time so far; None until two steps were taken."""
        n = self.n_records
        if self.state is not JobState.RUNNING or not self.total_steps or n < 2:
            return None
        return self.elapsed / n * max(0, self.total_steps - n)


def _done_message(job: Job) -> str:
    """How a finished run reads: its records and, where a record spans several updates, the last update's index."""
    n = len(job.records)
    last = job.records[-1].step if job.records else -1
    span = f" (the last at step {last} of the model's own count)" if last != n - 1 else ""
    return f"finished {n} records{span} in {job.elapsed:.1f} s"


def default_max_running() -> int:
    """One running job per two cores, at least two, unless ``NEURODYN_MAX_JOBS`` says otherwise.

    Two at least, so that on a small shared instance a second user trains at once instead of waiting for the first
    user's run to end (each job trains on one thread; ``benchmarks/dashboard.py --two-sessions`` times it)."""
    env = os.environ.get("NEURODYN_MAX_JOBS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            log.warning("NEURODYN_MAX_JOBS=%r is not an integer; using the default", env)
    return max(2, (os.cpu_count() or 2) // 2)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, os.environ.get(name), default)
        return default


class JobManager:
    """Runs jobs in worker threads under a process-wide cap with a FIFO queue.

    Parameters
    ----------
    max_running : int, optional
        Jobs allowed to run at once; default :func:`default_max_running`.
    heartbeat_timeout : float, optional
        Seconds without a heartbeat after which a job is cancelled; default from
        ``NEURODYN_HEARTBEAT_TIMEOUT`` or 15. ``0`` disables the watchdog.
    torch_threads : int, optional
        ``torch.set_num_threads`` in each worker; default from ``NEURODYN_TORCH_THREADS`` or 1.
    max_seconds : float, optional
        Wall-clock budget of one job; default from ``NEURODYN_MAX_JOB_SECONDS`` or 900.
    mode : {"process", "thread"}, optional
        Where jobs run; default from ``NEURODYN_WORKERS`` or ``"process"``.
    store : bool or RunStore, default False
        Store every job in the run registry: True opens the default one (``NEURODYN_DB_URL``, else SQLite under
        ``NEURODYN_HOME``), or pass an open :class:`neurodyn.core.store.RunStore`.
    """

    STOP_GRACE = 0.8  # seconds a worker process may take to finish its step after a cancel before it is killed

    def __init__(
        self,
        max_running: int | None = None,
        *,
        heartbeat_timeout: float | None = None,
        torch_threads: int | None = None,
        max_seconds: float | None = None,
        mode: str | None = None,
        store: Any = False,
    ) -> None:
        self.mode = mode or os.environ.get("NEURODYN_WORKERS", "process")
        if self.mode not in ("process", "thread"):
            raise ValueError(f"mode must be 'process' or 'thread', got {self.mode!r}")
        self.max_running = int(max_running) if max_running is not None else default_max_running()
        if self.max_running < 1:
            raise ValueError(f"max_running must be >= 1, got {max_running}")
        self.heartbeat_timeout = (
            float(heartbeat_timeout) if heartbeat_timeout is not None
            else _env_float("NEURODYN_HEARTBEAT_TIMEOUT", 15.0)
        )
        self.torch_threads = int(torch_threads) if torch_threads is not None else int(
            _env_float("NEURODYN_TORCH_THREADS", 1)
        )
        self.max_seconds = (
            float(max_seconds) if max_seconds is not None else _env_float("NEURODYN_MAX_JOB_SECONDS", 900.0)
        )
        self._lock = threading.Condition()
        self._queue: list[Job] = []
        self._running: set[Job] = set()
        self._jobs: dict[str, Job] = {}  # session id -> latest job
        self._closed = False
        self._pool = None
        self.store, self.store_error = self._open_store(store)
        if self.mode == "process":
            from neurodyn.core.workers import WorkerPool

            self._pool = WorkerPool(self.max_running, torch_threads=self.torch_threads)
        # Before multiprocessing's own exit hook terminates the workers (registered earlier, so it runs later): cancel
        # the jobs and ask each worker to exit, so that none is killed holding a semaphore (Ctrl-C, `docker stop`).
        atexit.register(self.shutdown, 2.0)
        if self.heartbeat_timeout > 0:
            threading.Thread(target=self._watchdog, name="neurodyn-watchdog", daemon=True).start()

    @staticmethod
    def _open_store(store: Any) -> tuple[Any, str | None]:
        if store is False or store is None:
            return None, None
        if store is not True:
            return store, None
        from neurodyn.core.store import RunStore, StoreError

        try:
            opened = RunStore()
        except StoreError as exc:
            log.warning("runs will not be saved: %s", exc)
            return None, str(exc)
        interrupted = opened.mark_interrupted()  # runs a previous server left running
        if interrupted:
            log.info("%d stored run(s) left running by an earlier server marked failed", interrupted)
        return opened, None

    # -- public API ------------------------------------------------------------------------------------------
    def submit(
        self, name: str, config: Any, session_id: str, build: Callable[[Any], Experiment] | None = None,
        alive: Callable[[], bool] | None = None,
    ) -> Job:
        """Queue a job for ``session_id`` and start its worker.

        Parameters
        ----------
        name : str
            Experiment name (for display and records).
        config : dataclass config
            Passed to ``build``.
        session_id : str
            Identifies the browser session; one active job per session.
        build : callable, optional
            ``build(config) -> Experiment``, called in the worker; default the registry's build for ``name`` (looked
            up here, at submit). In process mode it must be picklable (a module-level function or class, or a
            ``functools.partial``).
        alive : callable, optional
            ``alive() -> bool``: whether the session's connection is still open. A job whose heartbeats stop but
            whose session is still connected (a hidden tab whose timers the browser throttles) keeps running; one
            whose session is gone (tab closed) is cancelled.

        Returns
        -------
        Job

        Raises
        ------
        JobLimitError
            If the session already has a queued or running job.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager is shut down")
            prev = self._jobs.get(session_id)
            if prev is not None and prev.state.active:
                raise JobLimitError(
                    f"this session already has a {prev.state.value} run ({prev.name}); stop it before starting another"
                )
            job = Job(name=name, config=config, session_id=session_id, build=build or registry.get(name).build,
                      alive=alive)
            self._jobs[session_id] = job
            self._queue.append(job)
        threading.Thread(target=self._work, args=(job,), name=f"neurodyn-job-{job.id}", daemon=True).start()
        return job

    def job_for(self, session_id: str) -> Job | None:
        """The latest job of a session (active or finished), or None."""
        with self._lock:
            return self._jobs.get(session_id)

    def forget(self, session_id: str) -> None:
        """Drop a session's finished job from the table (an active job is cancelled first)."""
        with self._lock:
            job = self._jobs.pop(session_id, None)
        if job is not None and job.state.active:
            job.cancel("session ended")

    def queue_position(self, job: Job) -> int:
        """1-based position of a queued job in the FIFO queue; 0 if it is not queued."""
        with self._lock:
            try:
                return self._queue.index(job) + 1
            except ValueError:
                return 0

    def wait_workers_ready(self, timeout: float = 120.0) -> bool:
        """Block until every worker process has started (True at once in thread mode)."""
        if self._pool is None:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pool.n_ready + self.n_running >= self.max_running:
                return True
            time.sleep(0.1)
        return False

    @property
    def n_running(self) -> int:
        """Number of jobs running now."""
        with self._lock:
            return len(self._running)

    @property
    def n_queued(self) -> int:
        """Number of jobs waiting for a worker."""
        with self._lock:
            return len(self._queue)

    def active_jobs(self) -> list[Job]:
        """All queued and running jobs."""
        with self._lock:
            return list(self._running) + list(self._queue)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every job and wait up to ``timeout`` seconds for the workers to finish."""
        with self._lock:
            self._closed = True
            jobs = list(self._running) + list(self._queue)
            self._lock.notify_all()
        for job in jobs:
            job.cancel("server shutting down")
        deadline = time.monotonic() + timeout
        for job in jobs:
            job.wait(max(0.0, deadline - time.monotonic()))
        if self._pool is not None:
            self._pool.close()

    # -- worker ----------------------------------------------------------------------------------------------
    def _acquire(self, job: Job) -> bool:
        """Wait until ``job`` is first in the queue and a slot is free; False if it was cancelled meanwhile."""
        with self._lock:
            while not (job.cancelled or self._closed):
                if self._queue and self._queue[0] is job and len(self._running) < self.max_running:
                    self._queue.pop(0)
                    self._running.add(job)
                    return True
                self._lock.wait(0.1)
            if job in self._queue:
                self._queue.remove(job)
            self._lock.notify_all()
            return False

    def _release(self, job: Job) -> None:
        with self._lock:
            self._running.discard(job)
            self._lock.notify_all()

    def _finish(self, job: Job, state: JobState, message: str | None = None) -> None:
        if message is not None:
            job.message = message
        job.state = state
        job.phase = state.value
        job.finished_at = time.monotonic()
        if job.writer is not None:
            self._close_stored(job, state)
        if job.records and data_dir() is not None:
            try:
                save_run(run_record(job.name, job.config, job.records, status=state.value, message=job.message,
                                    seconds=job.elapsed))
            except OSError as exc:  # a full or read-only disk must not break the run
                log.warning("could not save run %s: %s", job.id, exc)
        job._finished.set()

    def _start_stored(self, job: Job) -> None:
        """Register the job as a run in the store and give it a record writer (nothing when there is no store)."""
        if self.store is None:
            return
        from neurodyn.core.store import start_experiment_run

        try:
            job.writer = start_experiment_run(self.store, job.name, job.config, source="page")
            job.run_id = job.writer.run_id
        except Exception as exc:  # the registry must never stop a run
            log.warning("run of %s not stored: %s", job.name, exc)
            job.writer = None

    def _close_stored(self, job: Job, state: JobState) -> None:
        """Hand the run's end to its writer's thread: the page sees the run end without waiting for the database."""
        writer, records = job.writer, list(job.records)
        status = "diverged" if job.message.startswith("the run diverged") else state.value

        def close() -> None:
            try:
                summary = run_summary(job.name, job.config, records, status=state.value, message=job.message,
                                      seconds=job.elapsed)
            except Exception as exc:  # a claim rule that fails on odd records must not lose the run
                log.warning("run %s: no summary stored: %s", job.run_id, exc)
                summary = None
            writer.close(status, message=job.message, summary=summary, seconds=job.elapsed)

        threading.Thread(target=close, name=f"neurodyn-store-{job.id}", daemon=True).start()

    def _work(self, job: Job) -> None:
        if not self._acquire(job):
            self._finish(job, JobState.STOPPED, job.message or "cancelled before it started")
            return
        self._start_stored(job)
        if self._pool is not None:
            self._work_in_process(job)
        else:
            self._work_in_thread(job)

    def _check_record(self, job: Job, rec: Record) -> bool:
        """Append ``rec`` or, if a metric is not finite, end the job as failed; True if the job goes on."""
        bad = non_finite_metrics(rec)
        if bad:
            job.message = (f"the run diverged at step {rec.step}: {', '.join(bad)} became NaN or infinite. "
                           "Lower the learning rate or the initial scale and start again.")
            return False
        job.records.append(rec)
        if job.writer is not None:
            job.writer.put(rec)  # converted to JSON and written by the writer's thread
        return True

    def _work_in_process(self, job: Job) -> None:
        job.started_at = time.monotonic()
        job.state = JobState.RUNNING
        job.phase = "waiting for a worker process to finish starting"
        worker = self._pool.checkout(lambda: job.cancelled)
        if worker is None:
            self._release(job)
            self._finish(job, JobState.STOPPED if job.cancelled else JobState.FAILED,
                         job.message if job.cancelled else "no worker process could be started")
            return
        job.phase = "building the model"
        failed: str | None = None
        cancel_at: float | None = None
        try:
            worker.conn.send(("run", job.id, job.name, job.config, job.build))
            while True:
                now = time.monotonic()
                if job.elapsed > self.max_seconds and not job.cancelled:
                    job.cancel(f"stopped at the time budget of {self.max_seconds:.0f} s")
                if (job.cancelled or failed) and cancel_at is None:
                    worker.conn.send(("cancel",))
                    cancel_at = now
                if cancel_at is not None and now - cancel_at > self.STOP_GRACE:
                    self._pool.discard(worker)  # a step that outlasts the grace: end it the hard way
                    worker = None
                    self._finish(job, JobState.FAILED if failed else JobState.STOPPED, failed)
                    return
                if not worker.alive:
                    code = worker.process.exitcode
                    self._pool.discard(worker)
                    worker = None
                    self._finish(job, JobState.FAILED, failed or f"the worker process died (exit code {code}); "
                                 "the run may have run out of memory")
                    return
                if not worker.conn.poll(0.05):
                    continue
                msg = worker.conn.recv()
                kind = msg[0]
                if kind == "record":
                    if cancel_at is None and not self._check_record(job, msg[2]):
                        failed = job.message
                elif kind == "built":
                    job.total_steps = msg[2] or None
                    job.phase = "training"
                elif kind in ("done", "stopped", "failed"):
                    self._pool.checkin(worker)
                    worker = None
                    if kind == "done" and not failed:
                        self._finish(job, JobState.DONE, _done_message(job))
                    elif kind == "failed":
                        self._finish(job, JobState.FAILED, f"the run failed: {msg[2]}")
                    else:
                        self._finish(job, JobState.FAILED if failed else JobState.STOPPED, failed)
                    return
        except (EOFError, OSError, ValueError) as exc:
            log.error("job %s lost its worker: %s", job.id, exc)
            if worker is not None:
                self._pool.discard(worker)
                worker = None
            self._finish(job, JobState.FAILED, f"the worker process was lost: {type(exc).__name__}: {exc}")
        finally:
            if worker is not None:  # an unexpected error above: do not reuse a worker in an unknown state
                self._pool.discard(worker)
            self._release(job)

    def _work_in_thread(self, job: Job) -> None:
        try:
            import torch

            torch.set_num_threads(max(1, self.torch_threads))
            job.started_at = time.monotonic()
            job.state = JobState.RUNNING
            job.phase = "building the model"
            exp = job.experiment = job.build(job.config)
            job.total_steps = int(getattr(exp, "total_steps", 0)) or None
            job.phase = "training"
            out_of_time = lambda: job.elapsed > self.max_seconds  # noqa: E731 - read twice below
            for rec in run(exp, cancel=lambda: job.cancelled or out_of_time()):
                if not self._check_record(job, rec):
                    self._finish(job, JobState.FAILED)
                    return
            if job.cancelled:
                self._finish(job, JobState.STOPPED)
            elif not exp.done and out_of_time():
                self._finish(job, JobState.STOPPED, f"stopped at the time budget of {self.max_seconds:.0f} s")
            else:
                self._finish(job, JobState.DONE, _done_message(job))
        except Exception as exc:  # a broken run must never take the page down
            log.error("job %s (%s) failed:\n%s", job.id, job.name, traceback.format_exc())
            self._finish(job, JobState.FAILED, f"the run failed: {type(exc).__name__}: {exc}")
        finally:
            self._release(job)

    def _watchdog(self) -> None:
        period = max(0.05, min(1.0, self.heartbeat_timeout / 4))
        while not self._closed:
            time.sleep(period)
            now = time.monotonic()
            for job in self.active_jobs():
                if now - job.last_heartbeat > self.heartbeat_timeout:
                    try:
                        connected = job.alive is not None and bool(job.alive())
                    except Exception:  # a broken probe counts as gone
                        connected = False
                    if connected:
                        job.heartbeat()  # hidden tab, throttled timers, still connected
                    else:
                        job.cancel("cancelled: the browser session sent no heartbeat for "
                                   f"{self.heartbeat_timeout:.0f} s")


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def get_manager() -> JobManager:
    """The process-wide job manager, created on first use from the environment settings."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager(store=os.environ.get("NEURODYN_STORE", "1").strip() != "0")
        return _MANAGER
