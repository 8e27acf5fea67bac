#!/usr/bin/env bash
# make bench: build in Release, install the broker if needed, run the benchmarks (they start and stop their own
# private RabbitMQ node unless RABBITMQ_URI is set). Results: bench/results/*.md and *.json.
set -euo pipefail
cd "$(dirname "$0")/.."
infra/install.sh
export MASSTRANSIT_USAGE_TELEMETRY=false DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet run --project bench/StableAlignment.Benchmarks -c Release -- "$@"
