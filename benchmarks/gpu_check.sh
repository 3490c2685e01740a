#!/usr/bin/env bash
# ResNet-50 from specs/resnet50.yaml against Keras's ResNet-50 on an NVIDIA GPU, with
# --mixed-precision and XLA: images/s of both, their ratio, and peak GPU memory against the
# report's training-memory estimate. Installs the `gpu` extra into .venv-gpu first.
#
#   benchmarks/gpu_check.sh              the measurement (needs nvidia-smi and a GPU)
#   benchmarks/gpu_check.sh --dry-run    everything but the GPU timing, on CPU, with .venv
#
# Whole run bounded to 8 minutes (install included); exit 2 when there is no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."

dry_run=0
extra=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    *) extra+=("$arg") ;;
  esac
done

deadline=$((SECONDS + 480))
if [[ $dry_run == 1 ]]; then
  python=${PYTHON:-.venv/bin/python}
  [[ -x $python ]] || { echo "no $python: run 'make setup' first" >&2; exit 2; }
  extra+=(--dry-run)
else
  if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "no NVIDIA GPU here (nvidia-smi missing or failing); try --dry-run" >&2
    exit 2
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  venv=${GPU_VENV:-.venv-gpu}
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
  timeout $((deadline - SECONDS)) "$venv/bin/python" -m pip install --quiet -e '.[gpu]'
  python=$venv/bin/python
fi
exec timeout $((deadline - SECONDS)) "$python" benchmarks/gpu_check.py ${extra[@]+"${extra[@]}"}
