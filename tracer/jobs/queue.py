"""Publishing to the job queue: which queue, the time limits, a fast broker check, one `publish`.

Why tasks are published by *name* (`tracer.run_job`, `tracer.run_chunk`): the task functions
(tracer/tasks.py) sit above the job code they call, so the job code must not import them back —
that was an import cycle. Celery's `send_task` sends the same message `apply_async` would.

Broker down ⇒ `BrokerUnavailable` (http_status 503): publishing fails fast (no retries) and the API
client is told the queue is down. Synchronous traces never touch the broker, so they keep working.
"""
from __future__ import annotations

import ast
import json
import os

import redis
from django.conf import settings

from config.celery import app
from tracer.engine.errors import TracerError
from tracer.models import Job

__all__ = ["RUN_JOB", "RUN_CHUNK", "BrokerUnavailable", "queue_name", "time_limits", "broker_check", "publish",
           "eager", "filesystem_queued_jobs"]

RUN_JOB = "tracer.run_job"
RUN_CHUNK = "tracer.run_chunk"

_DOWN = ("the job queue is unavailable ({}); background jobs (matrix, diff, batch, intent checks, large "
         "imports) cannot start until the broker is back — single traces still work")


class BrokerUnavailable(TracerError):
    """The job queue cannot be reached: async features are down, synchronous traces still work."""

    http_status = 503


def queue_name() -> str:
    return app.conf.task_default_queue


def eager() -> bool:
    """CELERY_TASK_ALWAYS_EAGER: no broker; a submitted job runs to the end in this process."""
    return bool(app.conf.task_always_eager)


def time_limits(job: Job) -> dict:
    """The job's soft/hard limits: its own `time_limit` parameter, never above TRACER_JOB_TIME_LIMIT."""
    limit = min(int(job.params.get("time_limit") or settings.TRACER_JOB_TIME_LIMIT), settings.TRACER_JOB_TIME_LIMIT)
    return {"soft_time_limit": limit, "time_limit": limit + 30}


def broker_check() -> None:
    """Raise BrokerUnavailable now if the broker cannot be reached (one quick round trip).

    Why a separate check: kombu retries a refused Redis connection with back-off for several seconds
    even with retry=False; a user waiting on the API should hear "503, the queue is down" at once.
    """
    if eager():
        return
    url = app.conf.broker_write_url or app.conf.broker_url or ""
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
        elif url.startswith("filesystem:"):
            folder = (app.conf.broker_transport_options or {}).get("data_folder_out", "")
            if not folder or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise OSError(f"the broker folder {folder!r} is missing or not writable")
    except Exception as exc:
        raise BrokerUnavailable(_DOWN.format(f"{type(exc).__name__}: {exc}")) from None


def publish(task_name: str, args: tuple, job: Job) -> str:
    """Send one task message; BrokerUnavailable when the broker cannot take it (fast, no retries)."""
    try:
        res = app.send_task(task_name, args, queue=queue_name(), retry=False, **time_limits(job))
    except Exception as exc:  # kombu/redis/OS errors differ per transport; all mean "cannot queue"
        raise BrokerUnavailable(_DOWN.format(f"{type(exc).__name__}: {exc}")) from None
    return res.id


def filesystem_queued_jobs() -> set[int] | None:
    """Ids of jobs with a run_job message waiting in the filesystem broker; None for other brokers."""
    url = app.conf.broker_write_url or app.conf.broker_url or ""
    if not url.startswith("filesystem:"):
        return None
    folder = (app.conf.broker_transport_options or {}).get("data_folder_in", "")
    suffix = f".{queue_name()}.msg"
    found: set[int] = set()
    try:
        names = [n for n in os.listdir(folder) if n.endswith(suffix)]
    except OSError:
        return None
    for name in names:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                headers = json.load(fh).get("headers") or {}
            if headers.get("task") == RUN_JOB:
                found.add(int(ast.literal_eval(headers.get("argsrepr") or "()")[0]))
        except (OSError, ValueError, SyntaxError, IndexError, TypeError, AttributeError):
            continue  # read by a worker meanwhile, or not one of ours
    return found
