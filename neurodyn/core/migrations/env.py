"""Alembic environment of the run registry (:mod:`neurodyn.core.store`).

:func:`neurodyn.core.store._alembic_config` hands an open connection over in ``config.attributes["connection"]``;
the migrations run on it. Without one, the URL in the ``sqlalchemy.url`` option is used (the ``alembic`` command
line). Importing this file outside Alembic (pytest collecting doctests) does nothing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

__all__: list[str] = []

target_metadata = None
#: The registry's own revision table: Optuna keeps its schema revision in ``alembic_version`` of the same database
#: (sweep studies share it), and each must find only its own there.
VERSION_TABLE = "neurodyn_alembic_version"


def _run_offline(url: str) -> None:
    """Write the migrations' SQL for ``url`` without connecting."""
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: object) -> None:
    """Run the migrations on an open connection."""
    context.configure(connection=connection, target_metadata=target_metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    """Run the migrations the way Alembic asked for."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection in config.attributes['connection'] and no sqlalchemy.url option")
    if context.is_offline_mode():
        _run_offline(url)
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run_on(conn)
    finally:
        engine.dispose()


if getattr(context, "config", None) is not None:  # only when Alembic runs this file
    _run()
