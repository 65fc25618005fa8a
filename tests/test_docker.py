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
