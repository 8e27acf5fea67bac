#!/usr/bin/env bash
# make compose-test: the real docker-compose.yml, every service in its own container, end to end on this machine.
# Installs what it needs from apt (podman, runc, netavark, aardvark-dns, podman-compose, debootstrap, jq,
# python3-pika), builds the images offline (make images), brings the stack up with a test override (the MongoDB
# stand-in and a stub model), and through the gateway only: posts a question, publishes one raw AMQP message from
# outside the stack, runs a 4×4 × 2-round simulation while the RabbitMQ container and the memory-store container
# are restarted, builds a dataset, trains a tiny model and waits for its evaluation. It tears everything down
# and prints one summary line with timings.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
state="$root/.state/compose-test"
project=sa-compose-test
mkdir -p "$state"
log() { printf '%s compose-test: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() {
  log "FAILED: $*"
  if declare -F container_logs > /dev/null; then
    container_logs
    log "container logs: $state/logs.txt; each container's state and last lines:"
    grep -A3 '^=== ' "$state/logs.txt" | cut -c1-200 || true
  fi
  exit 1
}
now() { date +%s; }

need=()
for pair in podman:podman runc:runc netavark:/usr/lib/podman/netavark aardvark-dns:/usr/lib/podman/aardvark-dns \
  podman-compose:podman-compose debootstrap:debootstrap jq:jq python3-pika:/usr/lib/python3/dist-packages/pika \
  iptables:/usr/sbin/iptables; do
  package=${pair%%:*}; probe=${pair#*:}
  if [[ $probe == /* ]]; then [ -e "$probe" ] || need+=("$package"); else command -v "$probe" > /dev/null || need+=("$package"); fi
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (apt)"
  [ "$(id -u)" = 0 ] && sudo="" || sudo="sudo"
  $sudo apt-get update -qq > /dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" > /dev/null
fi
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/infra/containers/containers.conf}

t0=$(now)
if [ "${REUSE_IMAGES:-0}" = 1 ] && podman image exists localhost/stable-alignment/gateway:latest; then
  log "reusing the images built before (REUSE_IMAGES=1)"
else
  infra/images/build.sh
fi
t_images=$(( $(now) - t0 ))

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
secret() { head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }
gateway_port=$(free_port)
amqp_port=$(free_port)
api_key=$(secret)
# podman-compose 1.0 has no --env-file and reads the .env beside the first compose file (symlinks resolved), which
# overrides the environment; so the project folder is $state: this test's .env, an exact copy of docker-compose.yml,
# and a link to the infra folder its bind mounts name. A .env of the user's in the repository is never touched.
cp "$root/docker-compose.yml" "$state/docker-compose.yml"
ln -sfn "$root/infra" "$state/infra"
env_file="$state/.env"
{
  echo "INTERNAL_KEY=$(secret)"
  echo "GATEWAY_API_KEY=$api_key"
  echo "GATEWAY_PORT=$gateway_port"
  echo "AMQP_PORT=$amqp_port"
  echo "RABBITMQ_USER=admin"
  echo "RABBITMQ_PASSWORD=$(secret)"
  for s in AGENT_RUNNER OBSERVER_RATER MEMORY_STORE DATASET_BUILDER TRAINER EVALUATOR GATEWAY; do
    echo "RABBITMQ_${s}_PASSWORD=$(secret)"
  done
  echo "MONGO_USER=root"
  echo "MONGO_PASSWORD=$(secret)"
  echo "MONGO_AGENT_RUNNER_PASSWORD=$(secret)"
  echo "MONGO_MEMORY_STORE_PASSWORD=$(secret)"
  echo "MODEL_ENDPOINT=http://stub-model:8000/v1"
  echo "MODEL_NAME=stub-model"
  echo "RABBITMQ_IMAGE=localhost/stable-alignment/rabbitmq:latest"
  echo "TOOLS_IMAGE=localhost/stable-alignment/tools:latest"
  echo "STUB_LATENCY_MS=400"
  echo "SERVICE_CPUS=2"
  echo "GATEWAY_READ_KEY="
  echo "MODEL_API_KEY="
  echo "SOCIAL_AGENT_ENDPOINT="
  echo "SOCIAL_AGENT_MODEL="
  echo "MODEL_SERVER_KEY="
} > "$env_file"
compose() { podman-compose -p "$project" -f "$state/docker-compose.yml" -f "$root/infra/compose-test/docker-compose.test.yml" "$@"; }
teardown() {
  log "tearing down"
  compose down -v > "$state/down.log" 2>&1 || true
  podman volume ls -q | grep "^${project}_" | xargs -r podman volume rm -f > /dev/null 2>&1 || true
  podman network rm -f "${project}_default" > /dev/null 2>&1 || true
}
trap teardown EXIT
teardown > /dev/null 2>&1

t1=$(now)
log "bringing the stack up"
# Named: podman-compose 1.0 ignores profiles, and would start the gpu profile's trainer too.
services=(rabbitmq mongo broker-users stub-model agent-runner observer-rater memory-store dataset-builder trainer evaluator gateway)
compose up -d "${services[@]}" > "$state/up.log" 2>&1 || { cat "$state/up.log"; fail "compose up"; }
gw="http://127.0.0.1:$gateway_port"
auth=(-H "X-Api-Key: $api_key")
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null "$gw/health/ready" 2> /dev/null && break
  sleep 1
done
container_logs() {
  for name in $(podman ps -a --format '{{.Names}}' | grep "^${project}_"); do
    echo "=== $name: $(podman inspect -f '{{.State.Status}} (exit {{.State.ExitCode}}, restarts {{.RestartCount}})' "$name")"
    podman logs --tail 40 "$name" 2>&1
  done > "$state/logs.txt"
}
curl -fsS -o /dev/null "$gw/health/ready" || { container_logs; fail "the gateway never became ready (logs: $state/logs.txt)"; }
# Every .NET service reports ready — its bus connected and every receive endpoint bound — before work starts:
# podman-compose does not wait for health, and a message published before its consumer's queue is bound for the
# first time has nowhere to go. (A service whose bus did not start in time exits and is restarted by compose.)
dotnet_services=(agent-runner observer-rater memory-store dataset-builder trainer evaluator gateway)
for service in "${dotnet_services[@]}"; do
  ready=0
  for _ in $(seq 1 240); do
    if podman exec "${project}_${service}_1" curl -fsS -o /dev/null http://localhost:8080/health/ready 2> /dev/null; then ready=1; break; fi
    sleep 1
  done
  [ $ready = 1 ] || { container_logs; fail "$service never became ready (logs: $state/logs.txt)"; }
done
# Every backend answers through the gateway before work starts.
for path in /api/agents/runs /api/datasets /api/evaluations "/api/memory/runs/00000000-0000-0000-0000-000000000001"; do
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$gw$path")
    [[ $code == 200 || $code == 404 ]] && break
    sleep 1
  done
done
# Every variable of the compose file was filled in: no container sees a literal ${...}.
for name in $(podman ps --format '{{.Names}}' | grep "^${project}_"); do
  if podman inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$name" | grep -q '\${'; then
    fail "$name has an uninterpolated variable: $(podman inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$name" | grep '\${' | head -1)"
  fi
done
t_up=$(( $(now) - t1 ))
log "stack up in ${t_up} s"

get() { # a read through the gateway; a backend restarting answers 502/503 for a moment, so it is asked again
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    curl -fsS "${auth[@]}" "$gw$1" 2> /dev/null && return 0
    sleep 2
  done
  curl -fsS "${auth[@]}" "$gw$1"
}
# A backend that is restarting answers 503 for a moment (e.g. dataset-builder while memory-store starts): curl tries
# again (only on 408, 429 and 5xx; every POST here is idempotent by its ids).
post() { curl -fsS --retry 10 --retry-delay 3 "${auth[@]}" -H 'content-type: application/json' -d "$2" "$gw$1"; }
wait_for() { # PATH JQ-FILTER SECONDS: until the filter prints true
  local deadline=$(( $(now) + $3 ))
  while [ "$(now)" -lt "$deadline" ]; do
    if [ "$(get "$1" 2> /dev/null | jq -r "$2" 2> /dev/null)" = true ]; then return 0; fi
    sleep 2
  done
  return 1
}

t2=$(now)
log "one question through the gateway"
question_run=$(post /api/questions '{"text":"Is it fine to read a friend'\''s diary without asking?"}' | jq -r .runId)
wait_for "/api/memory/interactions?runId=$question_run" 'length == 1 and .[0].status == "Completed"' 120 || fail "the posted question was not answered"

log "one raw AMQP publish from outside the stack"
raw_run=$(/usr/bin/python3 -c 'import uuid; print(uuid.uuid4())')
rabbit_password=$(grep '^RABBITMQ_GATEWAY_PASSWORD=' "$env_file" | cut -d= -f2)
/usr/bin/python3 - "$amqp_port" "$rabbit_password" "$raw_run" <<'PY'
import json, sys, uuid, pika
port, password, run = sys.argv[1:4]
connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", int(port), "/", pika.PlainCredentials("gateway", password)))
channel = connection.channel()
body = {"runId": run, "questionId": str(uuid.uuid4()), "round": 0, "agentId": 0, "text": "May I keep a lost wallet I found?"}
channel.basic_publish("StableAlignment.Contracts:QuestionPosed", "", json.dumps(body).encode(),
                      pika.BasicProperties(content_type="application/json", delivery_mode=2))
connection.close()
PY
wait_for "/api/memory/interactions?runId=$raw_run" 'length == 1 and .[0].status == "Completed"' 120 || fail "the raw AMQP question was not answered"

log "a 4×4 × 2-round simulation; memory-store, then RabbitMQ restarted mid-run"
questions=$(jq -c '[.examples[].input]' data/benchmarks/society-choice.json)
run=$(post /api/agents/runs "{\"gridSize\":4,\"rounds\":2,\"seed\":7,\"questions\":$questions}" | jq -r .runId)
wait_for "/api/agents/runs/$run" '(.completed // 0) >= 4' 300 || fail "the simulation made no progress"
log "restarting the memory-store container"
podman restart -t 5 "${project}_memory-store_1" > /dev/null
wait_for "/api/agents/runs/$run" '(.completed // 0) >= 12' 300 || fail "the simulation made no progress after memory-store restarted"
log "restarting the rabbitmq container"
podman restart -t 5 "${project}_rabbitmq_1" > /dev/null
wait_for "/api/agents/runs/$run" '.status == "Completed" or .status == "Incomplete" or .status == "Failed"' 600 || fail "the simulation did not end"
status=$(get "/api/agents/runs/$run" | jq -r .status)
log "run $run ended $status: $(get "/api/agents/runs/$run" | jq -c '{completed, failed, failureReason, failures}')"
records=$(get "/api/memory/interactions?runId=$run")
stored=$(jq 'length' <<< "$records")
distinct=$(jq '[.[].id] | unique | length' <<< "$records")
slots=$(jq '[.[] | "\(.round)/\(.agentId)"] | unique | length' <<< "$records")
completed=$(jq '[.[] | select(.status == "Completed")] | length' <<< "$records")
[ "$status" = Completed ] && [ "$stored" = 32 ] && [ "$distinct" = 32 ] && [ "$slots" = 32 ] && [ "$completed" = 32 ] \
  || fail "run $status: $stored records, $distinct ids, $slots (round, agent) pairs, $completed completed; expected 32 of each"
t_run=$(( $(now) - t2 ))
log "simulation Completed: 32 interactions, 0 duplicated"

log "dataset, training, evaluation"
dataset=$(post /api/datasets "{\"runId\":\"$run\"}" | jq -r .datasetId)
wait_for "/api/datasets/$dataset/status" '.state == "done"' 300 || fail "dataset $dataset was not built: $(get "/api/datasets/$dataset/status")"
job=$(post /api/training "{\"runId\":\"$run\",\"datasetId\":\"$dataset\",\"baseModel\":\"tiny\",\"epochs\":1,\"maxSteps\":4,\"checkpointEvery\":4}" | jq -r .jobId)
wait_for "/api/training/$job" '.state == "done" or .state == "failed"' 600 || fail "training job $job did not finish"
[ "$(get "/api/training/$job" | jq -r .state)" = done ] || fail "training job $job failed: $(get "/api/training/$job" | jq -r .reason)"
checkpoint="$job/$(basename "$(get "/api/training/$job" | jq -r .latest)")"
log "checkpoint $checkpoint trained; waiting for its evaluation (CheckpointReady → EvaluationCompleted)"
status_path="/api/evaluations/status?checkpointId=$(jq -rn --arg c "$checkpoint" '$c|@uri')"
wait_for "$status_path" '.state == "done" or .state == "failed"' 600 || fail "no evaluation of $checkpoint arrived"
[ "$(get "$status_path" | jq -r .state)" = done ] || fail "the evaluation of $checkpoint failed: $(get "$status_path" | jq -r .reason)"
score=$(get /api/evaluations | jq -c --arg c "$checkpoint" '[.[] | select(.checkpointId == $c)][0].scores | to_entries | map({(.key): .value.score.value}) | add')
t_total=$(( $(now) - t0 ))
echo "compose-test: passed — images ${t_images} s, stack up ${t_up} s, question + raw AMQP + 4×4×2 run with RabbitMQ and memory-store restarted ${t_run} s (32 stored, 0 duplicated), dataset $dataset, job $job, evaluation $score; total ${t_total} s"
