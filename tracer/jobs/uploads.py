"""Importing a job's uploaded manifests (an import job, a diff job's candidate): cancellable, exactly once."""
from __future__ import annotations

from topology.importers import import_bytes
from tracer.choices import JobState
from tracer.models import Job, JobUpload

from .lifecycle import Stop

__all__ = ["import_for_job"]


def import_for_job(job: Job, payloads: list[tuple[str, bytes]], options: dict):
    """`import_bytes` for a job: stops at the next phase once the job is cancelled, and records the snapshot on
    the job in the import's own transaction.

    Cancel: between phases (parsed, validated/materialised, each table stored) the job's state is read — a plain
    SELECT, so the import never holds the job row and a cancel commits at once; a cancelled job raises Stop and
    the transaction rolls back: no snapshot. Exactly once: the snapshot exists iff the job points at it (the
    UPDATE is conditional on the job still running), so a retried job never imports twice and a job cancelled
    at the last moment leaves nothing behind. Parsing and materialising run outside the transaction (on SQLite
    a transaction holds the database's write lock, which would keep the cancel waiting).
    """
    def checkpoint(phase: str) -> None:
        if not Job.objects.filter(pk=job.pk, state=JobState.RUNNING).exists():
            raise Stop(f"job {job.pk} is no longer running ({phase}): import abandoned")

    def record(snapshot) -> None:
        if not Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(snapshot=snapshot):
            raise Stop(f"job {job.pk} is no longer running: import rolled back")
        JobUpload.objects.filter(job=job).delete()

    return import_bytes(job.cluster, payloads, owner=job.owner, materialize=options.get("materialize", False),
                        nodes=options.get("nodes", 3), namespace=options.get("namespace", "default"),
                        checkpoint=checkpoint, on_snapshot=record)
