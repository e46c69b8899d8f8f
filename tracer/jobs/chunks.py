"""Chunked jobs without a result backend: plan once, one task per chunk, the last chunk finalises.

A matrix or diff is planned once (`JobOutput` "plan"), split into `JobChunk` rows, and each chunk is
its own task (a plain group). A chunk writes its rows and flips its `JobChunk` to done in one
conditional UPDATE; the chunk that finds no other chunk left finalises the job with a conditional
UPDATE (`state=running` → done), so exactly one wins. That works the same on Redis and on the
filesystem broker, which has no result backend for chords.

Idempotent: a chunk that is already done is skipped and rows are inserted with `ignore_conflicts`,
so a redelivered or duplicated message costs time, never duplicate rows or double-counted progress.

What a chunk computes and how the job's result is summed up belong to the job kind (matrix.py,
diff.py); they hand their `ChunkHandlers` to the functions here.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import Count, F

from tracer.choices import ChunkState, JobState
from tracer.engine.reach import MatrixPlan, chunk_ranges
from tracer.models import Job, JobChunk, JobOutput

from .lifecycle import Stop, beat, fail, finish, now
from .queue import RUN_CHUNK, publish, time_limits

__all__ = ["DEFAULT_CELLS_PER_CHUNK", "MAX_CHUNK_ATTEMPTS", "ChunkHandlers", "stored_plan", "plan_data", "chunk_counts", "plan_chunks",
           "run_chunk", "running_inline"]

log = logging.getLogger(__name__)

MAX_CHUNK_ATTEMPTS = 3
DEFAULT_CELLS_PER_CHUNK = 250  # small enough that several workers share even a small matrix, and progress moves


@dataclass(frozen=True)
class ChunkHandlers:
    """A chunked kind's two steps: compute one chunk (→ units done), and the job's final (result, message)."""

    compute: Callable[[Job, JobChunk], int]
    finalize: Callable[[Job], tuple[dict, str]]


_INLINE: contextvars.ContextVar[bool] = contextvars.ContextVar("tracer_job_inline", default=False)


@contextlib.contextmanager
def running_inline():
    """Inside this block chunks run here, one after the other, instead of being published."""
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)


_PLANS: dict[tuple, MatrixPlan] = {}


def stored_plan(job: Job, name: str) -> MatrixPlan:
    """The stored plan, parsed once per process. Keyed by the job's id *and* creation time: a
    database that reuses ids (a restored backup, a test rolled back) must never get another job's plan."""
    key = (job.pk, job.created.isoformat() if job.created else "", name)
    plan = _PLANS.get(key)
    if plan is None:
        plan = MatrixPlan.from_dict(JobOutput.objects.get(job_id=job.pk, name=name).data)
        if len(_PLANS) > 8:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def plan_data(job: Job) -> dict | None:
    """The stored plan as JSON (the API's `plan`): None until the job has been planned."""
    out = JobOutput.objects.filter(job=job, name="plan").first()
    return None if out is None else out.data


def chunk_counts(job: Job) -> dict[str, int]:
    """Chunks by state: several workers share a matrix, so more than one may be running."""
    counts = dict(JobChunk.objects.filter(job=job).values_list("state").annotate(n=Count("id")).order_by())
    return {state: counts.get(state, 0) for state in ChunkState.values}


def plan_chunks(job: Job, n_sources: int, n_dests: int, handlers: ChunkHandlers, *, by: str = "sources") -> None:
    """Create the job's chunk rows (once) and run or publish every chunk not done yet. A chunk is a range
    of sources, or (`by="destinations"`: matrices, stored as columns) a range of destinations."""
    if not JobChunk.objects.filter(job=job).exists():
        per_chunk = job.params.get("cells_per_chunk", DEFAULT_CELLS_PER_CHUNK)
        ranges = ((chunk_ranges(n_dests, n_sources, per_chunk) if n_sources else []) if by == "destinations"
                  else chunk_ranges(n_sources, n_dests, per_chunk))
        JobChunk.objects.bulk_create([JobChunk(job=job, index=i, start=a, end=b) for i, (a, b) in enumerate(ranges)],
                                     ignore_conflicts=True)
    total = JobChunk.objects.filter(job=job).count()
    done = JobChunk.objects.filter(job=job, state=ChunkState.DONE).count()
    Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
        progress_total=total, progress_current=done, heartbeat=now(),
        progress_message=f"{n_sources} source classes × {n_dests} destinations in {total} chunks")
    pending = list(JobChunk.objects.filter(job=job).exclude(state=ChunkState.DONE).values_list("index", flat=True))
    if not pending:
        _maybe_finalize(job.pk, handlers)
        return
    if _INLINE.get():
        for index in pending:  # `run_inline`: this process is the only worker
            run_chunk(job.pk, index, handlers, "inline")
        return
    for index in pending:
        publish(RUN_CHUNK, (job.pk, index), job)


def run_chunk(job_id: int, index: int, handlers: ChunkHandlers, worker: str = "") -> None:
    """Compute one chunk of a chunked job; the last chunk to finish finalises the job."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.state != JobState.RUNNING:
        return  # cancelled, failed, finished, or requeued (the new run dispatches chunks again)
    with transaction.atomic():
        chunk = JobChunk.objects.select_for_update().filter(job_id=job_id, index=index).first()
        if chunk is None or chunk.state == ChunkState.DONE:
            return
        if chunk.attempts >= MAX_CHUNK_ATTEMPTS:
            fail(job_id, f"chunk {index} was started {chunk.attempts} times and never finished "
                         "(its worker was lost each time)")
            return
        chunk.state, chunk.attempts, chunk.started = ChunkState.RUNNING, chunk.attempts + 1, now()
        chunk.save(update_fields=["state", "attempts", "started"])
    try:
        beat(job_id)
        count = handlers.compute(job, chunk)
    except Stop:
        return
    except SoftTimeLimitExceeded:
        fail(job_id, f"time limit: chunk {index} ran longer than {time_limits(job)['soft_time_limit']} s")
        return
    except Exception as exc:
        log.exception("job %s chunk %s crashed", job_id, index)
        fail(job_id, f"internal error in chunk {index}: {type(exc).__name__}: {exc}")
        return
    with transaction.atomic():
        flipped = JobChunk.objects.filter(pk=chunk.pk).exclude(state=ChunkState.DONE).update(
            state=ChunkState.DONE, finished=now(), cells=count, worker=(worker or "")[:255])
        if flipped:
            Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(
                progress_current=F("progress_current") + 1, heartbeat=now(),
                progress_message=f"chunk {index + 1} of {job.progress_total or '?'} done ({count} cells)")
    _maybe_finalize(job_id, handlers)


def _maybe_finalize(job_id: int, handlers: ChunkHandlers) -> None:
    if JobChunk.objects.filter(job_id=job_id).exclude(state=ChunkState.DONE).exists():
        return
    job = Job.objects.filter(pk=job_id, state=JobState.RUNNING).first()
    if job is None:
        return
    total = JobChunk.objects.filter(job_id=job_id).count()
    result, message = handlers.finalize(job)
    finish(job_id, result, message, progress_current=total, progress_total=total)
