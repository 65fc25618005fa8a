"""Suite-wide settings (one torch thread, a fixed numba cache, a throw-away run registry) and the template paper
registered for the core tests."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import warnings

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".numba_cache"))
# the run registry of every run the suite makes (CLI, dashboard servers it starts): a fresh SQLite file, never the
# user's own registry or a lab database
os.environ["NEURODYN_HOME"] = tempfile.mkdtemp(prefix="neurodyn-test-home-")
atexit.register(shutil.rmtree, os.environ["NEURODYN_HOME"], ignore_errors=True)
os.environ.pop("NEURODYN_DB_URL", None)
warnings.filterwarnings("ignore", message=".*render_modes.*")

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))  # worker_probe must be importable by worker processes too

from neurodyn.core import registry
from neurodyn.template.experiment import Config as TemplateConfig
from neurodyn.template.experiment import LeastSquares

torch.set_num_threads(1)
registry.add_package("neurodyn.template")  # the template paper: a small, real experiment for the core tests


@pytest.fixture
def toy_registered():
    """The template paper's experiment spec (registered as ``template`` for the whole suite)."""
    return registry.get("template")


@pytest.fixture
def toy_config():
    return TemplateConfig


@pytest.fixture
def toy_build():
    return LeastSquares


@pytest.fixture
def rng_state():
    return np.random.get_state()[1].copy(), torch.get_rng_state().clone()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty run-registry database: a SQLite file, then a new database on the test PostgreSQL server.

    CI starts that server (``scripts/test-postgres.sh start``, exported as ``NEURODYN_TEST_PG_URL``) and sets
    ``NEURODYN_REQUIRE_PG=1``, so there a missing server fails the PostgreSQL cases instead of skipping them.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/runs.sqlite"
        return
    base = os.environ.get("NEURODYN_TEST_PG_URL", "").strip()
    if not base:
        if os.environ.get("NEURODYN_REQUIRE_PG") == "1":
            pytest.fail("NEURODYN_TEST_PG_URL is not set: CI must start PostgreSQL (scripts/test-postgres.sh start)")
        pytest.skip("no PostgreSQL server here: `scripts/test-postgres.sh start` and export NEURODYN_TEST_PG_URL")
    import uuid

    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
