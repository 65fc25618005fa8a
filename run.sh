#!/usr/bin/env bash
# Set everything up on a fresh machine (first time only) and launch the dashboard on http://localhost:${PORT:-8501}
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/venv.sh
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.numba_cache}"
.venv/bin/python -m neurodyn warmup  # fill the numba cache on disk first (about 20 s once per machine)
exec .venv/bin/python -m streamlit run app.py --server.port "${PORT:-8501}" --server.address "${ADDRESS:-0.0.0.0}" "$@"
