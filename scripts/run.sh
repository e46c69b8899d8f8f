#!/usr/bin/env bash
# `make run` ends here: a real Celery worker in the background, the web server in the foreground.
# Usage: scripts/run.sh [HOST] [PORT]   (defaults 127.0.0.1 8000)
# The worker uses the embedded filesystem broker unless CELERY_BROKER_URL is set; it is stopped
# when the server exits (Ctrl-C). Local mode signs visitors from 127.0.0.1 in as local-admin.
set -euo pipefail

HOST="${1:-127.0.0.1}"
PORT="${2:-8000}"
cd "$(dirname "$0")/.."

PY=.venv/bin/python
export TRACER_LOCAL_MODE="${TRACER_LOCAL_MODE:-1}"
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
    echo "  Signed in automatically from 127.0.0.1 as 'local-admin' (its password was printed when it was created)."
fi
echo "  Celery worker pid $WORKER_PID (log: $LOG_DIR/worker.log). Stop both with Ctrl-C."
echo

"$PY" manage.py runserver "$HOST:$PORT" --noreload
