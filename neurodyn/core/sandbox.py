"""Run a function on untrusted input in a child process that has a memory limit and a time limit.

A parser fed a hostile file can ask for gigabytes or spin for minutes. In the dashboard's own process that stalls
every session (the interpreter lock) or gets the server killed by the kernel's out-of-memory killer, and every user
loses their session. Here the function runs in a fresh interpreter instead:

- **Spawned, not forked.** The child is ``python -m neurodyn.core.sandbox`` (what multiprocessing's ``spawn`` start
  method does, without re-running the server's ``__main__``): nothing of the threaded server is copied into it.
- **Memory limit.** The child caps its own address space with ``resource.setrlimit(RLIMIT_AS)`` before it reads
  the task, so an allocation beyond the limit fails (``MemoryError``) instead of growing the server.
- **Time limit.** The parent kills the child at the wall-clock limit; RLIMIT_CPU is a second line should the
  parent die first. Cancel kills it at once.
- **Off the server's thread.** The parent only waits on a pipe from a daemon thread (blocking reads release the
  interpreter lock), so other sessions keep redrawing while a child works.
- **One task per child.** Each child runs one task and exits, so memory goes back to the system. A spare child with
  the ``preload`` modules already imported is kept ready (:meth:`Sandbox.prewarm`), so a task starts at once.
- **Progress.** The function may call :func:`report` (a no-op outside a sandbox); the parent shows the latest value.

Protocol: length-prefixed pickles, parent -> child on stdin, child -> parent on a private copy of stdout (the
child's stdout itself goes to stderr, so a stray ``print`` cannot corrupt the stream)::

    child  ("ready", pid)
    parent (fn, args, kwargs)                      fn: picklable (a module-level function or functools.partial)
    child  ("progress", fraction, text) ...
    child  ("done", value, stats) | ("error", exception, stats)

``stats`` holds ``seconds`` and ``cpu_seconds`` of the call, ``rss_before`` (resident bytes just before the call)
and ``peak_growth``: peak resident bytes during the call minus ``rss_before``. The peak is the kernel's VmHWM,
reset just before the call (``/proc/self/clear_refs``; ``peak_exact`` is True), else ``ru_maxrss`` since the
child started, an upper bound.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Limits", "Sandbox", "SandboxError", "Task", "report", "in_sandbox", "hashed_call"]

log = logging.getLogger(__name__)
_HEADER = struct.Struct("<Q")
_CHUNK = 1 << 20
_STARTUP_SECONDS = 120.0  # a child that has not imported its modules by then is broken (or the machine is)
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class SandboxError(RuntimeError):
    """The child did not return: it hit a limit, was cancelled or died. The message names the limit."""

    def __init__(self, message: str, state: str = "crashed") -> None:
        super().__init__(message)
        self.state = state


@dataclass(frozen=True)
class Limits:
    """What one child may use.

    Attributes
    ----------
    memory_bytes : int
        Address-space limit of the child (RLIMIT_AS): its whole virtual memory, imports included.
    seconds : float
        Wall-clock limit of one call, from the moment the task is handed to a ready child.
    """

    memory_bytes: int = 3 * 2**30
    seconds: float = 120.0

    def describe(self) -> str:
        """Human-readable limits, e.g. ``"3 GiB of memory and 120 s"``."""
        return f"{self.memory_bytes / 2**30:g} GiB of memory and {self.seconds:g} s"


# ----------------------------------------------------------------------------------------------- child side
_channel: dict[str, Any] = {}


def in_sandbox() -> bool:
    """True inside a sandbox child."""
    return "out" in _channel


def report(fraction: float, text: str = "") -> None:
    """Report progress (``fraction`` in [0, 1] and a short text) to the parent; a no-op outside a sandbox.

    Calls are throttled to ten a second, so a parser may call this as often as it likes.
    """
    out = _channel.get("out")
    if out is None:
        return
    now = time.monotonic()
    if fraction < 1.0 and now - _channel.get("last", 0.0) < 0.1:
        return
    _channel["last"] = now
    _send(out, ("progress", float(min(max(fraction, 0.0), 1.0)), str(text)[:200]))


def hashed_call(fn: Callable[..., Any], data: bytes, *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """``(fn(data, *args, **kwargs), sha256 hex digest of data)``: hash an upload where it is parsed."""
    import hashlib

    return fn(data, *args, **kwargs), hashlib.sha256(data).hexdigest()


def _send(out: Any, msg: Any) -> None:
    payload = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(payload)))
    out.write(payload)
    out.flush()


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_bytes(reset: bool) -> int:
    """Peak resident bytes since :func:`_reset_peak` (VmHWM), else since the process started (ru_maxrss)."""
    import resource

    if reset:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _stub_package(name: str) -> None:
    """Make ``name``'s submodules importable without running the package's ``__init__`` (heavy imports)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        return
    sys.modules[name] = importlib.util.module_from_spec(spec)


