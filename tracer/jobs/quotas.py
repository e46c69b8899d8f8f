"""Per-user quotas: how many jobs one user may have waiting or running, and how many bytes of imported
manifests the clusters they own may hold.

Why: one account could otherwise fill every worker with jobs (everyone else waits) or the database with
snapshots. Past a quota the answer is a clear JSON error — 429 for jobs (wait for one to finish), 413 for
storage (delete snapshots or clusters) — and nothing is created. Jobs started from the command line
(no owner) and clusters without an owner are not counted: the operator runs those.
"""
from __future__ import annotations

from django.conf import settings
from django.db.models import Sum

from topology.models import Snapshot
from tracer.choices import ACTIVE_JOB_STATES
from tracer.engine.errors import TracerError
from tracer.models import Job

__all__ = ["QuotaExceeded", "StorageQuotaExceeded", "check_active_jobs", "check_storage", "stored_bytes"]


class QuotaExceeded(TracerError):
    http_status = 429


class StorageQuotaExceeded(TracerError):
    http_status = 413


def check_active_jobs(owner) -> None:
    if owner is None or not getattr(owner, "is_authenticated", False):
        return
    limit = settings.TRACER_MAX_ACTIVE_JOBS
    active = Job.objects.filter(owner=owner, state__in=list(ACTIVE_JOB_STATES)).count()
    if active >= limit:
        raise QuotaExceeded(f"You already have {active} jobs queued or running (at most {limit}, "
                            "TRACER_MAX_ACTIVE_JOBS): wait for one to finish or cancel one "
                            "(POST /api/jobs/ID/cancel), then try again.")


def stored_bytes(user) -> int:
    """Bytes of manifests imported into the clusters `user` owns."""
    return Snapshot.objects.filter(cluster__owner=user).aggregate(n=Sum("input_bytes"))["n"] or 0


def check_storage(cluster, incoming: int) -> None:
    """Refuse an import that would take the cluster owner's clusters past TRACER_USER_STORAGE_LIMIT."""
    owner = getattr(cluster, "owner", None)
    if owner is None:
        return
    limit = settings.TRACER_USER_STORAGE_LIMIT
    used = stored_bytes(owner)
    if used + incoming > limit:
        raise StorageQuotaExceeded(
            f"This upload ({incoming} bytes) would take the clusters of {owner.get_username()!r} to "
            f"{used + incoming} bytes of imported manifests; the limit is {limit} bytes "
            "(TRACER_USER_STORAGE_LIMIT). Delete old snapshots' clusters you no longer need, or ask the "
            "administrator to raise the limit.")
