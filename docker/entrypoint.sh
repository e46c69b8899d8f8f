#!/usr/bin/env bash
# Container entrypoint: `web` (migrate, then gunicorn), `worker` (Celery), `migrate`, or any command.
# Waits for the database so that compose can start everything at once.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}

wait_for_db() {
  for i in $(seq 1 "${DB_WAIT_SECONDS:-60}"); do
    if $PY manage.py shell -c "from django.db import connection; connection.ensure_connection()" >/dev/null 2>&1; then
      return 0
    fi
    sleep 1
  done
  echo "entrypoint: database not reachable after ${DB_WAIT_SECONDS:-60}s (DATABASE_URL)" >&2
  return 1
}

case "${1:-web}" in
  web)
    wait_for_db
    $PY manage.py migrate --noinput
    export TRACER_WARM_MODELS="${TRACER_WARM_MODELS:-1}"  # compile the latest snapshots as each worker starts
    exec gunicorn config.wsgi:application --bind "${BIND:-0.0.0.0:8000}" \
      --workers "${WEB_CONCURRENCY:-3}" --timeout "${WEB_TIMEOUT:-60}" --access-logfile -
    ;;
  worker)
    wait_for_db
    exec celery -A config worker -l "${CELERY_LOG_LEVEL:-info}" --concurrency "${WORKER_CONCURRENCY:-2}"
    ;;
  migrate)
    wait_for_db
    exec $PY manage.py migrate --noinput
    ;;
  check)
    wait_for_db
    exec $PY manage.py check --deploy --fail-level WARNING
    ;;
  *)
    exec "$@"
    ;;
esac
