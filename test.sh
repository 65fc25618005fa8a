#!/usr/bin/env bash
# Set everything up on a fresh machine (first time only) and run the whole test suite: unit and contract tests,
# page smoke tests (AppTest), real-browser tests (Debian chromium), slow learning checks and the Dockerfile lint.
# Browser tests need chromium: `sudo apt-get install -y chromium chromium-driver` (CI installs it).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/venv.sh
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.numba_cache}"
exec .venv/bin/python -m pytest "$@"
