#!/usr/bin/env bash
# Create .venv with every dependency (dev tools included) unless it is already complete. Sourced by run.sh/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.neurodyn-installed
want=$(cat requirements.txt requirements-dev.txt pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "neurodyn: setting up .venv (first time takes a few minutes)..." >&2
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
  bash scripts/install.sh --dev
  echo "$want" > "$stamp"
fi
