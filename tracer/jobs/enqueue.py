"""Starting jobs: validate the parameters, create the queued row, publish it (or run it here).

This module sits above both apps on purpose: it is where a topology operation becomes a background
job (a large upload → an import job), so topology never imports the job code.
"""
from __future__ import annotations

from django.conf import settings

from topology.importers import preflight
from topology.services import UploadOutcome, import_upload, upload_size
from tracer.choices import JobKind, JobState
from tracer.models import Job, JobUpload

from . import batch, diff, imports, intents, matrix, quotas
from .lifecycle import create, now
from .queue import RUN_JOB, BrokerUnavailable, broker_check, eager, publish
from .runner import run_inline

__all__ = ["submit", "enqueue_matrix", "enqueue_diff", "enqueue_batch", "enqueue_intents", "enqueue_import",
           "import_or_enqueue"]


def submit(kind: str, *, owner=None, cluster=None, snapshot=None, params: dict | None = None,
           uploads: list[tuple[str, bytes]] | None = None, total: int = 0, inline: bool = False) -> Job:
    """Create a queued job (and its uploads) and publish it. BrokerUnavailable ⇒ the job is failed.

    `inline=True` (or CELERY_TASK_ALWAYS_EAGER) runs it to the end in this process instead (no broker)."""
    quotas.check_active_jobs(owner)  # 429 before anything is created
    inline = inline or eager()
    if not inline:
        broker_check()  # before creating anything: nothing to clean up, and the answer is immediate
    job = create(kind, owner=owner, cluster=cluster, snapshot=snapshot, params=params, uploads=uploads, total=total)
    if inline:
        return run_inline(job)
    try:
        task_id = publish(RUN_JOB, (job.pk,), job)
    except BrokerUnavailable as exc:
        Job.objects.filter(pk=job.pk).update(state=JobState.FAILED, error=str(exc), finished=now(),
                                             progress_message="could not be queued")
        JobUpload.objects.filter(job=job).delete()
        raise
    Job.objects.filter(pk=job.pk).update(celery_task_id=task_id)
    job.celery_task_id = task_id
    return job


def enqueue_matrix(snapshot, owner=None, *, services: bool = True, pods: bool = True,
                   cells_per_chunk: int | None = None, time_limit: int | None = None, inline: bool = False) -> Job:
    """Reachability matrix of `snapshot` (source classes × service ports and pod classes)."""
    params = matrix.params(services=services, pods=pods, cells_per_chunk=cells_per_chunk, time_limit=time_limit)
    return submit(JobKind.MATRIX, owner=owner, snapshot=snapshot, params=params, inline=inline)


def enqueue_diff(base, candidate=None, owner=None, *, uploads: list[tuple[str, bytes]] | None = None,
                 materialize: bool = False, nodes: int = 3, namespace: str = "default",
                 cells_per_chunk: int | None = None, time_limit: int | None = None, inline: bool = False) -> Job:
    """Matrix cells that change from snapshot `base` to `candidate` (or to uploaded manifests, which
    the worker first imports as a new candidate snapshot of base's cluster)."""
    params = diff.params(base, candidate, uploads=uploads, materialize=materialize, nodes=nodes,
                         namespace=namespace, cells_per_chunk=cells_per_chunk, time_limit=time_limit)
    if uploads and materialize:  # budgets before work: refuse (400) now what the worker would build for minutes
        preflight(uploads, materialize=True, nodes=nodes)
    if uploads:
        quotas.check_storage(base.cluster, upload_size(uploads))  # the candidate becomes a snapshot
    return submit(JobKind.DIFF, owner=owner, cluster=base.cluster, snapshot=candidate, params=params,
                  uploads=uploads, inline=inline)


def enqueue_batch(snapshot, requests: list[dict], owner=None, *, time_limit: int | None = None,
                  inline: bool = False) -> Job:
    """Trace every request (the contract's --batch lines) on `snapshot`, results in order."""
    params = batch.params(requests, time_limit=time_limit)
    return submit(JobKind.BATCH, owner=owner, snapshot=snapshot, total=len(requests), params=params, inline=inline)


def enqueue_intents(snapshot, intent_list, owner=None, *, time_limit: int | None = None, inline: bool = False) -> Job:
    """Check intents (tracer.intents.Intent list, already validated) on `snapshot`."""
    params = intents.params(intent_list, time_limit=time_limit)
    return submit(JobKind.INTENTS, owner=owner, snapshot=snapshot, total=len(intent_list), params=params,
                  inline=inline)


def enqueue_import(cluster, payloads: list[tuple[str, bytes]], *, owner=None, materialize: bool = False,
                   nodes: int = 3, namespace: str = "default") -> Job:
    """Import a large upload in the background; the job's result names the new snapshot."""
    params = imports.params(payloads, materialize=materialize, nodes=nodes, namespace=namespace)
    if materialize:  # budgets before work: refuse (400) now what the worker would build for minutes
        preflight(payloads, materialize=True, nodes=nodes)
    return submit(JobKind.IMPORT, owner=owner, cluster=cluster, total=1, uploads=payloads, params=params)


def import_or_enqueue(cluster, payloads: list[tuple[str, bytes]], *, owner=None, materialize=False, nodes=3,
                      namespace="default") -> UploadOutcome:
    """Import manifests into a new snapshot of `cluster` now, or queue an import job for a big upload.

    The split is at settings.TRACER_ASYNC_IMPORT_THRESHOLD bytes; the size limit itself is enforced by the
    caller before the body is read (413). Invalid input raises the importer's ManifestError (→ 400).
    """
    options = {"materialize": materialize, "nodes": nodes, "namespace": namespace}
    quotas.check_storage(cluster, upload_size(payloads))  # 413 before anything is stored
    if upload_size(payloads) > settings.TRACER_ASYNC_IMPORT_THRESHOLD:
        return UploadOutcome(job=enqueue_import(cluster, payloads, owner=owner, **options))
    return import_upload(cluster, payloads, owner=owner, **options)
