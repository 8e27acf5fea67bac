#!/usr/bin/env bash
# make test: install and start what the tests need (a private RabbitMQ node, the MongoDB emulator), run every
# test project, stop what was started (by PID), and close with one line "N passed, N failed, N skipped".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state="$root/.state/test"
rm -rf "$state"
mkdir -p "$state/results"

# The tests' scratch folders (models, checkpoints, stores: several GB in all) live in one temporary folder of this
# run, removed at the end with the installed tool, so repeated runs do not fill the disk; results and logs stay.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/stable-alignment-test.XXXXXX")
cleanup() {
  infra/rabbitmq/stop.sh "$state/rabbitmq" >/dev/null 2>&1
  infra/mongo-emulator/stop.sh "$state/mongo" >/dev/null 2>&1
  rm -rf "$scratch" "$state/tool/package" "$state/tool/bin" "$state/tool/train"
}
trap cleanup EXIT INT TERM

fail() { echo "$1" >&2; echo "0 passed, 1 failed"; exit 1; }

infra/install.sh || fail "installing the test dependencies failed"
# OpenAI's official JavaScript client, at the version pinned in its lock file (the API conformance test runs it).
npm ci --prefix tests/node-oracles --no-audit --no-fund --loglevel=error > "$state/npm.log" 2>&1 || fail "npm ci in tests/node-oracles failed (see $state/npm.log)"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Where a Docker engine answers and the images are present, the tests start RabbitMQ and MongoDB containers
# themselves (Testcontainers, nothing pulled); otherwise the local servers below.
if { [ -n "${DOCKER_HOST:-}" ] || [ -S /var/run/docker.sock ]; } && docker image inspect rabbitmq:3.13-management mongo:7 >/dev/null 2>&1 \
   && [ -z "${RABBITMQ_URI:-}" ] && [ -z "${MONGODB_URI:-}" ]; then
  echo "broker and database: Testcontainers (rabbitmq:3.13-management, mongo:7)"
  SKIP_LOCAL_SERVERS=1
fi
if [ -z "${SKIP_LOCAL_SERVERS:-}" ] && [ -z "${RABBITMQ_URI:-}${MONGODB_URI:-}" ]; then
  export TESTCONTAINERS_SKIPPED="no Docker engine with the rabbitmq:3.13-management and mongo:7 images answers here"
fi
if [ -z "${RABBITMQ_URI:-}" ] && [ -z "${SKIP_LOCAL_SERVERS:-}" ]; then
  RABBITMQ_URI=$(infra/rabbitmq/start.sh "$state/rabbitmq" "$(free_port)" "$(free_port)" "$(free_port)") || fail "RabbitMQ did not start"
  export RABBITMQ_URI
fi
if [ -z "${MONGODB_URI:-}" ] && [ -z "${SKIP_LOCAL_SERVERS:-}" ]; then
  MONGODB_URI=$(infra/mongo-emulator/start.sh "$state/mongo" 0) || fail "the MongoDB emulator did not start"
  export MONGODB_URI
fi
echo "broker: ${RABBITMQ_URI:-Testcontainers}  database: ${MONGODB_URI:-Testcontainers}"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MASSTRANSIT_USAGE_TELEMETRY=false
dotnet build StableAlignment.sln -c Release -nologo -clp:ErrorsOnly || fail "build failed"

# Each project's exit code and console log go beside its results: a crashed host, a missing results file or a hung
# test (stopped by --blame-hang-timeout, which names it) counts as a failure in the totals (infra/TestTotals).
status=0
: > "$state/results/projects.tsv"
# TEST_PROJECTS picks projects (a space-separated list of folders); every test project by default.
for project in ${TEST_PROJECTS:-tests/*.Tests tests/*.IntegrationTests}; do
  [ -f "$project/$(basename "$project").csproj" ] || continue
  name=$(basename "$project")
  log="$state/results/$name.log"
  TMPDIR="$scratch" dotnet test "$project" -c Release --no-build --nologo \
    --blame-hang-timeout "${TEST_HANG_TIMEOUT:-15m}" --blame-hang-dump-type none \
    --logger "trx;LogFileName=$name.trx" --results-directory "$state/results" 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  # xunit v3 runs the tests in the project's own executable under the test host: when the hang timeout kills the host,
  # that process can outlive it (seen with a test that slept forever). None of this project's may outlive its run.
  pkill -f "$root/$project/bin/Release/[^ ]*/$name( |$)" 2>/dev/null || true
  [ "$code" -eq 0 ] || status=1
  printf '%s\t%s\t%s\n' "$name" "$code" "$log" >> "$state/results/projects.tsv"
done

# The corpus counts, the skipped tests with their reasons and last the failures with their messages (a project's own
# output may have scrolled far above), then the totals.
dotnet infra/TestTotals/bin/Release/net10.0/TestTotals.dll "$state/results" "$state/totals" || { echo "the test totals could not be read" >&2; echo "0 passed, 1 failed"; exit 1; }
read -r passed failed skipped < "$state/totals"
# sa as a .NET tool: packed, installed from the local package with dotnet tool install, and run (a short training
# from examples/train.yaml, libtorch included), counted as one more test.
tool="$state/tool"
rm -rf "$tool" && mkdir -p "$tool"
if dotnet pack apps/StableAlignment.Cli -c Release -o "$tool/package" -nologo -clp:ErrorsOnly > "$tool/pack.log" 2>&1 \
  && dotnet tool install StableAlignment.Cli --add-source "$tool/package" --tool-path "$tool/bin" > "$tool/install.log" 2>&1 \
  && "$tool/bin/sa" train --config examples/train.yaml --out "$tool/train" > "$tool/train.log" 2>&1 \
  && [ -s "$tool/train/config.resolved.yaml" ]; then
  passed=$((passed + 1))
  echo "tool-install: passed — packed $(du -m "$tool"/package/*.nupkg | cut -f1) MB, installed with dotnet tool install, sa train ran"
else
  failed=$((failed + 1))
  echo "tool-install: FAILED"; tail -n 20 "$tool"/*.log
fi

# The compose deployment in containers (make compose-test), counted as one more test. COMPOSE_TEST=0 leaves it out
# (counted as skipped); its output goes to .state/compose-test/run.log, its summary line here.
if [ "${COMPOSE_TEST:-1}" = 1 ]; then
  echo "compose-test: building the images and running the compose stack (podman)…"
  if infra/compose-test/run.sh > "$state/compose-test.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    tail -n 30 "$state/compose-test.log"
  fi
  grep -E 'compose-test: (passed|FAILED)' "$state/compose-test.log" | tail -n 1
else
  skipped=$((skipped + 1))
  echo "skipped: compose-test: COMPOSE_TEST=0"
fi
[ "$passed" -gt 0 ] || status=1
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
