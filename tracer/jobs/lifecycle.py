"""A job's life: created queued → claimed running (heartbeats) → done | failed | cancelled.

Every transition is a conditional UPDATE on the `Job` row (`state=running` → done, …), so that two
workers, a duplicated message or a reaper racing a worker can never both win: the loser's UPDATE
matches no row and it stops. Workers beat the heartbeat while they work; a beat that finds the job
no longer running raises `Stop`, which is how a cancel reaches a busy worker.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tracer.choices import ACTIVE_JOB_STATES, JobState
from tracer.engine.errors import BadRequest, TracerError
from tracer.models import Job, JobOutput, JobUpload

__all__ = ["MAX_ATTEMPTS", "BEAT_SECONDS", "JobNotActive", "JobStillActive", "Stop", "Beater", "create", "claim", "beat", "finish",
           "fail", "cancel", "delete", "save_output", "bounded_int", "common_params", "now"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # a job runs at most twice: the first time, and once more after its worker was lost
BEAT_SECONDS = 2.0  # how often a busy worker refreshes the heartbeat (and notices a cancel)


class JobNotActive(TracerError):
    """Cancel of a job that already finished (→ 409)."""

    http_status = 409


class JobStillActive(TracerError):
    """Delete of a job that is still queued or running (→ 409: cancel it first)."""

    http_status = 409


class Stop(Exception):  # noqa: N818 — a signal to stop, not an error
    """Raised inside a worker when its job is no longer running (cancelled, failed, reaped)."""


def now():
    return timezone.now()


def create(kind: str, *, owner=None, cluster=None, snapshot=None, params: dict | None = None,
           uploads: list[tuple[str, bytes]] | None = None, total: int = 0) -> Job:
    """A queued job row (and its uploads), not published: `submit` publishes, `run_inline` runs it here."""
    if cluster is None and snapshot is not None:
        cluster = snapshot.cluster
    with transaction.atomic():
        job = Job.objects.create(kind=kind, owner=owner, cluster=cluster, snapshot=snapshot, params=params or {},
                                 progress_total=total, progress_message="queued: waiting for a worker")
        if uploads:
            JobUpload.objects.bulk_create(
                [JobUpload(job=job, position=i, name=name[:512], data=data) for i, (name, data) in enumerate(uploads)])
    return job


def claim(job_id: int, resume: bool = False) -> Job | None:
    """queued/running → running, counting the attempt. None when there is nothing (more) to do.

    `resume`: the same task message retried after the database was lost mid-job (tracer.tasks): the job is
    still "running" under this very claim, so neither the duplicate-message guard nor a new attempt applies."""
    job = None
    for _ in range(10):  # the web process may not have committed the row yet
        job = Job.objects.filter(pk=job_id).first()
        if job is not None:
            break
        time.sleep(0.3)
    if job is None or job.state not in ACTIVE_JOB_STATES:
        return None
    if resume and job.state == JobState.RUNNING:
        Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(heartbeat=now(),
                                                                     progress_message="running (resumed)")
        job.refresh_from_db()
        return job if job.state == JobState.RUNNING else None
    if job.state == JobState.RUNNING and job.heartbeat and job.heartbeat > now() - timedelta(
            seconds=settings.TRACER_JOB_STALE_SECONDS / 2):
        return None  # a duplicate message while another worker is busy with it: that one carries on
    if job.attempts >= MAX_ATTEMPTS:
        fail(job.pk, f"gave up after {job.attempts} attempts: the worker running this job was lost each time "
                     "(killed, out of memory or over the hard time limit)")
        return None
    at = now()
    n = Job.objects.filter(pk=job_id, state=job.state, attempts=job.attempts).update(
        state=JobState.RUNNING, attempts=F("attempts") + 1, started=job.started or at, heartbeat=at,
        progress_message="running")
    if not n:
        return None  # someone else claimed or cancelled it meanwhile
    job.refresh_from_db()
    return job


def beat(job_id: int, message: str | None = None, current: int | None = None) -> None:
    """Refresh the heartbeat (and progress); raise Stop when the job is no longer running."""
    fields = {"heartbeat": now()}
    if message is not None:
        fields["progress_message"] = message[:512]
    if current is not None:
        fields["progress_current"] = current
    if not Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(**fields):
        raise Stop()


class Beater:
    """Call `tick()` often; it beats (and checks for a cancel) every BEAT_SECONDS."""

    def __init__(self, job_id: int):
        self.job_id, self.last = job_id, time.monotonic()

    def tick(self, message: str | None = None, current: int | None = None) -> None:
        if time.monotonic() - self.last >= BEAT_SECONDS:
            beat(self.job_id, message, current)
            self.last = time.monotonic()


def finish(job_id: int, result: dict, message: str = "done", **extra) -> bool:
    at = now()
    return bool(Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(
        state=JobState.DONE, result=result, finished=at, heartbeat=at, progress_message=message[:512], **extra))


def fail(job_id: int, error: str) -> bool:
    n = Job.objects.filter(pk=job_id, state__in=ACTIVE_JOB_STATES).update(
        state=JobState.FAILED, error=error, finished=now(), progress_message="failed")
    if n:
        log.warning("job %s failed: %s", job_id, error)
        JobUpload.objects.filter(job_id=job_id).delete()  # nothing will read them any more
    return bool(n)


def cancel(job: Job) -> Job:
    """Stop a queued or running job. Workers notice at their next heartbeat and stop writing."""
    n = Job.objects.filter(pk=job.pk, state__in=ACTIVE_JOB_STATES).update(
        state=JobState.CANCELLED, finished=now(), progress_message="cancelled")
    job.refresh_from_db()
    if not n:
        raise JobNotActive(f"job {job.pk} is already {job.state}; only queued or running jobs can be cancelled")
    JobUpload.objects.filter(job=job).delete()
    return job


def delete(job: Job) -> None:
    """Delete a finished job with everything it stored; a queued or running one must be cancelled first."""
    if job.state in ACTIVE_JOB_STATES:
        raise JobStillActive(f"job {job.pk} is {job.state}: cancel it first")
    job.delete()


def save_output(job: Job, name: str, data) -> None:
    JobOutput.objects.update_or_create(job=job, name=name, defaults={"data": data})


def bounded_int(params: dict, key: str, default: int, lo: int, hi: int) -> int:
    value = params.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be an integer between {lo} and {hi}")
    if not lo <= value <= hi:
        raise BadRequest(f"{key} must be between {lo} and {hi}, not {value}")
    return value


def common_params(time_limit: int | None) -> dict:
    """Parameters every kind accepts: `time_limit` (seconds, capped by TRACER_JOB_TIME_LIMIT)."""
    if time_limit is None:
        return {}
    return {"time_limit": bounded_int({"time_limit": time_limit}, "time_limit", settings.TRACER_JOB_TIME_LIMIT, 1,
                                      settings.TRACER_JOB_TIME_LIMIT)}
