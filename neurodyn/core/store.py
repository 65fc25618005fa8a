"""The run registry: every run (dashboard page, CLI, sweep) stored as it goes in one SQL database.

Where the database lives
------------------------
``NEURODYN_DB_URL``, when set, is an SQLAlchemy URL (for a lab: ``postgresql+psycopg://user:pw@host/db``).
Otherwise it is the SQLite file ``runs.sqlite`` in :func:`data_home` (``NEURODYN_HOME``, else
``$XDG_DATA_HOME/neurodyn``, else ``~/.local/share/neurodyn``).

What is stored
--------------
- ``runs``: one row per run: what ran (experiment, paper, preset, seed, config, versions, git revision, device),
  who started it (``source``), how it went (``status``, ``message``, ``seconds``, the finished run's ``summary``).
- ``records``: the run's records in order (``step`` and ``metrics``), as :func:`neurodyn.core.loop.record_to_json`
  gives them.
- ``blobs`` and ``record_artifacts``: each artifact value (often a large array) is stored once by the sha256 of its
  canonical JSON, zlib-compressed; records link to it by key.

The schema is made by the Alembic migrations in ``migrations/``, applied whenever a :class:`RunStore` opens.
A training loop never writes to the database itself: it hands its records to a :class:`RecordWriter`, whose thread
stores them in batches.

Examples
--------
>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> store = RunStore(f"sqlite:///{folder}/runs.sqlite")
>>> run_id = store.start_run("template", {"lr": 0.1}, seed=0, source="test")
>>> store.add_records(run_id, [{"step": 0, "metrics": {"loss": 1.0}}, {"step": 1, "metrics": {"loss": 0.5}}])
>>> store.finish_run(run_id, "done", seconds=0.2)
>>> info = store.run(run_id)
>>> (info.status, info.n_records)
('done', 2)
>>> store.records(run_id)[1]
{'step': 1, 'metrics': {'loss': 0.5}}
>>> store.close()
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import queue
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:  # pragma: no cover - typing only
    from alembic.config import Config

__all__ = [
    "STATUSES",
    "SOURCES",
    "StoreError",
    "start_experiment_run",
    "RunInfo",
    "RunStore",
    "RecordWriter",
    "data_home",
    "default_url",
]

log = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = ("running", "done", "stopped", "failed", "diverged")
SOURCES: tuple[str, ...] = ("page", "cli", "sweep", "test")
INTERRUPTED_MESSAGE = "interrupted: the process that ran it ended before it finished"

_CHUNK = 400  # at most this many values in one IN (...) list


class StoreError(RuntimeError):
    """The run database could not be opened, reached or migrated; the message names the URL and what to check."""


# ---------------------------------------------------------------------------------------------------------------
# location


def data_home() -> Path:
    """The folder of neurodyn's own data (the default run database); created if missing.

    Returns
    -------
    Path
        ``NEURODYN_HOME`` if set, else ``$XDG_DATA_HOME/neurodyn``, else ``~/.local/share/neurodyn``.

    Examples
    --------
    >>> import os, tempfile
    >>> before = os.environ.get("NEURODYN_HOME")
    >>> os.environ["NEURODYN_HOME"] = home = tempfile.mkdtemp()
    >>> data_home() == Path(home)
    True
    >>> _ = os.environ.pop("NEURODYN_HOME") if before is None else os.environ.update(NEURODYN_HOME=before)
    """
    home = os.environ.get("NEURODYN_HOME", "").strip()
    if home:
        path = Path(home).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "").strip()
        path = (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "neurodyn"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_url() -> str:
    """The SQLAlchemy URL of the run registry.

    Returns
    -------
    str
        ``NEURODYN_DB_URL`` when set and non-empty, else ``sqlite:///<data_home()>/runs.sqlite``.

    Examples
    --------
    >>> import os
    >>> before = os.environ.get("NEURODYN_DB_URL")
    >>> os.environ["NEURODYN_DB_URL"] = "postgresql+psycopg://u:p@host/db"
    >>> default_url()
    'postgresql+psycopg://u:p@host/db'
    >>> _ = os.environ.pop("NEURODYN_DB_URL") if before is None else os.environ.update(NEURODYN_DB_URL=before)
    """
    url = os.environ.get("NEURODYN_DB_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{data_home() / 'runs.sqlite'}"


def _mask(url: str) -> str:
    """``url`` with its password replaced by ``***`` (also when SQLAlchemy cannot parse it)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: mask whatever sits between "user:" and "@"
        return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


