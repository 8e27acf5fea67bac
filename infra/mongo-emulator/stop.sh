#!/usr/bin/env bash
set -uo pipefail
state=$(realpath -m "${1:?state folder}")
[ -f "$state/mongo.pid" ] && { kill -TERM "$(cat "$state/mongo.pid")" 2>/dev/null || true; rm -f "$state/mongo.pid"; }
exit 0
