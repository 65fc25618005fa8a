#!/usr/bin/env bash
# Set everything up on a fresh machine (first time only) and launch the dashboard on http://localhost:${PORT:-8501}
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/venv.sh
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.numba_cache}"
echo "neurodyn: warming up (imports, data, numba's JIT for UMAP: about 20 s the first time on a machine)..." >&2
.venv/bin/python -m neurodyn warmup  # prints each task as it goes; fills the numba cache on disk
echo "neurodyn: starting the dashboard on http://localhost:${PORT:-8501}" >&2
exec .venv/bin/python -m streamlit run app.py --server.port "${PORT:-8501}" --server.address "${ADDRESS:-0.0.0.0}" "$@"
