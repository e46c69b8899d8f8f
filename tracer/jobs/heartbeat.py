"""A worker's heartbeat for the job it is running, from a background thread.

Why a thread: the reaper (tracer.jobs.reaper) declares a job's worker lost when the heartbeat is older
than TRACER_JOB_STALE_SECONDS. Beats from the work itself (lifecycle.Beater) stop during any long step
that does not tick — compiling a 150,000-pod model, a big import — so the threshold had to be long
(ten minutes) and a killed worker left its job "running" that long. A thread beats every
`interval()` seconds for as long as the worker process lives, so the threshold can be seconds: a
SIGKILLed or OOM-killed worker stops beating at once and its job is requeued within
TRACER_JOB_STALE_SECONDS plus one reaper round. A worker that is alive but stuck is not "lost": the
job's time limit (TRACER_JOB_TIME_LIMIT) stops it.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

from tracer.choices import JobState
from tracer.models import Job

from .lifecycle import now

__all__ = ["beating", "interval"]

log = logging.getLogger(__name__)


def interval() -> float:
    """Seconds between beats: six beats per stale period, so one slow write never makes a job look lost."""
    return max(1.0, settings.TRACER_JOB_STALE_SECONDS / 6)


def _beat_until(stop: threading.Event, job_id: int) -> None:
    try:
        while not stop.wait(interval()):
            try:
                if not Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(heartbeat=now()):
                    return  # done, failed or cancelled: nothing left to keep alive
            except Exception:  # the database may be briefly unavailable: beat again next round
                log.warning("job %s: heartbeat failed", job_id, exc_info=True)
    finally:
        connection.close()  # this thread's own connection


@contextmanager
def beating(job_id: int):
    """Keep job `job_id`'s heartbeat fresh while the block runs (in a Celery worker process)."""
    stop = threading.Event()
    thread = threading.Thread(target=_beat_until, args=(stop, job_id), name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
