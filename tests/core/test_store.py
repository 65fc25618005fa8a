"""The run registry (neurodyn.core.store): schema by migrations, exact round trips, artifact dedup, filters, errors,
the background record writer, and runs left behind by a killed process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from neurodyn.core.store import (
    STATUSES,
    RecordWriter,
    RunStore,
    StoreError,
    data_home,
    default_url,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def url(db_url):
    """Every test below runs on a fresh SQLite file and on a fresh PostgreSQL database (``db_url`` in conftest)."""
    return db_url


@pytest.fixture
def store(url):
    s = RunStore(url)
    yield s
    s.close()


def _rec(step, loss, artifacts=None):
    out = {"step": step, "metrics": {"loss": loss, "acc": None if step == 0 else 0.5 + step / 100}}
    if artifacts is not None:
        out["artifacts"] = artifacts
    return out


def _count(url, table):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def _wait_for(predicate, timeout=10.0):
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            return False
        time.sleep(0.02)
    return True


# -- schema -------------------------------------------------------------------------------------------------------


def test_migrations_create_the_four_tables_and_reopening_is_a_no_op(url):
    RunStore(url).close()
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) == {"runs", "records", "blobs", "record_artifacts",
                                                    "neurodyn_alembic_version"}
        assert {c["name"] for c in inspector.get_columns("records")} == {"run_id", "idx", "step", "metrics"}
        assert inspector.get_pk_constraint("record_artifacts")["constrained_columns"] == ["run_id", "idx", "key"]
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM neurodyn_alembic_version")).scalars().all()
            assert versions == ["0001_initial"]
    finally:
        engine.dispose()
    second = RunStore(url)
    try:
        run_id = second.start_run("template", {"a": 1}, source="test")
        assert second.run(run_id).status == "running"
    finally:
        second.close()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM neurodyn_alembic_version")).scalars().all()
            assert versions == ["0001_initial"]
    finally:
        engine.dispose()


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    store.close()


# -- round trip ---------------------------------------------------------------------------------------------------


def test_round_trip_of_records_summary_and_row(store):
    config = {"lr": 0.01, "hidden": [8, 8], "seed": 4}
    run_id = store.start_run("template", config, preset="small", seed=4, paper="template", label="first",
                             source="test", device="cpu", versions={"torch": "2.0"}, git="abc123",
                             upload={"name": "x.csv"})
    first = [_rec(0, 1.0), _rec(1, 0.75, {"w": [[0.1, 0.2], [0.3, 0.4]], "note": {"b": 1, "a": [1, 2.5]}})]
    second = [_rec(2, 0.5), _rec(3, 0.25, {"w": [[1.0]]}), _rec(4, 0.125)]
    store.add_records(run_id, first)
    store.add_records(run_id, second)
    assert store.run(run_id).status == "running" and store.run(run_id).n_records == 5
    summary = {"experiment": "template", "status": "done", "steps": 5, "claims": [{"key": "c1", "verdict": "pass"}],
               "final": {"loss": 0.125}}
    store.finish_run(run_id, "done", message="ok", summary=summary, seconds=1.5)

    assert store.records(run_id) == first + second
    assert store.records(run_id, artifacts=False) == [{"step": r["step"], "metrics": r["metrics"]}
                                                      for r in first + second]
    record = store.run_record(run_id)
    assert record == {**summary, "records": first + second, "id": run_id, "label": "first"}

    info = store.run(run_id)
    assert (info.experiment, info.paper, info.preset, info.seed, info.label, info.source) == (
        "template", "template", "small", 4, "first", "test")
    assert (info.status, info.message, info.seconds, info.n_records) == ("done", "ok", 1.5, 5)
    assert info.config == config and info.versions == {"torch": "2.0"} and info.git == "abc123"
    assert info.device == "cpu" and info.upload == {"name": "x.csv"}
    assert info.claims == [{"key": "c1", "verdict": "pass"}]
    assert info.started_at.tzinfo is not None and info.ended_at >= info.started_at


def test_run_record_without_a_summary_is_built_from_the_row(store):
    run_id = store.start_run("template", {"lr": 1}, seed=2, label="x", source="test")
    store.add_records(run_id, [_rec(0, 1.0)])
    store.finish_run(run_id, "stopped", message="cancelled", seconds=0.5)
    record = store.run_record(run_id)
    assert record == {"experiment": "template", "preset": None, "config": {"lr": 1}, "seed": 2, "status": "stopped",
                      "message": "cancelled", "device": "", "steps": 1, "seconds": 0.5, "versions": None,
                      "git": None, "claims": [], "label": "x", "id": run_id, "records": [_rec(0, 1.0)]}
    assert store.run(run_id).claims == []


# -- artifacts ----------------------------------------------------------------------------------------------------


def test_artifacts_are_deduplicated_and_orphans_removed_on_delete(store, url):
    shared = {"w": [[1.0, 2.0], [3.0, 4.0]]}
    a = store.start_run("template", {}, source="test")
    store.add_records(a, [_rec(0, 1.0, {"m": shared}), _rec(1, 0.5, {"m": shared, "only_a": [7]})])
    assert _count(url, "blobs") == 2  # the shared value once, plus only_a
    b = store.start_run("template", {}, source="test")
    store.add_records(b, [_rec(0, 1.0, {"m": {"w": [[1.0, 2.0], [3.0, 4.0]]}})])
    assert _count(url, "blobs") == 2 and _count(url, "record_artifacts") == 4

    store.delete_run(a)
    assert _count(url, "blobs") == 1  # only_a is gone; the shared blob stays for run b
    assert _count(url, "records") == 1 and _count(url, "record_artifacts") == 1
    assert store.records(b) == [_rec(0, 1.0, {"m": shared})]
    store.delete_run(b)
    assert _count(url, "blobs") == 0 and _count(url, "records") == 0
    assert store.runs() == []


def test_existing_blob_is_not_rewritten(store, url):
    a = store.start_run("template", {}, source="test")
    store.add_records(a, [_rec(0, 1.0, {"m": [1, 2, 3]})])
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE blobs SET size = -1"))
        store.add_records(a, [_rec(1, 1.0, {"m": [1, 2, 3]})])
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT size FROM blobs")).scalars().all() == [-1]
    finally:
        engine.dispose()


# -- listing and errors -------------------------------------------------------------------------------------------


def test_runs_filters_and_newest_first(store):
    ids = [
        store.start_run("alpha", {}, paper="p1", label="keep", source="test"),
        store.start_run("beta", {}, paper="p2", source="test"),
        store.start_run("alpha", {}, paper="p1", label="keep", source="test"),
        store.start_run("alpha", {}, paper="p1", source="test"),
    ]
    store.finish_run(ids[0], "done")
    store.finish_run(ids[1], "failed", message="boom")
    assert [r.id for r in store.runs()] == ids[::-1]
    assert [r.id for r in store.runs(experiment="alpha")] == [ids[3], ids[2], ids[0]]
    assert [r.id for r in store.runs(paper="p2")] == [ids[1]]
    assert [r.id for r in store.runs(status="running")] == [ids[3], ids[2]]
    assert [r.id for r in store.runs(label="keep")] == [ids[2], ids[0]]
    assert [r.id for r in store.runs(experiment="alpha", status="done")] == [ids[0]]
    assert [r.id for r in store.runs(limit=2)] == [ids[3], ids[2]]
    assert store.runs(experiment="gamma") == []


@pytest.mark.parametrize("call", ["run", "records", "run_record", "delete_run", "add_records", "finish_run"])
def test_missing_run_is_a_key_error_naming_the_id(store, call):
    store.start_run("template", {}, source="test")
    args = {"add_records": ([_rec(0, 1.0)],), "finish_run": ("done",)}.get(call, ())
    with pytest.raises(KeyError, match="no stored run with id 4242"):
        getattr(store, call)(4242, *args)


def test_invalid_status_and_source_are_value_errors(store):
    run_id = store.start_run("template", {}, source="test")
    with pytest.raises(ValueError, match="done"):
        store.finish_run(run_id, "running")
    with pytest.raises(ValueError, match="'finished'"):
        store.finish_run(run_id, "finished")
    with pytest.raises(ValueError, match="page, cli, sweep, test"):
        store.start_run("template", {}, source="notebook")
    assert store.run(run_id).status == "running"
    assert [r.id for r in store.runs()] == [run_id]
    for status in STATUSES[1:]:
        store.finish_run(run_id, status)
        assert store.run(run_id).status == status


def test_mark_interrupted_fails_only_running_runs(store):
    running = [store.start_run("template", {}, source="test") for _ in range(2)]
    done = store.start_run("template", {}, source="test")
    store.finish_run(done, "done", message="fine")
    assert store.mark_interrupted() == 2
    for run_id in running:
        info = store.run(run_id)
        assert info.status == "failed" and info.ended_at is not None
        assert info.message == "interrupted: the process that ran it ended before it finished"
    assert (store.run(done).status, store.run(done).message) == ("done", "fine")
    assert store.mark_interrupted() == 0


# -- the background writer ----------------------------------------------------------------------------------------


def test_writer_stores_every_record_in_order(store):
    run_id = store.start_run("template", {}, source="test")
    writer = RecordWriter(store, run_id, batch=16, interval_s=0.05)
    records = [_rec(i, 1.0 / (i + 1), {"v": [i]} if i % 50 == 0 else None) for i in range(200)]
    t0 = time.perf_counter()
    for rec in records:
        writer.put(rec)
    assert time.perf_counter() - t0 < 0.5  # put never waits on the database
    assert writer.close("done", summary={"claims": [{"key": "k"}]}, seconds=2.0) is True
    assert writer.error is None
    assert store.records(run_id) == records
    info = store.run(run_id)
    assert (info.status, info.n_records, info.seconds, info.claims) == ("done", 200, 2.0, [{"key": "k"}])


def test_writer_flushes_by_interval_before_close(store):
    run_id = store.start_run("template", {}, source="test")
    writer = RecordWriter(store, run_id, batch=1000, interval_s=0.2)
    try:
        for i in range(3):
            writer.put(_rec(i, 1.0))
        assert _wait_for(lambda: store.run(run_id).n_records == 3, timeout=5.0)
        assert store.records(run_id) == [_rec(i, 1.0) for i in range(3)]
    finally:
        assert writer.close("done") is True


def test_writer_error_is_kept_and_never_raised(store):
    run_id = store.start_run("template", {}, source="test")
    writer = RecordWriter(store, run_id, batch=1, interval_s=0.05)
    writer.put(_rec(0, 1.0))
    assert _wait_for(lambda: store.run(run_id).n_records == 1)
    store.delete_run(run_id)  # deleted underneath the writer
    writer.put(_rec(1, 1.0))
    assert _wait_for(lambda: writer.error is not None)
    assert f"no stored run with id {run_id}" in writer.error
    for i in range(2, 50):
        writer.put(_rec(i, 1.0))  # still never raises
    assert writer.close("done") is False
    assert f"no stored run with id {run_id}" in writer.error  # the first error is kept


def test_writer_converts_loop_records(store):
    from neurodyn.core.loop import Record, record_to_json

    run_id = store.start_run("template", {}, source="test")
    writer = RecordWriter(store, run_id)
    recs = [Record(i, {"loss": 1.0 / (i + 1)}) for i in range(3)]
    for rec in recs:
        writer.put(rec)
    assert writer.close("done") is True
    assert store.records(run_id) == [record_to_json(r) for r in recs]


# -- opening ------------------------------------------------------------------------------------------------------


def test_unreachable_sqlite_is_a_store_error(tmp_path):
    bad = f"sqlite:///{tmp_path}/no/such/dir/runs.sqlite"
    with pytest.raises(StoreError, match="NEURODYN_DB_URL") as info:
        RunStore(bad)
    assert "no/such/dir/runs.sqlite" in str(info.value)
    assert info.value.__cause__ is not None


def test_unreachable_server_is_a_store_error_with_the_password_masked():
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as info:
        RunStore("postgresql+psycopg://u:secret@127.0.0.1:9/db")
    message = str(info.value)
    assert "secret" not in message and "u:***@127.0.0.1:9/db" in message and "NEURODYN_DB_URL" in message


def test_store_url_masks_the_password(store, url):
    assert store.url == sa.engine.make_url(url).render_as_string(hide_password=True)
    with pytest.raises(StoreError) as info:
        RunStore("sqlite+nosuchdriver://u:hunter2@h/db")
    assert "hunter2" not in str(info.value) and "***" in str(info.value)


def test_default_url_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURODYN_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("NEURODYN_DB_URL", "  ")  # blank counts as unset
    assert default_url() == f"sqlite:///{tmp_path}/user/.local/share/neurodyn/runs.sqlite"
    assert (tmp_path / "user" / ".local" / "share" / "neurodyn").is_dir()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_url() == f"sqlite:///{tmp_path}/xdg/neurodyn/runs.sqlite"
    assert data_home() == tmp_path / "xdg" / "neurodyn"
    monkeypatch.setenv("NEURODYN_HOME", str(tmp_path / "home"))
    assert default_url() == f"sqlite:///{tmp_path}/home/runs.sqlite" and (tmp_path / "home").is_dir()
    monkeypatch.setenv("NEURODYN_DB_URL", "postgresql+psycopg://u:p@db/lab")
    assert default_url() == "postgresql+psycopg://u:p@db/lab"


def test_default_store_opens_in_neurodyn_home(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURODYN_DB_URL", raising=False)
    monkeypatch.setenv("NEURODYN_HOME", str(tmp_path / "h"))
    s = RunStore()
    try:
        s.start_run("template", {}, source="test")
    finally:
        s.close()
    assert (tmp_path / "h" / "runs.sqlite").is_file()


# -- a killed process ---------------------------------------------------------------------------------------------


def test_killed_process_keeps_its_records(store, url):
    code = textwrap.dedent(f"""
        import os
        from neurodyn.core.store import RunStore
        s = RunStore({url!r})
        run_id = s.start_run("template", {{"lr": 0.5}}, source="cli")
        s.add_records(run_id, [{{"step": i, "metrics": {{"loss": 1.0 / (i + 1)}}}} for i in range(5)])
        s.add_records(run_id, [{{"step": 5, "metrics": {{"loss": 0.1}}, "artifacts": {{"w": [1, 2]}}}}])
        print(run_id, flush=True)
        os._exit(1)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=REPO)
    assert done.returncode == 1, done.stderr
    run_id = int(done.stdout.split()[0])
    info = store.run(run_id)
    assert info.status == "running" and info.n_records == 6 and info.config == {"lr": 0.5}
    records = store.records(run_id)
    assert [r["step"] for r in records] == list(range(6)) and records[-1]["artifacts"] == {"w": [1, 2]}
    assert store.mark_interrupted() == 1
    info = store.run(run_id)
    assert info.status == "failed" and info.message.startswith("interrupted")
    assert len(store.records(run_id)) == 6
