"""The self-redrawing status line: the text of every job state, the status files the server keeps, the page asset."""

from __future__ import annotations

import json
import time

import pytest

from neurodyn.core.jobs import Job, JobState
from neurodyn.core.loop import Record
from neurodyn.ui import status_feed
from neurodyn.ui.status_feed import StatusFeed, status_line


def _job(state: JobState, n: int = 0, total: int | None = 10, step_every: int = 1, message: str = "") -> Job:
    job = Job(name="template", config=None, session_id="s", build=lambda c: None)
    job.records = [Record(step=(i + 1) * step_every - 1, metrics={"loss": 1.0}, artifacts={}) for i in range(n)]
    job.state, job.total_steps, job.message = state, total, message
    if state is not JobState.QUEUED:
        job.started_at = time.monotonic() - 2.0
        job.phase = "training"
    if not state.active:
        job.finished_at = time.monotonic()
    return job


def test_running_line_counts_records_and_optimizer_steps():
    line = status_line(_job(JobState.RUNNING, n=4, total=10, step_every=5))
    assert line["active"] and line["state"] == "running" and line["kind"] == "progress"
    assert line["text"].startswith("Training: record 4/10 (step 19) · ")
    assert line["progress"] == pytest.approx(0.4)


def test_running_line_without_a_total():
    line = status_line(_job(JobState.RUNNING, n=3, total=None))
    assert "record 3 ·" in line["text"] and "/" not in line["text"].split("·")[0]


def test_queued_line_is_a_notice_with_the_position():
    line = status_line(_job(JobState.QUEUED))
    assert line["active"] and line["kind"] == "info" and line["text"].startswith("⏳ Queued: position ")


@pytest.mark.parametrize("state, kind, start", [
    (JobState.DONE, "progress", "Done: finished"),
    (JobState.STOPPED, "warning", "Stopped after 3 records"),
    (JobState.FAILED, "error", "finished Partial results (3 records)"),
])
def test_ended_lines(state, kind, start):
    line = status_line(_job(state, n=3, message="finished"))
    assert not line["active"] and line["kind"] == kind and line["text"].startswith(start)
    assert line["progress"] == (1.0 if state is JobState.DONE else pytest.approx(0.3))


def test_feed_writes_each_live_run_and_the_final_state(tmp_path, monkeypatch):
    feed = StatusFeed(tmp_path, every_s=0.05)
    assert (tmp_path / "index.html").read_text().count("streamlit:componentReady") == 1
    job = _job(JobState.RUNNING, n=1)
    token = feed.publish(job)
    assert feed.publish(job) == token and len(token) == 32 and int(token, 16) >= 0
    first = json.loads(feed.path(token).read_text())
    assert first["active"] and first["text"].startswith("Training: record 1/10")
    job.records.append(Record(step=1, metrics={"loss": 0.5}, artifacts={}))
    deadline = time.monotonic() + 5
    while "record 2/10" not in feed.path(token).read_text():  # the writer thread keeps the file current
        assert time.monotonic() < deadline, "the status file was not rewritten"
        time.sleep(0.02)
    job.state, job.message, job.finished_at = JobState.DONE, "10 records", time.monotonic()
    feed.write_all()
    final = json.loads(feed.path(token).read_text())
    assert not final["active"] and final["text"] == "Done: 10 records"
    monkeypatch.setattr(status_feed, "KEEP_S", 0.0)
    time.sleep(0.01)
    feed.write_all()
    assert not feed.path(token).exists()
    assert feed.publish(job) != token  # a job that comes back after its file was dropped gets a new one


def test_page_asset_polls_its_feed_and_reports_the_end_once():
    html = (status_feed._HTML).read_text()
    assert 'fetch("feed/" + args.token + ".json' in html
    assert html.count("streamlit:setComponentValue") == 1 and "reported = true" in html
