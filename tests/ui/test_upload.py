"""ui.upload and its sandbox: parsing runs in a child process with limits, the page polls, shows progress and Cancel.

The sandbox is driven with library functions only (``numpy.ones``, ``time.sleep``, the UDEMD parsers), since a child
process imports the functions it runs by reference.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from neurodyn.core.sandbox import Limits, Sandbox, SandboxError
from neurodyn.udemd import io as uio
from neurodyn.udemd.io import UploadError

EDGES = b"src,dst,weight\na,b,1\nb,c,2\nc,d,1\nd,a,0.5\n"
BAD = b"src,dst,weight\na,b,1\n,c,1\nc,d,abc\nd,e,-2\n"


def _big_edges(rows: int = 1_500_000) -> bytes:
    """A long, valid edge list (a 15,000-node cycle, walked a hundred times): several seconds of parsing."""
    return b"src,dst\n" + b"".join(b"n%d,n%d\n" % (i % 15_000, (i + 1) % 15_000) for i in range(rows))


@pytest.fixture(scope="module")
def small_box():
    sb = Sandbox(Limits(memory_bytes=1 * 2**30, seconds=3.0), preload=("numpy", "neurodyn.udemd.io"),
                 stub_packages=("neurodyn.udemd",), keep_spare=False)
    yield sb
    sb.close()


# ---------------------------------------------------------------------------------------------- the sandbox
def test_sandbox_returns_values_and_reraises_the_childs_exceptions(small_box):
    assert small_box.run(np.add, 2, 3) == 5
    with pytest.raises(UploadError) as err:
        small_box.run(uio.parse_edge_list, BAD)
    assert [p.split(":")[0] for p in err.value.problems] == ["line 3, column 'src'", "line 4, column 'weight'",
                                                             "line 5, column 'weight'"]


def test_sandbox_memory_limit_turns_an_allocation_into_a_refusal(small_box):
    task = small_box.submit(np.ones, (2**31,))  # 16 GiB of float64 under a 1 GiB address-space limit
    assert task.wait(60)
    assert task.state == "memory" and "memory limit of 1 GiB" in task.message
    with pytest.raises(SandboxError, match="memory limit"):
        task.result()


def test_sandbox_time_limit_kills_the_child(small_box):
    t0 = time.monotonic()
    task = small_box.submit(time.sleep, 30)
    assert task.wait(60)
    assert task.state == "timeout" and task.message == "took longer than the time limit of 3 s"
    assert time.monotonic() - t0 < 20  # startup plus the 3 s limit, not the 30 s sleep


def test_sandbox_cancel_kills_at_once_and_functions_must_pickle(small_box):
    task = small_box.submit(time.sleep, 30)
    time.sleep(0.5)
    t0 = time.monotonic()
    task.cancel()
    assert task.wait(5) and task.state == "cancelled" and time.monotonic() - t0 < 2
    with pytest.raises(TypeError, match="must pickle"):
        small_box.submit(lambda: 1)


def test_the_parent_stays_responsive_and_sees_progress_while_a_child_parses():
    """The dashboard's thread keeps its turn: the longest gap between 20 ms ticks stays small during a long parse."""
    data = _big_edges()
    task = uio.SANDBOX.submit(uio.parse_edge_list, data)
    while task.state != "running" and not task.done:
        time.sleep(0.05)
    gaps, last, fractions = [], time.perf_counter(), []
    end = last + 2.0
    while time.perf_counter() < end and not task.done:
        time.sleep(0.02)
        np.linalg.norm(np.ones(1000))  # a little work of our own, as a page redraw does
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        fractions.append(task.progress[0])
    task.cancel()
    task.wait(10)
    assert len(gaps) > 20 and max(gaps) < 0.5, max(gaps)  # the parse itself takes 8.5 s in a thread
    assert max(fractions) > 0, "no progress was reported"


