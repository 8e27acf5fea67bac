#!/usr/bin/env bash
# make chaos: every fault of the fault-injection suite (ChaosTests, CHAOS=full) over RabbitMQ with each service as
# its own process; the table (fault, expected, stored, lost, duplicated, status, time, recovery) goes to
# bench/results/chaos-<date>.md with the machine, the date and the inputs. make test runs the short form.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state="$root/.state/chaos"
rm -rf "$state" && mkdir -p "$state"
cleanup() {
  infra/rabbitmq/stop.sh "$state/rabbitmq" >/dev/null 2>&1
  infra/mongo-emulator/stop.sh "$state/mongo" >/dev/null 2>&1
}
trap cleanup EXIT INT TERM
infra/install.sh || exit 1
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
if [ -z "${RABBITMQ_URI:-}" ]; then
  RABBITMQ_URI=$(infra/rabbitmq/start.sh "$state/rabbitmq" "$(free_port)" "$(free_port)" "$(free_port)") || exit 1
fi
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI=$(infra/mongo-emulator/start.sh "$state/mongo" 0) || exit 1
fi
# FAULTS="restart RabbitMQ,kill memory-store" runs only those; every service's output lands in .state/chaos/logs.
export CHAOS_FAULTS="${FAULTS:-}" CHAOS_LOGS="$state/logs"
export RABBITMQ_URI MONGODB_URI CHAOS=full MASSTRANSIT_USAGE_TELEMETRY=false DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p bench/results
results="bench/results/chaos-$(date -u +%Y%m%d-%H%M%S).md"
{
  echo "# Fault injection: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB; $(dotnet --version) SDK."
  echo "Inputs: a 6×6 world × 2 rounds (72 interactions), 4 peers, stub model at 50 ms per call; agent-runner,"
  echo "observer-rater, memory-store and the gateway as separate processes on RabbitMQ and the MongoDB emulator; 5 attempts per"
  echo "interaction; agent-runner and memory-store each on a database of its own. Killed services are SIGKILLed once 10"
  echo "interactions are stored and restarted 2 s later. RabbitMQ and the MongoDB emulator (journalled) are private servers"
  echo "for their fault: SIGKILLed once 10 interactions are stored, started again 5 s later on the same port and state."
  echo "The trainer fault: 8 groups × 120 steps, a checkpoint every 10; SIGKILL after the second CheckpointReady, restart 2 s later."
  echo "The evaluator fault: a tiny checkpoint on a 1,500-example BIG-bench-format file; SIGKILL once 50 samples are scored,"
  echo "restart 2 s later. The full-disk fault: dataset-builder alone sees its dataset folder as a 128 KB tmpfs (a private"
  echo "mount namespace) while it builds a 36-record run with long answers."
  echo "Recovery: from the fault to the end. Duplicated counts records beyond one per id and per (round, agent), or repeated checkpoints."
  echo
  echo "| fault | expected | stored | lost | duplicated | run | time | recovery |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$results"
export CHAOS_RESULTS="$root/$results"
dotnet build tests/StableAlignment.IntegrationTests -c Release -nologo -clp:ErrorsOnly || exit 1
filter="FullyQualifiedName~ChaosTests"
[ -z "${FAULTS:-}" ] || filter="FullyQualifiedName~ChaosTests.A_run_survives_the_fault"
dotnet test tests/StableAlignment.IntegrationTests -c Release --no-build --nologo --filter "$filter"
status=$?
cat "$results"
exit $status
