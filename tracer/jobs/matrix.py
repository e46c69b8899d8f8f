"""Matrix jobs: the reachability of every source class to every destination of one snapshot.

Planned once in the job's first task (pods grouped into classes, `reach.plan`), then computed in
chunks of destination columns (chunks.py); each chunk stores one `MatrixBlock` — a compressed byte per
cell plus its namespace × namespace counts (tracer/matrix_store.py) — never a row per cell. Jobs stored
before columns (`MatrixCell` rows) stay readable: the API and the CLI read whichever a job has.
"""
from __future__ import annotations

from django.db.models import Count

from topology.compile import load_model
from tracer import matrix_store
from tracer.choices import JobKind
from tracer.engine.errors import BadRequest
from tracer.engine.reach import plan, request_flow
from tracer.engine.trace import trace
from tracer.models import Job, JobChunk, JobOutput, MatrixCell

from .chunks import ChunkHandlers, plan_chunks, stored_plan
from .lifecycle import Beater, beat, bounded_int, common_params, save_output

__all__ = ["CELL_BATCH", "params", "run", "compute_chunk", "finalize", "HANDLERS", "write_cells", "cell_trace",
           "CELLS_PER_CHUNK"]

CELL_BATCH = 500
CELLS_PER_CHUNK = 500_000  # a chunk is a block of whole columns: ~0.5 MB of codes before compression


def params(*, services: bool = True, pods: bool = True, cells_per_chunk: int | None = None,
           time_limit: int | None = None) -> dict:
    """The job's parameters, validated (BadRequest names what is wrong)."""
    if not (services or pods):
        raise BadRequest("a matrix needs destinations: services, pods or both")
    return {"services": bool(services), "pods": bool(pods),
            "cells_per_chunk": bounded_int({"c": cells_per_chunk}, "c", CELLS_PER_CHUNK, 1, 1_000_000),
            **common_params(time_limit)}


def run(job: Job) -> None:
    """Plan (once: a requeued job reuses the stored plan), then run or publish the chunks."""
    if job.snapshot_id is None:
        raise BadRequest("a matrix job needs a snapshot")
    if not JobOutput.objects.filter(job=job, name="plan").exists():
        beat(job.pk, "planning: grouping pods into classes")
        model = load_model(job.snapshot_id)
        # a large matrix merges senders and receiving pods on what policy can read (reach.plan, project=None)
        p = plan(model, services=job.params.get("services", True), pods=job.params.get("pods", True),
                 project=None)
        save_output(job, "plan", p.to_dict())
    p = stored_plan(job, "plan")
    plan_chunks(job, len(p.sources), len(p.destinations), HANDLERS, by="destinations")


def write_cells(rows: list[MatrixCell]) -> None:
    if rows:
        MatrixCell.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CELL_BATCH)
        rows.clear()


def compute_chunk(job: Job, chunk: JobChunk) -> int:
    """The chunk's destination columns [start, end) for every source class, stored as one block."""
    model = load_model(job.snapshot_id)
    p = stored_plan(job, "plan")
    beater = Beater(job.pk)
    return matrix_store.compute_block(model, p, job.pk, chunk.index, chunk.start, chunk.end, tick=beater.tick)


def finalize(job: Job) -> tuple[dict, str]:
    """Counts per verdict and reason (from the blocks' aggregates), storage facts and the plan's assumptions."""
    p = stored_plan(job, "plan")
    cells = MatrixCell.objects.filter(job_id=job.pk)
    if not cells.exists():
        verdicts, reasons, traced, stored = matrix_store.totals(job, p)
        matrix_store.prepare_overview(job, p)
        storage = {"format": "columns", "bytes": stored, "traced_cells": traced}
    else:  # a job whose chunks were written as rows by an older release
        verdicts = dict(cells.values_list("verdict").annotate(n=Count("id")).order_by())
        reasons = dict(cells.exclude(reason="").values_list("reason").annotate(n=Count("id")).order_by())
        storage = {"format": "rows"}
    result = {"snapshot": job.snapshot_id, "sources": len(p.sources), "destinations": len(p.destinations),
              "cells": sum(verdicts.values()), "verdicts": verdicts, "reasons": reasons,
              "assumptions": list(p.assumptions), "storage": storage}
    return result, f"done: {result['cells']} cells ({len(p.sources)} source classes × {len(p.destinations)} destinations)"


def cell_trace(job: Job, cell) -> dict:
    """The full trace behind a cell (a `MatrixCell` or a cell dict of matrix_store), computed now: the same
    flow `manage.py trace` would run."""
    req = cell["request"] if isinstance(cell, dict) else cell.request
    result = trace(load_model(job.snapshot_id), request_flow(req)).to_dict()  # with a route's via/headers
    return {"snapshot": job.snapshot_id, "request": req, "result": result}


HANDLERS = ChunkHandlers(compute=compute_chunk, finalize=finalize)
KIND = JobKind.MATRIX