# ---------------------------------------------------------------------------------------------------------------
# schema (as migrations/versions/0001_initial.py creates it; the tables here are only used to build queries)

_meta = sa.MetaData()

_runs = sa.Table(
    "runs", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("experiment", sa.String(64), nullable=False),
    sa.Column("paper", sa.String(64)),
    sa.Column("preset", sa.String(64)),
    sa.Column("seed", sa.BigInteger),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("versions", sa.JSON(none_as_null=True)),
    sa.Column("git", sa.String(64)),
    sa.Column("device", sa.String(32), nullable=False),
    sa.Column("upload", sa.JSON(none_as_null=True)),
    sa.Column("summary", sa.JSON(none_as_null=True)),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("seconds", sa.Float),
    sa.Column("n_records", sa.Integer, nullable=False),
)

_records = sa.Table(
    "records", _meta,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
)

_blobs = sa.Table(
    "blobs", _meta,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
)

_links = sa.Table(
    "record_artifacts", _meta,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("hash", sa.String(64), sa.ForeignKey("blobs.hash"), nullable=False),
)


def _canonical(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (the form whose sha256 names a blob)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False).encode("utf-8")


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite gives naive ones back)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _missing(run_id: int) -> KeyError:
    return KeyError(f"no stored run with id {run_id}")


