"""Never stuck in running: requeue (once) or fail jobs whose worker stopped beating.

`reap()` runs on a timer in every worker (tracer/tasks.py), from `manage.py reap_jobs`, and lazily
when the API reads a job (`reap_if_stale`). A job whose heartbeat is older than
TRACER_JOB_STALE_SECONDS is requeued once and failed with a reason the second time. Several reapers
race harmlessly: every transition is a conditional UPDATE guarded by the heartbeat it saw.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from tracer.choices import ChunkState, JobState
from tracer.models import Job, JobChunk

from .lifecycle import MAX_ATTEMPTS, fail, now
from .queue import RUN_JOB, BrokerUnavailable, filesystem_queued_jobs, publish

__all__ = ["reap", "reap_if_stale"]

log = logging.getLogger(__name__)


def reap(stale_seconds: int | None = None, *, job_ids=None) -> list[dict]:
    """Requeue (once) or fail running jobs whose heartbeat stopped. Returns what was done."""
    stale = stale_seconds or settings.TRACER_JOB_STALE_SECONDS
    cutoff = now() - timedelta(seconds=stale)
    qs = Job.objects.filter(state=JobState.RUNNING).filter(
        Q(heartbeat__lt=cutoff) | Q(heartbeat__isnull=True, started__lt=cutoff))
    if job_ids is not None:
        qs = qs.filter(pk__in=list(job_ids))
    actions = [r for r in (_reap_one(job, stale) for job in qs) if r]
    if job_ids is None:
        actions += _republish_lost(cutoff)
    return actions


def reap_if_stale(job: Job) -> Job:
    """Lazy reaping on read: a poller never sees a dead job as running forever, even with no worker."""
    if job.state == JobState.RUNNING:
        stale = settings.TRACER_JOB_STALE_SECONDS
        beat_at = job.heartbeat or job.started
        if beat_at and beat_at < now() - timedelta(seconds=stale):
            if reap(stale, job_ids=[job.pk]):
                job.refresh_from_db()
    return job


def _republish_lost(cutoff) -> list[dict]:
    """Queued jobs whose message is gone: the filesystem broker deletes a message when a worker reads
    it, so a worker killed between reading and claiming loses it. Such a job would wait forever;
    publish it again. (Redis keeps unacknowledged messages and gives them back by itself.)"""
    old = list(Job.objects.filter(state=JobState.QUEUED).filter(
        Q(heartbeat__lt=cutoff) | Q(heartbeat__isnull=True, created__lt=cutoff)).order_by("pk")[:1000])
    if not old:
        return []
    waiting = filesystem_queued_jobs()
    if waiting is None:
        return []
    out = []
    for job in old:
        if job.pk in waiting:
            continue  # still waiting for a free worker: nothing is lost
        if not Job.objects.filter(pk=job.pk, state=JobState.QUEUED, heartbeat=job.heartbeat).update(heartbeat=now()):
            continue  # claimed meanwhile
        try:
            publish(RUN_JOB, (job.pk,), job)
        except BrokerUnavailable as exc:
            fail(job.pk, f"its queue message was lost and it could not be queued again: {exc}")
            out.append({"job": job.pk, "action": "failed", "reason": str(exc)})
            continue
        out.append({"job": job.pk, "action": "republished"})
    return out


def _reap_one(job: Job, stale: int) -> dict | None:
    guard = Job.objects.filter(pk=job.pk, state=JobState.RUNNING, heartbeat=job.heartbeat, attempts=job.attempts)
    if job.heartbeat is None:
        guard = Job.objects.filter(pk=job.pk, state=JobState.RUNNING, heartbeat__isnull=True, attempts=job.attempts)
    if job.attempts < MAX_ATTEMPTS:
        n = guard.update(state=JobState.QUEUED, heartbeat=now(),
                         progress_message=f"no heartbeat for {stale} s (worker lost); requeued, "
                                          f"attempt {job.attempts + 1} of {MAX_ATTEMPTS}")
        if not n:
            return None
        JobChunk.objects.filter(job_id=job.pk, state=ChunkState.RUNNING).update(state=ChunkState.PENDING)
        try:
            publish(RUN_JOB, (job.pk,), job)
        except BrokerUnavailable as exc:
            fail(job.pk, f"worker lost and the job could not be requeued: {exc}")
            return {"job": job.pk, "action": "failed", "reason": str(exc)}
        log.warning("job %s: no heartbeat for %s s; requeued", job.pk, stale)
        return {"job": job.pk, "action": "requeued"}
    reason = (f"worker lost: no heartbeat for more than {stale} s on attempt {job.attempts} of {MAX_ATTEMPTS} "
              "(the worker was killed, ran out of memory or hit the hard time limit); run the job again")
    n = guard.update(state=JobState.FAILED, error=reason, finished=now(), progress_message="failed")
    return {"job": job.pk, "action": "failed", "reason": reason} if n else None
