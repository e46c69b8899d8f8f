"""The Celery app. Broker: Redis from CELERY_BROKER_URL, else an embedded filesystem broker.

Why the filesystem transport: a person on a fresh laptop runs a real worker process with nothing
to install; the queue is a folder under var/broker shared by the web process and the worker.

Why no result backend: job state, progress and results live in our own `Job` table (results
backends expire, and the filesystem transport has none). Chunked work therefore uses plain
groups — each chunk records its own completion and the last one finalises the job — never chords.

Fault tolerance (see tracer/jobs/): `acks_late` + `reject_on_worker_lost` so a message whose
worker child dies goes back to the queue; time limits from TRACER_JOB_TIME_LIMIT; the reaper
(`manage.py reap_jobs`, and a timer inside every worker) requeues or fails jobs whose heartbeat
stopped, which also covers the filesystem transport (it deletes a message when it is read).
"""
from __future__ import annotations

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tracer")
app.config_from_object("django.conf:settings", namespace="CELERY")

#: The queue jobs are published to and workers consume. Tests give each session its own queue so
#: that a developer's running worker never picks up a test's job (and vice versa).
DEFAULT_QUEUE = os.environ.get("TRACER_CELERY_QUEUE", "tracer")


def _filesystem_options(base: Path) -> dict:
    for sub in ("out", "processed", "control"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(base / "out"),
        "data_folder_out": str(base / "out"),
        "processed_folder": str(base / "processed"),
        "store_processed": False,
        "control_folder": str(base / "control"),
    }


def _reset_pools() -> None:
    """Drop cached broker connections so a changed broker_url takes effect in this process.

    kombu keeps producer pools in a global registry keyed by connection URL, so closing only the app's
    pool would leave a closed pool behind for the next use of the same URL: reset the registry too.
    """
    from kombu import pools

    try:
        pools.reset()
    except Exception:  # a dead broker may fail even to close; we are discarding it anyway
        pass
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def _set(name: str, value) -> None:
    """Set a Celery setting so that it wins: config_from_object(namespace="CELERY") makes Celery read
    the Django setting `CELERY_<NAME>` before the plain key, so both are written."""
    app.conf[name] = value
    app.conf[f"CELERY_{name.upper()}"] = value


def use_broker(url: str = "", folder: Path | str | None = None) -> None:
    """Point this process at a broker: a Redis URL, or (url empty) the filesystem broker in `folder`.

    Called once at import with the settings; tests call it again to use a temporary folder or a
    dedicated Redis database, matching the worker process they start.
    """
    from django.conf import settings

    if url:
        options = {
            # Fail fast when Redis is down: the API answers 503 instead of hanging.
            "socket_connect_timeout": 3,
            "socket_timeout": 10,
            # An unacknowledged message (its worker died) comes back after this long. Chunks are
            # idempotent, so an early redelivery only costs time; the reaper covers the rest.
            "visibility_timeout": max(settings.TRACER_JOB_STALE_SECONDS * 2, 60),
        }
    else:
        base = Path(folder) if folder else Path(settings.CELERY_EMBEDDED_BROKER_DIR)
        url, options = "filesystem://localhost/", _filesystem_options(base)
    # The read/write URLs too: they win over a CELERY_BROKER_URL environment variable, which Celery
    # otherwise prefers to any configuration (tests point this process at another broker).
    for name in ("broker_url", "broker_read_url", "broker_write_url"):
        _set(name, url)
    _set("broker_transport_options", options)
    _reset_pools()


def _configure() -> None:
    from django.conf import settings

    use_broker(settings.CELERY_BROKER_URL)
    app.conf.update(
        task_default_queue=DEFAULT_QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        # Runaway jobs end cleanly: the soft limit raises inside the task (the job is marked failed
        # with a reason), the hard limit kills the child a little later if it does not stop.
        task_soft_time_limit=settings.TRACER_JOB_TIME_LIMIT,
        task_time_limit=settings.TRACER_JOB_TIME_LIMIT + 30,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
    )


_configure()
app.autodiscover_tasks()
