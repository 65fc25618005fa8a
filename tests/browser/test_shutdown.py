"""Stopping the server as Ctrl-C and `docker stop` do: the worker processes end cleanly, nothing leaks or tracebacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"


@pytest.mark.parametrize("how", ["SIGINT to the process group (Ctrl-C)", "SIGTERM to the server (docker stop)"])
def test_stopping_the_server_ends_its_workers_cleanly(browser, how):
    port = 8700 + (os.getpid() % 80) + (1 if "SIGTERM" in how else 0)
    env = {**os.environ, "NEURODYN_MAX_JOBS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.2)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")  # the first visit starts the warm-up and the worker processes
        deadline = time.monotonic() + 120
        while not _children(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        workers = _children(proc.pid)
        assert workers, "no worker process started"
        page.close()
        if "SIGINT" in how:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out[-3000:]
    assert "leaked semaphore" not in out and "Traceback" not in out, out[-3000:]
    deadline = time.monotonic() + 10  # a worker finishing its exit, multiprocessing's resource tracker closing
    while time.monotonic() < deadline and [w for w in workers if _running(w)]:
        time.sleep(0.2)
    left = {w: _cmdline(w) for w in workers if _running(w)}
    assert not left, f"outlived the server by 10 s: {left}"
