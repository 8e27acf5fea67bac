#!/usr/bin/env bash
# Runs the self-contained `sa` from package.sh on a machine that has PyTorch but no .NET: libtorch (with CUDA where
# the wheel has it) comes from that PyTorch's torch/lib folder. Usage: infra/gpu/run-sa.sh [sa arguments…]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/.state/gpu/sa"
if [ ! -x "$dir/sa" ]; then
  [ -f "$root/.state/gpu/sa.tar.xz" ] || { echo "no .state/gpu/sa.tar.xz: run infra/gpu/package.sh first" >&2; exit 2; }
  tar -C "$root/.state/gpu" -xJf "$root/.state/gpu/sa.tar.xz"
fi
python=${PYTHON:-python3}
torchlib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') \
  || { echo "$python cannot import torch: install PyTorch (pip install torch) or set PYTHON" >&2; exit 2; }
export LD_LIBRARY_PATH="$torchlib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 MASSTRANSIT_USAGE_TELEMETRY=false
exec "$dir/sa" "$@"