def _child_main(argv: list[str]) -> int:  # pragma: no cover - runs in the child process
    import resource

    memory, cpu = int(argv[0]), int(argv[1])
    stubs = [s for s in argv[2].split(",") if s]
    preload = [s for s in argv[3].split(",") if s]
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr, never into the protocol
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    for name in stubs:
        _stub_package(name)
    for name in preload:
        importlib.import_module(name)
    _send(out, ("ready", os.getpid()))
    inp = sys.stdin.buffer
    head = inp.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return 0  # the parent went away (or closed a spare): nothing to do
    (size,) = _HEADER.unpack(head)
    stats: dict[str, Any] = {}
    try:
        fn, args, kwargs = pickle.loads(inp.read(size))
        _channel["out"] = out
        reset = _reset_peak()
        stats["rss_before"] = _rss_bytes()
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            value = fn(*args, **kwargs)
        finally:
            stats["seconds"] = time.perf_counter() - t0
            stats["cpu_seconds"] = time.process_time() - c0
            stats["peak_growth"] = max(0, _peak_bytes(reset) - stats["rss_before"])
            stats["peak_exact"] = reset
        _send(out, ("done", value, stats))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as data
        stats["traceback"] = traceback.format_exc(limit=8)
        try:
            pickle.dumps(exc)
            err: BaseException = exc
        except Exception:  # an exception that does not pickle travels as its text
            err = RuntimeError(f"{type(exc).__name__}: {exc}")
        _send(out, ("error", err, stats))
    return 0


# ----------------------------------------------------------------------------------------------- parent side
class _Child:
    """One started child process and its pipes."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=env,
                                     bufsize=0, close_fds=True)
        self.ready = False

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def read_frame(self, deadline: float, stop: threading.Event | None = None) -> Any:
        """The next message, or None at EOF; raises TimeoutError at ``deadline`` or when ``stop`` is set."""
        head = self._read_exact(_HEADER.size, deadline, stop)
        if head is None:
            return None
        body = self._read_exact(_HEADER.unpack(head)[0], deadline, stop)
        return None if body is None else pickle.loads(body)

    def _read_exact(self, n: int, deadline: float, stop: threading.Event | None) -> bytearray | None:
        buf = bytearray(n)
        view, pos, fd = memoryview(buf), 0, self.proc.stdout.fileno()
        while pos < n:
            if stop is not None and stop.is_set():
                raise TimeoutError("cancelled")
            wait = min(0.2, deadline - time.monotonic())
            if wait <= 0:
                raise TimeoutError("deadline")
            if not select.select([fd], [], [], wait)[0]:
                continue
            got = self.proc.stdout.readinto(view[pos : pos + _CHUNK])
            if not got:
                return None
            pos += got
        return buf

    def wait_ready(self, deadline: float, stop: threading.Event | None = None) -> None:
        if self.ready:
            return
        msg = self.read_frame(deadline, stop)
        if not (isinstance(msg, tuple) and msg and msg[0] == "ready"):
            raise SandboxError(f"the checker process did not start (exit code {self.proc.poll()})")
        self.ready = True

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process that ignores SIGKILL
            log.warning("sandbox child %s did not exit after SIGKILL", self.proc.pid)
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


@dataclass
class Task:
    """One call running in a sandbox child. Poll :attr:`state` and :attr:`progress`; :meth:`cancel` kills it.

    States: ``queued`` (waiting for a free slot), ``starting`` (waiting for a ready child), ``running``, then one of
    ``done``, ``failed`` (the function raised; :attr:`error` is its exception), ``cancelled``, ``timeout``,
    ``memory`` (the memory limit was hit) or ``crashed`` (the child died).
    """

    sandbox: "Sandbox"
    payload: bytes = field(repr=False)
    state: str = "queued"
    fraction: float = 0.0
    text: str = "waiting for a free checker"
    value: Any = field(default=None, repr=False)
    error: BaseException | None = None
    message: str = ""
    stats: dict = field(default_factory=dict)
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        """True once the task has ended, whichever way."""
        return self._done.is_set()

    @property
    def progress(self) -> tuple[float, str]:
        """The latest (fraction, text) reported by the function (or by the sandbox while it waits)."""
        return self.fraction, self.text

    @property
    def elapsed(self) -> float:
        """Seconds since the call started in the child (0 while queued)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    def cancel(self) -> None:
        """Kill the child (or leave the queue) now; the state becomes ``cancelled``."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the task ends (or ``timeout`` seconds pass); True when it ended."""
        return self._done.wait(timeout)

    def result(self) -> Any:
        """The function's return value; re-raises its exception, or raises :class:`SandboxError` for a limit."""
        if not self.done:
            raise RuntimeError("the task has not finished")
        if self.state == "done":
            return self.value
        if self.state == "failed" and self.error is not None:
            raise self.error
        raise SandboxError(self.message, self.state)

    def _finish(self, state: str, message: str = "") -> None:
        self.state, self.message = state, message
        self.finished = time.monotonic()
        self.payload = b""
        self._done.set()