# ---------------------------------------------------------------------------------------------- the page side
APP = """
import streamlit as st
from neurodyn.udemd import io as uio
from neurodyn.ui.upload import upload

up = upload("Edges", uio.parse_edge_list, types=["csv", "gz"], max_mb=60, key="e", sandbox=uio.SANDBOX, poll_s=0.2)
if up is not None:
    st.success(f"nodes {len(up.value.node_ids)} sha {up.sha256}")
"""


def _poll(at: AppTest, until, seconds: float = 60.0) -> AppTest:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.2)
        at.run()
        assert not at.exception, at.exception
        if until(at):
            return at
    raise AssertionError("the upload did not settle in time")


def test_upload_parses_off_thread_then_returns_the_value_and_keeps_it():
    at = AppTest.from_string(APP, default_timeout=30).run()
    at.file_uploader[0].set_value(("e.csv", EDGES, "text/csv"))
    at.run()
    assert not at.exception and not at.success  # first run: submitted, pending
    _poll(at, lambda a: len(a.success) > 0)
    assert at.success[0].value == f"nodes 4 sha {hashlib.sha256(EDGES).hexdigest()}"
    t0 = time.monotonic()
    at.run()  # the same file again: the session's value, no new check
    assert at.success[0].value.startswith("nodes 4") and time.monotonic() - t0 < 10
    assert "e.task" not in at.session_state


def test_upload_shows_every_problem_of_a_bad_file_in_one_message():
    at = AppTest.from_string(APP, default_timeout=30).run()
    at.file_uploader[0].set_value(("bad.csv", BAD, "text/csv"))
    at.run()
    _poll(at, lambda a: len(a.error) > 0)
    msg = at.error[0].value
    assert msg.startswith("bad.csv was not accepted: 3 problems:")
    assert all(f"• line {n}, column" in msg for n in (3, 4, 5)), msg


def test_upload_cancel_stops_the_check_and_offers_to_check_again():
    at = AppTest.from_string(APP, default_timeout=30).run()
    at.file_uploader[0].set_value(("big.csv", _big_edges(), "text/csv"))
    at.run()
    assert at.button(key="e.cancel")  # progress and Cancel while the child parses
    assert len(at.get("progress")) == 1
    at.button(key="e.cancel").click().run()
    _poll(at, lambda a: len(a.info) > 0)
    assert at.info[0].value.startswith("Checking big.csv was cancelled")
    assert at.button(key="e.retry") and not at.success and "e.task" not in at.session_state


def test_a_second_session_keeps_redrawing_while_the_first_parses():
    """Parsed in the script thread, this file would hold the first session's run for the whole parse (8.5 s on the
    2-core CI machine); in the sandbox each of the second session's reruns takes about as long as with nothing else
    going on (the child takes one core, so a loaded machine may slow them a little)."""
    second = AppTest.from_string("import streamlit as st\nimport numpy as np\nst.line_chart(np.ones(50))",
                                 default_timeout=30)
    second.run()  # imports and first-run costs, outside the timing

    def timed_runs(n: int = 5) -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            second.run()
            out.append(time.perf_counter() - t0)
        return out

    alone = timed_runs()
    first = AppTest.from_string(APP, default_timeout=30).run()
    first.file_uploader[0].set_value(("big.csv", _big_edges(), "text/csv"))
    t0 = time.perf_counter()
    first.run()
    submit_s = time.perf_counter() - t0
    during = timed_runs()
    task = first.session_state["e.task"].task
    assert not task.done, "the parse ended before the second session was timed"
    task.cancel()
    assert submit_s < 3.0, submit_s  # the first session's own run returns at once, with progress
    assert max(during) < max(3.0, 3 * max(alone)) and np.median(during) < 2 * np.median(alone) + 0.5, (alone, during)


def test_a_parser_that_cannot_run_in_a_child_is_a_clear_error():
    app = APP.replace("uio.parse_edge_list,", "lambda b, name: uio.parse_edge_list(b, name),")
    at = AppTest.from_string(app, default_timeout=30).run()
    at.file_uploader[0].set_value(("e.csv", EDGES, "text/csv"))
    at.run()
    assert at.exception and "must be a module-level function" in "".join(at.exception[0].stack_trace)
