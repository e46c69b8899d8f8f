#!/usr/bin/env bash
# `make run` ends here: a real Celery worker in the background, the web server in the foreground.
# Usage: scripts/run.sh [HOST] [PORT]   (defaults 127.0.0.1 8000)
# The worker uses the embedded filesystem broker unless CELERY_BROKER_URL is set; it is stopped
# when the server exits (Ctrl-C). Local mode (a visitor from this machine is the user local-admin,
# no sign-in) is on only when HOST is a loopback address: `make run HOST=0.0.0.0` turns it off.
set -euo pipefail

HOST="${1:-127.0.0.1}"
PORT="${2:-8000}"
cd "$(dirname "$0")/.."

PY=.venv/bin/python
# The server's own bind address decides local mode (config/settings.py checks it again): only a server
# that listens on loopback may treat loopback visitors as the person at this machine.
export TRACER_BIND_ADDRESS="$HOST"
case "$HOST" in
    127.*|::1|\[::1\]|localhost) export TRACER_LOCAL_MODE="${TRACER_LOCAL_MODE:-1}" ;;
    *) export TRACER_LOCAL_MODE=0 ;;
esac
LOG_DIR="${TRACER_VAR_DIR:-var}/log"
mkdir -p "$LOG_DIR"

"$PY" manage.py collectstatic --noinput -v 0

.venv/bin/celery -A config worker -l warning --concurrency 2 >>"$LOG_DIR/worker.log" 2>&1 &
WORKER_PID=$!

stop_worker() {
    if kill -0 "$WORKER_PID" 2>/dev/null; then
        kill -TERM "$WORKER_PID" 2>/dev/null || true
        # Celery's warm shutdown finishes the running task; give it 10 s, then insist.
        for _ in $(seq 1 20); do kill -0 "$WORKER_PID" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$WORKER_PID" 2>/dev/null || true
    fi
}
trap stop_worker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sleep 1
if ! kill -0 "$WORKER_PID" 2>/dev/null; then
    echo "The Celery worker did not start; see $LOG_DIR/worker.log" >&2
    exit 1
fi

echo
echo "  Kubernetes traffic tracer: http://$HOST:$PORT/"
if [ "$TRACER_LOCAL_MODE" = "1" ]; then
    echo "  Local mode: a browser on this machine is the user 'local-admin' without signing in"
    echo "  (not through a proxy or tunnel; /admin/ and API tokens always need the password)."
else
    echo "  Local mode is off ($HOST is not a loopback address): sign in at /accounts/login/."
fi
echo "  Celery worker pid $WORKER_PID (log: $LOG_DIR/worker.log). Stop both with Ctrl-C."
echo

# the web server compiles the latest snapshots in the background as it starts (topology.warm)
TRACER_WARM_MODELS="${TRACER_WARM_MODELS:-1}" "$PY" manage.py runserver "$HOST:$PORT" --noreload
