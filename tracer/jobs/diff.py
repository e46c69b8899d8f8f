"""Diff (what-if) jobs: the matrix cells that change from a base snapshot to a candidate.

The candidate is a snapshot, or uploaded manifests the worker first imports as a new snapshot of the
base's cluster. Both snapshots are planned, the plans merged, and the merged cells compared in chunks
(chunks.py): both sides' cells come from their matrix columns (reach_columns, the same cells a matrix job
stores), compared column by column; only cells that change are stored, each with both full traces.
"""
from __future__ import annotations

from django.db.models import Count

from topology.compile import load_model
from tracer.choices import JobKind
from tracer.engine.errors import BadRequest
from tracer.engine.reach import classify_change, compute_cell, merge_plans, plan
from tracer.engine.reach_columns import column_evaluator
from tracer.models import Job, JobChunk, JobOutput, JobUpload, MatrixCell

from .chunks import DEFAULT_CELLS_PER_CHUNK, ChunkHandlers, plan_chunks, stored_plan
from .lifecycle import Beater, beat, bounded_int, common_params, save_output
from .matrix import write_cells
from .uploads import import_for_job

__all__ = ["params", "run", "compute_chunk", "finalize", "HANDLERS", "cell_traces"]

_CHANGE_BATCH = 100  # changed cells carry two traces each: write them in smaller batches


def params(base, candidate=None, *, uploads=None, materialize: bool = False, nodes: int = 3,
           namespace: str = "default", cells_per_chunk: int | None = None, time_limit: int | None = None) -> dict:
    """The job's parameters, validated (BadRequest names what is wrong)."""
    if candidate is None and not uploads:
        raise BadRequest("a diff needs a candidate: a snapshot or uploaded manifests")
    if candidate is not None and candidate.cluster_id != base.cluster_id:
        raise BadRequest("base and candidate snapshots must belong to the same cluster")
    if candidate is not None and candidate.pk == base.pk:
        raise BadRequest("base and candidate are the same snapshot: nothing can change")
    return {"base": base.pk, "services": True, "pods": True,
            "cells_per_chunk": bounded_int({"c": cells_per_chunk}, "c", DEFAULT_CELLS_PER_CHUNK, 1, 1_000_000),
            "import": {"materialize": bool(materialize), "nodes": int(nodes), "namespace": namespace},
            **common_params(time_limit)}


def _import_candidate(job: Job):
    payloads = [(u.name, bytes(u.data)) for u in JobUpload.objects.filter(job=job).order_by("position")]
    opts = job.params.get("import", {})
    beat(job.pk, f"importing the candidate manifests ({len(payloads)} file(s))")
    result = import_for_job(job, payloads, opts)  # cancel stops it; the job records the snapshot atomically
    job.snapshot = result.snapshot
    job.snapshot_id = result.snapshot.pk
    return result.snapshot


def run(job: Job) -> None:
    """Import the candidate if uploaded, plan both snapshots (once), then run or publish the chunks."""
    if job.snapshot_id is None:
        _import_candidate(job)
    if not JobOutput.objects.filter(job=job, name="plan").exists():
        beat(job.pk, "planning: classes of both snapshots")
        services, pods = job.params.get("services", True), job.params.get("pods", True)
        base = plan(load_model(job.params["base"]), services=services, pods=pods)
        cand = plan(load_model(job.snapshot_id), services=services, pods=pods)
        save_output(job, "base", base.to_dict())
        save_output(job, "candidate", cand.to_dict())
        save_output(job, "plan", merge_plans(base, cand).to_dict())
    p = stored_plan(job, "plan")
    plan_chunks(job, len(p.sources), len(p.destinations), HANDLERS)


def compute_chunk(job: Job, chunk: JobChunk) -> int:
    """Compare the chunk's cells on both snapshots, column by column; store those that change (with both
    full traces, computed for changed cells only). Returns cells compared."""
    merged = stored_plan(job, "plan")
    base_plan, cand_plan = stored_plan(job, "base"), stored_plan(job, "candidate")
    base_model, cand_model = load_model(job.params["base"]), load_model(job.snapshot_id)
    sides = []
    for model, side in ((base_model, base_plan), (cand_model, cand_plan)):
        ev = column_evaluator(model, None, side)
        src = {s.key: k for k, s in enumerate(side.sources)}
        dst = {d.key: k for k, d in enumerate(side.destinations)}
        sides.append((model, side, ev, src, dst))
    rows_range = range(chunk.start, min(chunk.end, len(merged.sources)))
    beater, rows, compared = Beater(job.pk), [], 0
    for j, dest in enumerate(merged.destinations):
        cols = [ev.column(dst[dest.key]).codes if dest.key in dst else None for _, _, ev, _, dst in sides]
        for i in rows_range:
            key = merged.sources[i].key
            got = []
            for (_, _, ev, src, _), col in zip(sides, cols, strict=True):
                k = src.get(key)
                got.append(None if col is None or k is None else ev.book.entries[int(col[k])])
            compared += 1
            change = classify_change(got[0], got[1])
            if change:
                b, c = (compute_cell(model, side.sources[src[key]], side.destinations[dst[dest.key]],
                                     keep_result=True) if cell is not None else None
                        for (model, side, _, src, dst), cell in zip(sides, got, strict=True))
                rows.append(MatrixCell(
                    job_id=job.pk, source=i, destination=j, change=change,
                    verdict=got[1][0] if c else "", reason=((got[1][1] if c else "") or "")[:200],
                    request=c.request if c else None, trace=c.result if c else None,
                    base_verdict=got[0][0] if b else "", base_reason=((got[0][1] if b else "") or "")[:200],
                    base_request=b.request if b else None, base_trace=b.result if b else None))
                if len(rows) >= _CHANGE_BATCH:
                    write_cells(rows)
        beater.tick()
    write_cells(rows)
    return compared


def finalize(job: Job) -> tuple[dict, str]:
    """How many cells were compared and how many change, per kind of change."""
    p = stored_plan(job, "plan")
    changes = dict(MatrixCell.objects.filter(job_id=job.pk).values_list("change").annotate(n=Count("id")).order_by())
    result = {"base_snapshot": job.params["base"], "candidate_snapshot": job.snapshot_id,
              "sources": len(p.sources), "destinations": len(p.destinations),
              "compared": len(p.sources) * len(p.destinations), "changed": sum(changes.values()),
              "changes": changes}
    return result, f"done: {result['changed']} of {result['compared']} cells change"


def cell_traces(job: Job, cell: MatrixCell) -> dict:
    """A changed cell's two stored traces: on the base and on the candidate snapshot."""
    return {"change": cell.change,
            "base": {"snapshot": job.params.get("base"), "request": cell.base_request, "result": cell.base_trace},
            "candidate": {"snapshot": job.snapshot_id, "request": cell.request, "result": cell.trace}}


HANDLERS = ChunkHandlers(compute=compute_chunk, finalize=finalize)
KIND = JobKind.DIFF
