"""ruff (pyflakes, pycodestyle, isort rules; 120 columns, see pyproject.toml) passes on the whole repository, and every
``noqa`` that silences it says why."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_noqa_gives_its_reason():
    bare = []
    for path in ROOT.glob("**/*.py"):
        if any(part in (".venv", ".git", "test-output") for part in path.relative_to(ROOT).parts):
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            m = re.search(r"#\s*noqa(?::\s*[A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)?(.*)$", line)
            if m and not re.search(r"\w{3,}", m.group(1)):
                bare.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not bare, "noqa without a reason:\n" + "\n".join(bare)
