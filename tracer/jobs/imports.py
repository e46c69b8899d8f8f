"""Import jobs: a large manifest upload imported in the background; the result names the new snapshot."""
from __future__ import annotations

from django.db import transaction

from topology.importers import import_bytes
from tracer.choices import JobKind
from tracer.engine.errors import BadRequest
from tracer.models import Job, JobUpload

from .lifecycle import beat, finish

__all__ = ["params", "run"]

KIND = JobKind.IMPORT


def params(payloads: list[tuple[str, bytes]], *, materialize: bool = False, nodes: int = 3,
           namespace: str = "default") -> dict:
    if not payloads:
        raise BadRequest("nothing to import: no files")
    return {"materialize": bool(materialize), "nodes": int(nodes), "namespace": namespace,
            "files": [name for name, _ in payloads]}


def run(job: Job) -> None:
    if job.snapshot_id:  # imported on an earlier attempt whose worker was lost before finishing
        snap = job.snapshot
        finish(job.pk, {"snapshot": snap.pk, "number": snap.number, "cluster": job.cluster_id,
                        "counts": snap.counts, "skipped": snap.skipped, "warnings": snap.warnings},
               f"done: snapshot #{snap.number}", progress_current=1)
        return
    payloads = [(u.name, bytes(u.data)) for u in JobUpload.objects.filter(job=job).order_by("position")]
    if not payloads:
        raise BadRequest("the uploaded files are gone (the job was cancelled or already imported)")
    beat(job.pk, f"importing {len(payloads)} file(s), {sum(len(d) for _, d in payloads)} bytes")
    # One transaction: the snapshot exists iff the job points at it, so a worker killed right after the import
    # cannot leave a snapshot that the retry (seeing no job.snapshot) would import a second time.
    with transaction.atomic():
        result = import_bytes(job.cluster, payloads, owner=job.owner,
                              materialize=job.params.get("materialize", False), nodes=job.params.get("nodes", 3),
                              namespace=job.params.get("namespace", "default"))
        snap = result.snapshot
        Job.objects.filter(pk=job.pk).update(snapshot=snap)
        JobUpload.objects.filter(job=job).delete()
    finish(job.pk, {"snapshot": snap.pk, "number": snap.number, "cluster": job.cluster_id,
                    "counts": result.counts, "skipped": result.skipped, "warnings": result.warnings},
           f"done: snapshot #{snap.number}", progress_current=1)