def _alembic_config(connection: Connection) -> Config:
    """An Alembic configuration that runs this module's migrations on ``connection``.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection

    Returns
    -------
    alembic.config.Config
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Foreign keys on, write-ahead log with ``synchronous=NORMAL`` (one sync per checkpoint, not per commit), and a
    30 s wait for the lock of another writer (every new connection).

    The driver's own transaction handling is turned off (``isolation_level = None``); :func:`_sqlite_begin` emits
    ``BEGIN`` instead, so DDL is transactional too (the migrations of two processes cannot interleave).
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        # in WAL mode NORMAL never corrupts the file; a power cut may lose the last commits (a few records)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Begin a transaction; ``IMMEDIATE`` (the write lock at once) when the connection asks for it."""
    mode = conn.get_execution_options().get("neurodyn_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


# ---------------------------------------------------------------------------------------------------------------
# the store


@dataclass(frozen=True)
class RunInfo:
    """One stored run (its row in ``runs``; the records are fetched with :meth:`RunStore.records`)."""

    id: int
    experiment: str
    paper: str | None
    preset: str | None
    seed: int | None
    label: str
    source: str
    status: str
    message: str
    config: dict
    versions: dict | None
    git: str | None
    device: str
    upload: dict | None
    started_at: datetime
    ended_at: datetime | None
    seconds: float | None
    n_records: int
    claims: list[dict] = field(default_factory=list)


def _info(row: Any) -> RunInfo:
    summary = row.summary if isinstance(row.summary, dict) else None
    claims = list(summary.get("claims") or []) if summary is not None else []
    return RunInfo(
        id=row.id, experiment=row.experiment, paper=row.paper, preset=row.preset, seed=row.seed,
        label=row.label or "", source=row.source, status=row.status, message=row.message or "",
        config=row.config if row.config is not None else {}, versions=row.versions, git=row.git,
        device=row.device or "", upload=row.upload, started_at=_utc(row.started_at),
        ended_at=_utc(row.ended_at), seconds=row.seconds, n_records=row.n_records, claims=claims,
    )


class RunStore:
    """The run registry on one database (see the module's docstring).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; None means :func:`default_url`.
    migrate : bool, default True
        Bring the schema up to the newest migration.

    Raises
    ------
    StoreError
        The database cannot be opened, reached or migrated.

    Attributes
    ----------
    url : str
        The database's URL with the password masked.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        raw = default_url() if url is None else str(url)
        self.url = _mask(raw)
        self._lock = threading.Lock()
        self.engine: Engine | None = None
        try:
            parsed = sa.engine.make_url(raw)
            kwargs: dict[str, Any] = {}
            if parsed.get_backend_name() == "sqlite":
                kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            else:
                kwargs["pool_pre_ping"] = True
            engine = sa.create_engine(parsed, **kwargs)
            if parsed.get_backend_name() == "sqlite":
                sa.event.listen(engine, "connect", _sqlite_pragmas)
                sa.event.listen(engine, "begin", _sqlite_begin)
            self.engine = engine
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            if migrate:
                self._migrate(engine)
        except Exception as exc:
            if self.engine is not None:
                self.engine.dispose()
            raise StoreError(
                f"could not open the run database at {self.url}: {_reason(exc)}. Check NEURODYN_DB_URL (or the "
                "--db option): the server must be reachable and the credentials valid; for SQLite the folder must "
                "exist and be writable (NEURODYN_HOME chooses the default one)."
            ) from exc

    def __repr__(self) -> str:
        return f"RunStore({self.url!r})"

    @staticmethod
    def _migrate(engine: Engine, attempts: int = 3) -> None:
        """Bring the schema to the newest revision; retried when another process migrates at the same moment."""
        from alembic import command

        for attempt in range(attempts):
            try:
                with engine.connect().execution_options(neurodyn_begin="IMMEDIATE") as conn, conn.begin():
                    command.upgrade(_alembic_config(conn), "head")
                return
            except sa.exc.DBAPIError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    # -- helpers ------------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _db(self, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction (``write``) or a plain one; database errors become :class:`StoreError`."""
        try:
            with (self._engine().begin() if write else self._engine().connect()) as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise self._wrap(exc) from exc

    def _engine(self) -> Engine:
        if self.engine is None:
            raise StoreError(f"the run database at {self.url} is closed")
        return self.engine

    def _wrap(self, exc: Exception) -> StoreError:
        return StoreError(f"the run database at {self.url} failed: {_reason(exc)}. Check NEURODYN_DB_URL and that "
                          "the database is reachable and writable.")

    def _require(self, conn: Connection, run_id: int) -> Any:
        row = conn.execute(sa.select(_runs).where(_runs.c.id == int(run_id))).first()
        if row is None:
            raise _missing(run_id)
        return row

    # -- writing ------------------------------------------------------------------------------------------------

    def start_run(self, experiment: str, config: Mapping, *, preset: str | None = None, seed: int | None = None,
                  paper: str | None = None, label: str = "", source: str = "page", device: str = "",
                  versions: Mapping | None = None, git: str | None = None, upload: Mapping | None = None) -> int:
        """Register a new run (status ``running``, started now).

        Parameters
        ----------
        experiment : str
            The experiment's registry name.
        config : Mapping
            Its configuration, JSON-ready; stored as given.
        preset, seed, paper, label, device, versions, git, upload : optional
            What else identifies the run (see the module's docstring).
        source : {"page", "cli", "sweep", "test"}, default "page"
            Who started it.

        Returns
        -------
        int
            The run's id.

        Raises
        ------
        ValueError
            ``source`` is not one of :data:`SOURCES`.
        StoreError
            The database failed.
        """
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        values = dict(
            experiment=str(experiment), paper=paper, preset=preset, seed=None if seed is None else int(seed),
            label=str(label or ""), source=source, status="running", message="", config=dict(config),
            versions=None if versions is None else dict(versions), git=git, device=str(device or ""),
            upload=None if upload is None else dict(upload), summary=None, started_at=_now(), ended_at=None,
            seconds=None, n_records=0,
        )
        with self._db(write=True) as conn:
            result = conn.execute(sa.insert(_runs).values(**values))
            return int(result.inserted_primary_key[0])

    def add_records(self, run_id: int, records: Sequence[Mapping]) -> None:
        """Append records to a run, in one transaction.

        Parameters
        ----------
        run_id : int
        records : sequence of Mapping
            JSON dicts as :func:`neurodyn.core.loop.record_to_json` gives them: ``{"step", "metrics"}`` and, when
            the record has any, ``"artifacts"`` (each value is stored once by its content hash).

        Raises
        ------
        KeyError
            No run has this id.
        StoreError
            The database failed.
        """
        rows, links, blobs = [], [], {}
        for k, rec in enumerate(records):
            rows.append({"k": k, "step": int(rec["step"]), "metrics": dict(rec["metrics"])})
            for key, value in dict(rec.get("artifacts") or {}).items():
                raw = _canonical(value)
                digest = hashlib.sha256(raw).hexdigest()
                blobs.setdefault(digest, raw)
                links.append({"k": k, "key": str(key), "hash": digest})
        with self._db(write=True) as conn:
            # the update first: it takes the write lock, so idx stays consecutive with concurrent writers
            done = conn.execute(sa.update(_runs).where(_runs.c.id == int(run_id))
                                .values(n_records=_runs.c.n_records + len(rows)))
            if done.rowcount == 0:
                raise _missing(run_id)
            if not rows:
                return
            total = conn.execute(sa.select(_runs.c.n_records).where(_runs.c.id == int(run_id))).scalar_one()
            start = int(total) - len(rows)
            self._put_blobs(conn, blobs)
            conn.execute(sa.insert(_records), [
                {"run_id": int(run_id), "idx": start + r["k"], "step": r["step"], "metrics": r["metrics"]}
                for r in rows])
            if links:
                conn.execute(sa.insert(_links), [
                    {"run_id": int(run_id), "idx": start + a["k"], "key": a["key"], "hash": a["hash"]}
                    for a in links])

    def _put_blobs(self, conn: Connection, blobs: dict[str, bytes]) -> None:
        """Store the blobs whose hash is not stored yet (an existing blob is never rewritten)."""
        if not blobs:
            return
        hashes = list(blobs)
        have: set[str] = set()
        for part in _chunks(hashes):
            have.update(conn.execute(sa.select(_blobs.c.hash).where(_blobs.c.hash.in_(part))).scalars())
        new = [{"hash": h, "data": zlib.compress(blobs[h]), "size": len(blobs[h])} for h in hashes if h not in have]
        if not new:
            return
        dialect = conn.dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        elif dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            conn.execute(sa.insert(_blobs), new)
            return
        # another writer may have stored the same content since the look-up: keep its row
        conn.execute(dialect_insert(_blobs).on_conflict_do_nothing(index_elements=["hash"]), new)

    def finish_run(self, run_id: int, status: str, *, message: str = "", summary: Mapping | None = None,
                   seconds: float | None = None) -> None:
        """Record how a run ended (and when: now).

        Parameters
        ----------
        run_id : int
        status : {"done", "stopped", "failed", "diverged"}
        message : str, default ""
            A one-line explanation (why it failed or stopped).
        summary : Mapping, optional
            The finished run's summary (JSON-ready); its ``"claims"`` become :attr:`RunInfo.claims`.
        seconds : float, optional
            How long the run took.

        Raises
        ------
        ValueError
            ``status`` is ``"running"`` or not one of :data:`STATUSES`.
        KeyError
            No run has this id.
        StoreError
            The database failed.
        """
        if status not in STATUSES or status == "running":
            ended = ", ".join(s for s in STATUSES if s != "running")
            raise ValueError(f"a finished run's status must be one of {ended}, not {status!r}")
        values = dict(status=status, message=str(message or ""), ended_at=_now(),
                      summary=None if summary is None else dict(summary),
                      seconds=None if seconds is None else float(seconds))
        with self._db(write=True) as conn:
            done = conn.execute(sa.update(_runs).where(_runs.c.id == int(run_id)).values(**values))
            if done.rowcount == 0:
                raise _missing(run_id)

    def delete_run(self, run_id: int) -> None:
        """Remove a run, its records, its artifact links and the blobs no other run uses.

        Parameters
        ----------
        run_id : int

        Raises
        ------
        KeyError
            No run has this id.
        StoreError
            The database failed.
        """
        rid = int(run_id)
        with self._db(write=True) as conn:
            # the update takes the write lock first (SQLite), so no writer adds links between look-up and delete
            touch = sa.update(_runs).where(_runs.c.id == rid).values(n_records=_runs.c.n_records)
            if conn.execute(touch).rowcount == 0:
                raise _missing(run_id)
            hashes = list(conn.execute(sa.select(_links.c.hash).where(_links.c.run_id == rid).distinct())
                          .scalars())
            # explicit deletes, so a database that does not cascade is cleaned as well
            conn.execute(sa.delete(_links).where(_links.c.run_id == rid))
            conn.execute(sa.delete(_records).where(_records.c.run_id == rid))
            conn.execute(sa.delete(_runs).where(_runs.c.id == rid))
            for part in _chunks(hashes):
                used = sa.select(_links.c.hash).where(_links.c.hash.in_(part))
                conn.execute(sa.delete(_blobs).where(_blobs.c.hash.in_(part), _blobs.c.hash.not_in(used)))

    def mark_interrupted(self) -> int:
        """End every run still marked ``running`` as ``failed`` (its process is gone); call when a server starts.

        Returns
        -------
        int
            How many runs were marked.

        Raises
        ------
        StoreError
            The database failed.
        """
        with self._db(write=True) as conn:
            done = conn.execute(sa.update(_runs).where(_runs.c.status == "running").values(
                status="failed", message=INTERRUPTED_MESSAGE, ended_at=_now()))
            return int(done.rowcount)

    # -- reading ------------------------------------------------------------------------------------------------

    def runs(self, *, experiment: str | None = None, paper: str | None = None, status: str | None = None,
             label: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """The stored runs, newest first.

        Parameters
        ----------
        experiment, paper, status, label : str, optional
            Keep only the runs with exactly this value.
        limit : int, optional
            At most this many runs.

        Returns
        -------
        list of RunInfo

        Raises
        ------
        StoreError
            The database failed.
        """
        query = sa.select(_runs).order_by(_runs.c.id.desc())
        for column, value in ((_runs.c.experiment, experiment), (_runs.c.paper, paper), (_runs.c.status, status),
                              (_runs.c.label, label)):
            if value is not None:
                query = query.where(column == value)
        if limit is not None:
            query = query.limit(int(limit))
        with self._db() as conn:
            return [_info(row) for row in conn.execute(query)]

    def run(self, run_id: int) -> RunInfo:
        """One stored run.

        Parameters
        ----------
        run_id : int

        Returns
        -------
        RunInfo

        Raises
        ------
        KeyError
            No run has this id.
        StoreError
            The database failed.
        """
        with self._db() as conn:
            return _info(self._require(conn, run_id))

    def records(self, run_id: int, *, artifacts: bool = True) -> list[dict]:
        """A run's records in order, equal to the dicts given to :meth:`add_records`.

        Parameters
        ----------
        run_id : int
        artifacts : bool, default True
            Include each record's ``"artifacts"`` (only records that had any get the key).

        Returns
        -------
        list of dict

        Raises
        ------
        KeyError
            No run has this id.
        StoreError
            The database failed.
        """
        rid = int(run_id)
        with self._db() as conn:
            self._require(conn, rid)
            rows = conn.execute(sa.select(_records.c.idx, _records.c.step, _records.c.metrics)
                                .where(_records.c.run_id == rid).order_by(_records.c.idx)).all()
            out = [{"step": row.step, "metrics": row.metrics} for row in rows]
            if not artifacts:
                return out
            position = {row.idx: i for i, row in enumerate(rows)}
            links = conn.execute(sa.select(_links.c.idx, _links.c.key, _links.c.hash)
                                 .where(_links.c.run_id == rid).order_by(_links.c.idx, _links.c.key)).all()
            values: dict[str, Any] = {}
            wanted = sorted({link.hash for link in links})
            for part in _chunks(wanted):
                for h, data in conn.execute(sa.select(_blobs.c.hash, _blobs.c.data).where(_blobs.c.hash.in_(part))):
                    values[h] = json.loads(zlib.decompress(data).decode("utf-8"))
        for link in links:
            i = position.get(link.idx)
            if i is not None:
                out[i].setdefault("artifacts", {})[link.key] = values.get(link.hash)
        return out

    def run_record(self, run_id: int) -> dict:
        """The run as one JSON-ready run record: its summary plus ``"records"``, ``"id"`` and ``"label"``.

        Parameters
        ----------
        run_id : int

        Returns
        -------
        dict
            ``{**summary, "id", "label", "records"}`` when a summary was stored; otherwise a summary built from the
            run's row (``experiment``, ``preset``, ``config``, ``seed``, ``status``, ``message``, ``device``,
            ``steps``, ``seconds``, ``versions``, ``git``, ``claims``, ``label``, ``id``) plus ``"records"``.

        Raises
        ------
        KeyError
            No run has this id.
        StoreError
            The database failed.
        """
        with self._db() as conn:
            row = self._require(conn, run_id)
        records = self.records(run_id)
        if isinstance(row.summary, dict):
            return {**row.summary, "id": row.id, "label": row.label or "", "records": records}
        return {
            "experiment": row.experiment, "preset": row.preset, "config": row.config, "seed": row.seed,
            "status": row.status, "message": row.message or "", "device": row.device or "", "steps": row.n_records,
            "seconds": row.seconds, "versions": row.versions, "git": row.git, "claims": [],
            "label": row.label or "", "id": row.id, "records": records,
        }

    def close(self) -> None:
        """Dispose of the engine (its pooled connections); the store cannot be used afterwards."""
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.dispose()


def _reason(exc: BaseException) -> str:
    """A one-line reason for ``exc`` (SQLAlchemy's own wrapper text and background links left out)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__).rstrip(".")


# ---------------------------------------------------------------------------------------------------------------
# background writer


_STOP = object()


class RecordWriter:
    """Stores one run's records in batches from a background thread, so the training loop never waits on the DB.

    Parameters
    ----------
    store : RunStore
    run_id : int
        A run made by :meth:`RunStore.start_run`.
    batch : int, default 64
        Store as soon as this many records wait.
    interval_s : float, default 1.0
        Store what waits at least this often.

    Attributes
    ----------
    error : str or None
        The first storage error; after it the writer stores nothing more (and logs one warning).
    """

    def __init__(self, store: RunStore, run_id: int, *, batch: int = 64, interval_s: float = 1.0) -> None:
        self.store = store
        self.run_id = int(run_id)
        self.batch = max(1, int(batch))
        self.interval_s = float(interval_s)
        self.error: str | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"neurodyn-records-{self.run_id}", daemon=True)
        self._thread.start()

    def put(self, record: Any) -> None:
        """Queue one record for storing; never blocks and never raises.

        Parameters
        ----------
        record : Mapping or neurodyn.core.loop.Record
            A JSON dict as :func:`neurodyn.core.loop.record_to_json` gives it; a ``Record`` is converted by the
            writer's thread.
        """
        try:
            if not self._closed and self.error is None:
                self._queue.put(record)
        except Exception:  # pragma: no cover - SimpleQueue.put does not fail; put must never raise regardless
            pass

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = str(exc) or type(exc).__name__
            log.warning("run %s: records are no longer stored: %s", self.run_id, self.error)

    def _flush(self, pending: list[Any]) -> None:
        if not pending or self.error is not None:
            pending.clear()
            return
        try:
            batch = [_as_json(rec) for rec in pending]
            self.store.add_records(self.run_id, batch)
        except Exception as exc:  # the loop must go on: keep the error and stop storing
            self._fail(exc)
        pending.clear()

    def _loop(self) -> None:
        pending: list[Any] = []
        last = time.monotonic()  # the last flush
        while True:
            if pending:
                try:
                    item = self._queue.get(timeout=max(0.0, self.interval_s - (time.monotonic() - last)))
                except queue.Empty:
                    item = None
            else:
                item = self._queue.get()  # nothing waits: sleep until a record (or the stop) comes
            if item is _STOP:
                self._flush(pending)
                return
            if item is not None:
                pending.append(item)
            if len(pending) >= self.batch or (pending and time.monotonic() - last >= self.interval_s):
                self._flush(pending)
                last = time.monotonic()

    def close(self, status: str, *, message: str = "", summary: Mapping | None = None,
              seconds: float | None = None, timeout: float = 30.0) -> bool:
        """Store everything put so far, then end the run (:meth:`RunStore.finish_run`).

        Parameters
        ----------
        status : {"done", "stopped", "failed", "diverged"}
        message : str, default ""
        summary : Mapping, optional
        seconds : float, optional
        timeout : float, default 30.0
            Seconds to wait for the writer's thread to store what is queued.

        Returns
        -------
        bool
            True when every record and the run's end were stored.
        """
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._fail(TimeoutError(f"the records were not all stored within {timeout:g} s"))
            return False
        try:
            self.store.finish_run(self.run_id, status, message=message, summary=summary, seconds=seconds)
        except Exception as exc:
            self._fail(exc)
            return False
        return self.error is None


def _as_json(record: Any) -> dict:
    """A record as a JSON dict (a :class:`neurodyn.core.loop.Record` is converted)."""
    if isinstance(record, Mapping):
        return dict(record)
    from neurodyn.core.loop import record_to_json

    return record_to_json(record)


@functools.lru_cache(maxsize=1)
def _installed_versions() -> tuple[tuple[str, str], ...]:
    from neurodyn.core.export import versions

    return tuple(versions().items())  # read once per process: the installed packages do not change under a server


def start_experiment_run(store: RunStore, name: str, config: Any, *, preset: str | None = None, label: str = "",
                         source: str = "page") -> RecordWriter:
    """Store a new run of experiment ``name`` and return the writer of its records.

    The one way a page (the job manager), the CLI and a sweep open a stored run: the config as a dict, its seed and
    device, the paper the experiment belongs to, the installed versions and the git revision.

    Parameters
    ----------
    store : RunStore
    name : str
        Experiment name.
    config : dataclass config or mapping
    preset : str, optional
    label : str, default ""
    source : {"page", "cli", "sweep", "test"}

    Returns
    -------
    RecordWriter
        Its ``run_id`` is the new run's id.
    """
    from neurodyn.core import registry
    from neurodyn.core.export import git_revision

    values = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    try:
        paper: str | None = registry.paper_of(name).key
    except KeyError:
        paper = None
    run_id = store.start_run(name, values, preset=preset, seed=values.get("seed"), paper=paper, label=label,
                             source=source, device=str(values.get("device", "")),
                             versions=dict(_installed_versions()), git=git_revision())
    return RecordWriter(store, run_id)
