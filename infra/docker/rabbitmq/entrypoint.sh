#!/bin/sh
# Writes the node's configuration from the environment, then runs the broker in the foreground.
set -eu
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
listeners.tcp.default = 5672
management.tcp.port = 15672
loopback_users = none
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
CONF
exec rabbitmq-server
