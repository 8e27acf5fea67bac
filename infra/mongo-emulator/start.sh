#!/usr/bin/env bash
# Starts the MongoDB wire-protocol emulator in the background. Usage: start.sh STATE_DIR [PORT [journal]] -> prints
# the URI. With "journal", writes are kept in STATE_DIR/journal.bson and replayed by the next start (a restartable server).
set -euo pipefail
state=$(realpath -m "${1:?state folder}")
port=${2:-27099}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$state"
rm -f "$state/mongo.port"
extra=()
[ "${3:-}" = journal ] && extra=(--journal "$state/journal.bson")
setsid /usr/bin/python3 "$here/server.py" --port "$port" --port-file "$state/mongo.port" "${extra[@]}" > "$state/mongo.log" 2>&1 < /dev/null &
echo $! > "$state/mongo.pid"
for _ in $(seq 1 100); do [ -s "$state/mongo.port" ] && break; sleep 0.1; done
[ -s "$state/mongo.port" ] || { echo "MongoDB emulator did not start; see $state/mongo.log" >&2; cat "$state/mongo.log" >&2; exit 1; }
echo "mongodb://127.0.0.1:$(cat "$state/mongo.port")"
