#!/bin/sh
# One RabbitMQ user per service, made through the management API by the broker's administrator account, which
# no service uses. Each user gets the default virtual host and no management tag. Idempotent: rerunning sets the
# same passwords again.
set -eu
api="http://rabbitmq:15672/api"
# Compose engines that start services in order but do not wait for health (podman-compose 1.0) start this early:
# wait up to two minutes for the management API.
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null -u "$RABBITMQ_USER:$RABBITMQ_PASSWORD" "$api/overview" && break
  sleep 1
done
for pair in agent-runner:$RABBITMQ_AGENT_RUNNER_PASSWORD observer-rater:$RABBITMQ_OBSERVER_RATER_PASSWORD \
  memory-store:$RABBITMQ_MEMORY_STORE_PASSWORD dataset-builder:$RABBITMQ_DATASET_BUILDER_PASSWORD \
  trainer:$RABBITMQ_TRAINER_PASSWORD evaluator:$RABBITMQ_EVALUATOR_PASSWORD gateway:$RABBITMQ_GATEWAY_PASSWORD; do
  user=${pair%%:*}
  password=${pair#*:}
  [ -n "$password" ] || { echo "no RabbitMQ password for $user: set it in .env" >&2; exit 1; }
  curl -fsS -u "$RABBITMQ_USER:$RABBITMQ_PASSWORD" -H 'content-type: application/json' -X PUT "$api/users/$user" \
    -d "{\"password\":\"$password\",\"tags\":\"\"}"
  curl -fsS -u "$RABBITMQ_USER:$RABBITMQ_PASSWORD" -H 'content-type: application/json' -X PUT "$api/permissions/%2F/$user" \
    -d '{"configure":".*","write":".*","read":".*"}'
  echo "RabbitMQ user $user ready"
done
