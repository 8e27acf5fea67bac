#!/usr/bin/env bash
# One call on a GPU machine with PyTorch, transformers and tokenizers (no .NET): parity of tokenizers, models and loss
# with Hugging Face's libraries, then trainer throughput against PyTorch eager. Needs .state/gpu/sa.tar.xz from
# infra/gpu/package.sh (made on a machine with the .NET SDK). The report lands in $OUT (default bench/results/).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
infra/gpu/run-sa.sh --help >/dev/null
exec python3 infra/gpu/parity.py --out "${OUT:-$root/bench/results}" "$@"