class Sandbox:
    """A kind of child process (limits, modules to preload) and the tasks that run in such children.

    Parameters
    ----------
    limits : Limits
        Memory and wall-clock limits of each call.
    preload : tuple of str
        Modules the spare child imports while it waits, so the task does not pay for them.
    stub_packages : tuple of str
        Packages whose ``__init__`` the child skips (their submodules still import), for packages whose
        ``__init__`` imports heavy things the task does not need. Functions run here must then not rely on names
        that only the package ``__init__`` defines.
    max_running : int, optional
        Children running tasks at once in this process (default: one per two cores, at least one); more tasks wait.
    keep_spare : bool
        Keep one started child ready for the next task.
    """

    def __init__(self, limits: Limits = Limits(), *, preload: tuple[str, ...] = (),
                 stub_packages: tuple[str, ...] = (), max_running: int | None = None, keep_spare: bool = True) -> None:
        self.limits = limits
        self.preload = tuple(preload)
        self.stub_packages = tuple(stub_packages)
        self.max_running = max_running or max(1, (os.cpu_count() or 2) // 2)
        self.keep_spare = keep_spare
        self._slots = threading.BoundedSemaphore(self.max_running)
        self._lock = threading.Lock()
        self._spare: _Child | None = None
        self._warming = False
        _SANDBOXES.add(self)

    # -------------------------------------------------------------------------------------------- children
    def _command(self) -> tuple[list[str], dict[str, str]]:
        cpu = int(self.limits.seconds) + 60
        cmd = [sys.executable, "-m", "neurodyn.core.sandbox", str(int(self.limits.memory_bytes)), str(cpu),
               ",".join(self.stub_packages), ",".join(self.preload)]
        env = dict(os.environ)
        for var in _THREAD_VARS:
            env[var] = "1"  # one core per child: the server and the training workers keep theirs
        # the parent's import path, as multiprocessing's spawn passes it, so functions pickled by reference import
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        paths = [root] + [p for p in sys.path if p and os.path.isdir(p)]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        return cmd, env

    def _spawn(self) -> _Child:
        cmd, env = self._command()
        return _Child(cmd, env)

    def prewarm(self) -> None:
        """Start a spare child in the background unless one is ready or starting; cheap to call on every redraw."""
        if not self.keep_spare:
            return
        with self._lock:
            if self._warming or (self._spare is not None and self._spare.alive):
                return
            self._warming = True

        def warm() -> None:
            try:
                child = self._spawn()
            except OSError as exc:  # pragma: no cover - no python to start
                log.warning("could not start a sandbox child: %s", exc)
                child = None
            with self._lock:
                self._warming = False
                if child is not None:
                    if self._spare is not None:
                        self._spare.kill()
                    self._spare = child

        threading.Thread(target=warm, name="neurodyn-sandbox-warm", daemon=True).start()

    def _take_child(self) -> _Child:
        with self._lock:
            child, self._spare = self._spare, None
        if child is None or not child.alive:
            if child is not None:
                child.kill()
            child = self._spawn()
        self.prewarm()
        return child

    def close(self) -> None:
        """Kill the spare child (running tasks end on their own)."""
        with self._lock:
            child, self._spare = self._spare, None
        if child is not None:
            child.kill()

    # -------------------------------------------------------------------------------------------- tasks
    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
        """Start ``fn(*args, **kwargs)`` in a child and return its :class:`Task` at once.

        ``fn``, its arguments and its return value must pickle (a module-level function or a
        ``functools.partial`` of one; lambdas do not). Raises ``TypeError`` here when they do not.
        """
        try:
            payload = pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(f"sandboxed functions and their arguments must pickle: {exc}") from None
        task = Task(self, payload)
        threading.Thread(target=self._run, args=(task,), name="neurodyn-sandbox-task", daemon=True).start()
        return task

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(*args, **kwargs)`` in a child and wait: its value, its exception, or :class:`SandboxError`."""
        task = self.submit(fn, *args, **kwargs)
        task.wait()
        return task.result()

    def _run(self, task: Task) -> None:
        while not self._slots.acquire(timeout=0.2):
            if task._cancel.is_set():
                task._finish("cancelled", "cancelled while waiting for a free checker")
                return
        child = None
        try:
            task.state, task.text = "starting", "starting the checker"
            child = self._take_child()
            child.wait_ready(time.monotonic() + _STARTUP_SECONDS, task._cancel)
            task.state, task.text = "running", "checking"
            task.started = time.monotonic()
            writer = threading.Thread(target=self._write, args=(child, task.payload), daemon=True,
                                      name="neurodyn-sandbox-write")
            writer.start()
            deadline = task.started + self.limits.seconds
            while True:
                msg = child.read_frame(deadline, task._cancel)
                if msg is None:
                    code = child.proc.wait(timeout=5)
                    raise SandboxError(self._death(code), "memory" if code in (-9, -6) else "crashed")
                if msg[0] == "progress":
                    task.fraction, task.text = msg[1], msg[2]
                    continue
                task.stats = dict(msg[2])
                if msg[0] == "done":
                    task.value = msg[1]
                    task.fraction = 1.0
                    task._finish("done")
                elif isinstance(msg[1], MemoryError):
                    task._finish("memory", f"needed more than the memory limit of "
                                           f"{self.limits.memory_bytes / 2**30:g} GiB")
                else:
                    task.error = msg[1]
                    task._finish("failed", f"{type(msg[1]).__name__}: {msg[1]}")
                return
        except TimeoutError:
            if task._cancel.is_set():
                task._finish("cancelled", "cancelled")
            else:
                task._finish("timeout", f"took longer than the time limit of {self.limits.seconds:g} s")
        except SandboxError as exc:
            task._finish(exc.state, str(exc))
        except Exception as exc:  # noqa: BLE001 - a broken pipe or a bad frame ends the task, not the server
            log.warning("sandbox task failed: %s", traceback.format_exc())
            task._finish("crashed", f"the checker process failed ({type(exc).__name__}: {exc})")
        finally:
            if child is not None:
                child.kill()
            self._slots.release()
            if not task.done:  # pragma: no cover - every path above finishes the task
                task._finish("crashed", "the checker process ended without an answer")

    @staticmethod
    def _write(child: _Child, payload: bytes) -> None:
        try:
            data = memoryview(_HEADER.pack(len(payload)) + payload)
            while len(data):
                data = data[child.proc.stdin.write(data[:_CHUNK]) :]
        except (BrokenPipeError, OSError, ValueError):
            pass  # the child died or was killed; the reader reports why

    def _death(self, code: int | None) -> str:
        if code in (-9, -6):  # SIGKILL (RLIMIT_CPU hard limit, the OOM killer) or SIGABRT (a failed allocation)
            return (f"the checker process was stopped (signal {-code}) after reaching its limits "
                    f"({self.limits.describe()})")
        return f"the checker process ended without an answer (exit code {code})"


_SANDBOXES: "weakref.WeakSet[Sandbox]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:  # pragma: no cover - interpreter shutdown
    for sb in list(_SANDBOXES):
        sb.close()


if __name__ == "__main__":  # pragma: no cover - the child's entry point
    # run the imported module's copy, so that report() called by the task sees the same channel
    from neurodyn.core import sandbox as _module

    sys.exit(_module._child_main(sys.argv[1:]))
