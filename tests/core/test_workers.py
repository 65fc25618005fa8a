"""Jobs in worker processes: same records as in-process, hard stop of long steps, failures, a dead worker."""

from __future__ import annotations

import time

import numpy as np
import pytest
from worker_probe import ThreadReport

from neurodyn.core import registry
from neurodyn.core.jobs import JobManager, JobState
from neurodyn.core.loop import run
from neurodyn.template.experiment import Config as ToyConfig
from neurodyn.template.experiment import LeastSquares as ToyExperiment

pytestmark = pytest.mark.slow  # starting a worker imports torch, every experiment and UMAP (~10 s)


@pytest.fixture(scope="module")
def manager():
    m = JobManager(max_running=1, heartbeat_timeout=0, mode="process")
    yield m
    m.shutdown()


def test_registered_experiment_gives_the_same_records_in_a_worker_process(manager):
    cfg = registry.make_config("lead", n_steps=40, device="cpu")
    job = manager.submit("lead", cfg, "s1")
    assert job.wait(120), job.phase
    assert job.state is JobState.DONE and job.n_records == 40 and job.experiment is None
    local = list(run(registry.build("lead", n_steps=40, device="cpu")))
    for a, b in zip(job.records, local):
        assert a.step == b.step and a.metrics == b.metrics
        assert a.artifacts.keys() == b.artifacts.keys()
        for k in a.artifacts:
            assert np.array_equal(np.asarray(a.artifacts[k]), np.asarray(b.artifacts[k]))


def test_worker_keeps_its_thread_budget_after_the_warm_up(manager):
    """The warm-up (numba's OpenMP layer for UMAP) must not widen torch's pool: one job, one core by default."""
    job = manager.submit("toy", ToyConfig(), "s-threads", ThreadReport)
    assert job.wait(120) and job.state is JobState.DONE, job.message
    assert job.records[0].metrics == {"torch_threads": 1.0, "numba_threads": 1.0}


def test_a_step_longer_than_the_grace_is_stopped_by_killing_its_worker(manager):
    job = manager.submit("toy", ToyConfig(n_steps=100, sleep=1.5), "s2", ToyExperiment)
    deadline = time.monotonic() + 120
    while job.n_records < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.n_records >= 1
    t0 = time.monotonic()
    job.cancel()
    assert job.wait(1.0), "Stop took more than a second"
    assert time.monotonic() - t0 < 1.0 and job.state is JobState.STOPPED and job.n_records >= 1
    # the pool replaces the killed worker; the next job runs
    nxt = manager.submit("toy", ToyConfig(n_steps=5), "s3", ToyExperiment)
    assert nxt.wait(120) and nxt.state is JobState.DONE and nxt.n_records == 5


def test_exception_and_divergence_in_a_worker_end_the_job_with_a_message(manager):
    job = manager.submit("toy", ToyConfig(n_steps=50, fail_at=3), "s4", ToyExperiment)
    assert job.wait(120) and job.state is JobState.FAILED and "RuntimeError: boom" in job.message
    assert job.n_records == 3
    job = manager.submit("toy", ToyConfig(n_steps=5000, lr=1e5), "s5", ToyExperiment)
    assert job.wait(120) and job.state is JobState.FAILED and "diverged" in job.message
