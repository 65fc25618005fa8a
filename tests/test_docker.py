"""The Dockerfile lints clean and installs exactly as CI does (through scripts/install.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_is_hadolint_clean():
    exe = shutil.which("hadolint") or str(Path(__import__("sys").executable).parent / "hadolint")
    proc = subprocess.run([exe, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_docker_and_ci_share_the_install_script():
    docker = (ROOT / "Dockerfile").read_text()
    assert "RUN bash scripts/install.sh\n" in docker
    assert "./test.sh" in (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/venv.sh" in (ROOT / "test.sh").read_text()
    assert "bash scripts/install.sh --dev" in (ROOT / "scripts" / "venv.sh").read_text()
    # the dev requirements extend, not replace, the runtime ones
    assert (ROOT / "requirements-dev.txt").read_text().startswith("-r requirements.txt")


def test_dockerfile_runs_as_numeric_non_root_user_with_healthcheck_and_numba_cache():
    docker = (ROOT / "Dockerfile").read_text()
    assert "USER 10001:10001" in docker and "HEALTHCHECK" in docker and "/_stcore/health" in docker
    assert "NUMBA_CACHE_DIR=" in docker and "neurodyn warmup" in docker and "--server.address=0.0.0.0" in docker
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text()


def test_compose_file_pairs_the_app_with_a_healthy_postgres_it_can_reach():
    import yaml

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    db, app = compose["services"]["db"], compose["services"]["app"]
    env = db["environment"]
    assert db["image"].startswith("postgres:") and "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy" and app["build"] == "."
    url = app["environment"]["NEURODYN_DB_URL"]
    assert url == (f"postgresql+psycopg://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@db:5432/"
                   f"{env['POSTGRES_DB']}")
    # the database and the app's data folder are named volumes, so `docker compose down` keeps every run
    assert db["volumes"][0].split(":")[0] in compose["volumes"] and app["volumes"][0] == "neurodyn-data:/data"
    import sqlalchemy

    assert sqlalchemy.engine.make_url(url).get_backend_name() == "postgresql"
