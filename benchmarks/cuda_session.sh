#!/usr/bin/env bash
# One pass over every CUDA path on a GPU machine: the CUDA tests, then the GPU rows of the benchmarks.
# Usage (from the repository root, on a machine with torch + CUDA): bash benchmarks/cuda_session.sh [OUT_DIR]
# Writes gpu.txt, tests.txt and one bench_*.txt per benchmark to OUT_DIR (default: test-output/cuda).
set -uo pipefail
out="${1:-${OUT:-test-output/cuda}}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py="${PYTHON:-python3}"
status=0

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
"$py" -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, torch.cuda.get_device_name())" \
  | tee -a "$out/gpu.txt"

"$py" -m pytest -q -p no:cacheprovider tests/test_cuda.py "tests/lyapunov/test_spectrum.py::test_runs_on_cuda_and_matches_cpu" \
  2>&1 | tee "$out/tests.txt" || status=1

run() {  # name, then the benchmark's arguments
  local name="$1"; shift
  timeout 150 "$py" "benchmarks/$name.py" "$@" 2>&1 | tee "$out/bench_$name.txt" || status=1
}
run lyapunov --device cuda --hidden 512 --dtype float32 --cells lstm,gru --repeats 3
timeout 150 "$py" benchmarks/lyapunov.py --device cuda --hidden 512 --dtype float64 --cells lstm --repeats 2 \
  --skip-vectorised 2>&1 | tee "$out/bench_lyapunov_f64.txt" || status=1
run attention --devices cuda --repeats 20
run lead --device cuda --rounds 20
exit $status
