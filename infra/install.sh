#!/usr/bin/env bash
# Installs what the tests and benchmarks need from Debian: RabbitMQ, mongomock for the MongoDB emulator, and chromium
# for the dashboard's browser test, docker-compose to validate the compose file (make compose-test installs its
# container tools itself), and node with npm for the OpenAI client conformance test.
set -euo pipefail
need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
/usr/bin/python3 -c 'import mongomock, bson' 2>/dev/null || need+=(python3-mongomock python3-pymongo)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v docker-compose > /dev/null || need+=(docker-compose)
command -v node > /dev/null || need+=(nodejs)
command -v npm > /dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
