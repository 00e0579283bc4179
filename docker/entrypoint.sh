#!/bin/sh
# Facekeeper's container entrypoint (Dockerfile, compose.yaml). Configuration is FACEKEEPER_* variables.
#
#   facekeeper-entrypoint [serve] [OPTIONS]   wait for the database, migrate, then `facekeeper serve OPTIONS`
#   facekeeper-entrypoint healthcheck         exit 0 when GET /readyz answers 200 (Docker's HEALTHCHECK)
#   facekeeper-entrypoint ARGS...             any other `facekeeper` command (service create, export, ...)
#
# DB_WAIT_SECONDS (default 60): how long to wait for the database to accept connections, e.g. while the
# PostgreSQL container starts. Migrations are safe to run from several replicas at once (they serialise on
# an advisory lock), so every replica runs them.
set -eu

case "${1:-serve}" in
  healthcheck)
    exec python3 - <<'PY'
import os, sys, urllib.error, urllib.request
url = f"http://127.0.0.1:{os.environ.get('FACEKEEPER_PORT', '8000')}/readyz"
try:
    with urllib.request.urlopen(url, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except (urllib.error.URLError, OSError) as error:
    print(f"not ready: {error}", file=sys.stderr)
    sys.exit(1)
PY
    ;;
  serve)
    [ "$#" -gt 0 ] && shift
    ;;
  -*)
    ;;  # options for serve
  *)
    exec facekeeper "$@"
    ;;
esac

# The one line of a failed `db upgrade` that says why (a driver error under a traceback, or our own message).
reason() {
  line=$(grep -E '^(facekeeper: |[A-Za-z_.]*(Error|Exception)\b)' "$1" | tail -n 1)
  [ -n "$line" ] || line=$(tail -n 1 "$1")
  echo "$line"
}

wait_s="${DB_WAIT_SECONDS:-60}"
deadline=$(( $(date +%s) + wait_s ))
log=$(mktemp)
until facekeeper db upgrade >/dev/null 2>"$log"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "facekeeper-entrypoint: no usable database after ${wait_s} s: $(reason "$log")" >&2
    exit 1
  fi
  echo "facekeeper-entrypoint: waiting for the database: $(reason "$log")" >&2
  sleep 2
done
rm -f "$log"
exec facekeeper serve "$@"
