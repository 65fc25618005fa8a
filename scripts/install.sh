#!/usr/bin/env bash
# Install neurodyn's Python dependencies into the active Python environment.
# Used as it is by the README's setup, by CI (.ci/run, with --dev) and by the Dockerfile, so CI proves the image's
# install steps. torch goes first and pinned, so that nothing else can pull a CUDA build.
#   TORCH_PIP_ARGS  extra pip arguments for torch only (the Dockerfile points it at the CPU wheel index)
set -euo pipefail
cd "$(dirname "$0")/.."
reqs=requirements.txt
[[ "${1:-}" == "--dev" ]] && reqs=requirements-dev.txt
# shellcheck disable=SC2086
python -m pip install --no-cache-dir "torch==2.13.0" ${TORCH_PIP_ARGS:-}
python -m pip install --no-cache-dir -r "$reqs"
python -m pip install --no-cache-dir --no-deps --no-build-isolation -e .
python -m pip check
