#!/usr/bin/env bash
# Publishes `sa` self-contained for linux-x64 without a libtorch of its own (-p:TorchDevice=system) and packs it as
# .state/gpu/sa.tar.xz: a machine with PyTorch but no .NET runs it with torch/lib on LD_LIBRARY_PATH (see run-sa.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/.state/gpu"
rm -rf "$out/sa" "$out/sa.tar.xz"
mkdir -p "$out"
dotnet publish "$root/apps/StableAlignment.Cli" -c Release -r linux-x64 --self-contained -p:TorchDevice=system \
  -p:PublishTrimmed=false -p:DebugType=none -o "$out/sa" -nologo -clp:ErrorsOnly
# The restore for this RID leaves the next normal build without its CPU libtorch: restore it back.
dotnet restore "$root/StableAlignment.sln" -nologo >/dev/null
tar -C "$out" -cJf "$out/sa.tar.xz" sa
rm -rf "$out/sa"
echo "$out/sa.tar.xz ($(du -h "$out/sa.tar.xz" | cut -f1))"
