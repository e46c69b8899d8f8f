"""Import jobs: a large manifest upload imported in the background; the result names the new snapshot."""
from __future__ import annotations

from tracer.choices import JobKind
from tracer.engine.errors import BadRequest
from tracer.models import Job, JobUpload

from .lifecycle import beat, finish
from .uploads import import_for_job

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
    result = import_for_job(job, payloads, job.params)
    snap = result.snapshot
    finish(job.pk, {"snapshot": snap.pk, "number": snap.number, "cluster": job.cluster_id,
                    "counts": result.counts, "skipped": result.skipped, "warnings": result.warnings},
           f"done: snapshot #{snap.number}", progress_current=1)

