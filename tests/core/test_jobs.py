from __future__ import annotations

import threading
import time

import pytest

from neurodyn.core.jobs import JobLimitError, JobManager, JobState


def _wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def manager():
    m = JobManager(max_running=1, heartbeat_timeout=0, torch_threads=1, mode="thread")
    yield m
    m.shutdown()


def test_job_runs_to_completion_and_keeps_every_record(manager, toy_config, toy_build):
    job = manager.submit("toy", toy_config(n_steps=30), "s1", toy_build)
    assert job.wait(10)
    assert job.state is JobState.DONE and job.n_records == 30 and job.progress == 1.0
    assert [r.step for r in job.records] == list(range(30))
    assert job.records[-1].metrics["loss"] < job.records[0].metrics["loss"]


def test_stop_takes_effect_within_one_second_and_keeps_partial_records(manager, toy_config, toy_build):
    job = manager.submit("toy", toy_config(n_steps=10000, sleep=0.2), "s1", toy_build)
    assert _wait_for(lambda: job.n_records >= 2)
    t0 = time.monotonic()
    job.cancel()
    assert job.wait(1.0), "the worker did not stop within 1 s"
    assert time.monotonic() - t0 < 1.0
    n = job.n_records
    assert job.state is JobState.STOPPED and n >= 2 and job.message == "stopped by user"
    time.sleep(0.5)
    assert job.n_records == n  # nothing appended after the stop


def test_one_active_job_per_session(manager, toy_config, toy_build):
    manager.submit("toy", toy_config(n_steps=10000, sleep=0.05), "s1", toy_build)
    with pytest.raises(JobLimitError, match="stop it"):
        manager.submit("toy", toy_config(), "s1", toy_build)
    other = manager.submit("toy", toy_config(n_steps=3), "s2", toy_build)  # another session may queue
    assert other.state is JobState.QUEUED


def test_cap_queues_jobs_fifo_and_reports_positions(toy_config, toy_build):
    m = JobManager(max_running=2, heartbeat_timeout=0, mode="thread")
    try:
        long = toy_config(n_steps=10000, sleep=0.05)
        jobs = [m.submit("toy", long, f"s{i}", toy_build) for i in range(4)]
        assert _wait_for(lambda: m.n_running == 2)
        assert [j.state for j in jobs] == [JobState.RUNNING] * 2 + [JobState.QUEUED] * 2
        assert [m.queue_position(j) for j in jobs] == [0, 0, 1, 2]
        jobs[0].cancel()
        assert _wait_for(lambda: jobs[2].state is JobState.RUNNING)
        assert m.queue_position(jobs[3]) == 1 and jobs[3].state is JobState.QUEUED
        jobs[3].cancel()  # cancelling a queued job removes it from the queue
        assert jobs[3].wait(1.0) and jobs[3].state is JobState.STOPPED and jobs[3].n_records == 0
        assert m.n_running <= 2
    finally:
        m.shutdown()


def test_job_without_heartbeat_is_cancelled(toy_config, toy_build):
    m = JobManager(max_running=1, heartbeat_timeout=0.4, mode="thread")
    try:
        job = m.submit("toy", toy_config(n_steps=10000, sleep=0.02), "s1", toy_build)
        assert job.wait(2.0), "a job without heartbeats kept running"
        assert job.state is JobState.STOPPED and "heartbeat" in job.message
        kept = m.submit("toy", toy_config(n_steps=10000, sleep=0.02), "s2", toy_build)
        stop = threading.Event()

        def beat():
            while not stop.is_set():
                kept.heartbeat()
                time.sleep(0.1)

        threading.Thread(target=beat, daemon=True).start()
        time.sleep(1.2)
        assert kept.state is JobState.RUNNING  # heartbeats keep it alive
        stop.set()
        assert kept.wait(2.0) and kept.state is JobState.STOPPED
    finally:
        m.shutdown()


def test_exception_ends_the_job_with_a_readable_message(manager, toy_config, toy_build):
    job = manager.submit("toy", toy_config(n_steps=50, fail_at=4), "s1", toy_build)
    assert job.wait(5)
    assert job.state is JobState.FAILED and "RuntimeError: boom" in job.message and job.n_records == 4


def test_divergence_to_nan_ends_the_job_with_advice(manager, toy_config, toy_build):
    job = manager.submit("toy", toy_config(n_steps=5000, lr=1e5), "s1", toy_build)
    assert job.wait(10)
    assert job.state is JobState.FAILED and "diverged" in job.message and "learning rate" in job.message
    assert all(r.metrics["loss"] == r.metrics["loss"] for r in job.records)  # the NaN record is not kept


def test_time_budget_stops_a_job(toy_config, toy_build):
    m = JobManager(max_running=1, heartbeat_timeout=0, max_seconds=0.3, mode="thread")
    try:
        job = m.submit("toy", toy_config(n_steps=10000, sleep=0.05), "s1", toy_build)
        assert job.wait(2) and job.state is JobState.STOPPED and "time budget" in job.message
    finally:
        m.shutdown()


def test_eta_is_reported_while_running(manager, toy_config, toy_build):
    job = manager.submit("toy", toy_config(n_steps=100, sleep=0.01), "s1", toy_build)
    assert _wait_for(lambda: job.n_records >= 5)
    eta = job.eta_seconds
    assert eta is not None and 0 < eta < 5
    job.cancel()


def test_connected_session_without_heartbeats_keeps_its_run_until_it_disconnects(toy_config, toy_build):
    m = JobManager(max_running=1, heartbeat_timeout=0.3, mode="thread")
    connected = threading.Event()
    connected.set()
    try:
        job = m.submit("toy", toy_config(n_steps=10000, sleep=0.02), "s1", toy_build, alive=connected.is_set)
        time.sleep(1.0)
        assert job.state is JobState.RUNNING  # a hidden tab: no heartbeats, but still connected
        connected.clear()  # the tab is closed
        assert job.wait(1.5) and job.state is JobState.STOPPED and "heartbeat" in job.message
    finally:
        m.shutdown()
