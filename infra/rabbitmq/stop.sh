#!/usr/bin/env bash
# Stops what start.sh started in STATE_DIR, by PID (the server's process group, then its epmd).
set -uo pipefail
state=$(realpath -m "${1:?state folder}")
for name in server epmd; do
  pid_file="$state/$name.pid"
  [ -f "$pid_file" ] || continue
  pid=$(cat "$pid_file")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pid_file"
done
if [ -f "$state/rabbit.pid" ]; then kill -KILL "$(cat "$state/rabbit.pid")" 2>/dev/null || true; rm -f "$state/rabbit.pid"; fi
exit 0
