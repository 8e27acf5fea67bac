#!/usr/bin/env bash
# Starts a private RabbitMQ node: every state path under STATE_DIR, its own epmd, nothing left behind by stop.sh.
# Usage: start.sh STATE_DIR [AMQP_PORT [EPMD_PORT [DIST_PORT]]]   -> prints the AMQP URI; PIDs go to STATE_DIR/*.pid
set -euo pipefail
state=$(realpath -m "${1:?state folder}")
port=${2:-5679}
epmd_port=${3:-15679}
dist_port=${4:-25679}
mkdir -p "$state"/{mnesia,log,home}
: > "$state/enabled_plugins.erl"
printf '[].\n' > "$state/enabled_plugins.erl"
cat > "$state/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$port
loopback_users = none
default_user = stable
default_pass = alignment
vm_memory_high_watermark.relative = 0.4
disk_free_limit.absolute = 50MB
CONF
export HOME="$state/home" ERL_EPMD_PORT=$epmd_port \
  RABBITMQ_NODENAME="sa$port@localhost" RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist_port \
  RABBITMQ_MNESIA_BASE="$state/mnesia" RABBITMQ_LOG_BASE="$state/log" RABBITMQ_PID_FILE="$state/rabbit.pid" \
  RABBITMQ_CONFIG_FILE="$state/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$state/enabled_plugins.erl" \
  RABBITMQ_CONF_ENV_FILE="$state/rabbitmq-env.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$state/advanced.config" \
  RABBITMQ_SERVER_START_ARGS="-start_epmd false" RABBITMQ_CTL_ERL_ARGS="-start_epmd false"
: > "$state/rabbitmq-env.conf"
epmd_bin=$(ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1)
"${epmd_bin:-epmd}" -port $epmd_port -address 127.0.0.1 > "$state/log/epmd.log" 2>&1 &
echo $! > "$state/epmd.pid"
sleep 0.3
setsid /usr/lib/rabbitmq/bin/rabbitmq-server > "$state/log/server.out" 2>&1 < /dev/null &
echo $! > "$state/server.pid"
started=""
for _ in $(seq 1 60); do
  if /usr/lib/rabbitmq/bin/rabbitmqctl -q -n "sa$port@localhost" await_startup > "$state/log/await.out" 2>&1; then started=1; break; fi
  kill -0 "$(cat "$state/server.pid")" 2>/dev/null || break
  sleep 1
done
if [ -z "$started" ]; then
  echo "RabbitMQ did not start; see $state/log" >&2
  tail -20 "$state/log/server.out" >&2 || true
  exit 1
fi
echo "amqp://stable:alignment@127.0.0.1:$port/"
