"""Batch jobs: trace every request of a list (the contract's `--batch` lines) on one snapshot, in order.

A bad request does not stop the batch: its line gets `{"error": …, "line": N}` (as `manage.py trace
--batch` prints it) and the batch goes on.

Results are stored as they come, in chunks (`BatchResultChunk`: at most CHUNK_LINES results and about
CHUNK_BYTES of JSON lines a row), never as one value: a 100,000-line batch is ~750 MB of JSON. A worker holds
one chunk in memory; a requeued job (its worker was lost) resumes after the last stored chunk; the API streams
the chunks back one at a time (`iter_lines`).
"""
from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator

from django.db.models import F, Sum

from topology.compile import load_model
from tracer.choices import JobKind
from tracer.engine.errors import BadRequest, TracerError
from tracer.engine.flow import parse_flow_request
from tracer.engine.trace import trace
from tracer.models import BatchResultChunk, Job

from .lifecycle import BEAT_SECONDS, beat, common_params, finish

__all__ = ["MAX_BATCH_REQUESTS", "CHUNK_LINES", "CHUNK_BYTES", "params", "run", "result_count", "iter_lines"]

MAX_BATCH_REQUESTS = 100_000
CHUNK_LINES = 500  # results a chunk: ~200 rows for the largest batch, each small enough to write in one go
CHUNK_BYTES = 4 * 1024 * 1024  # a chunk closes before passing this (a single larger result gets a chunk alone)
KIND = JobKind.BATCH


def params(requests: list[dict], *, time_limit: int | None = None) -> dict:
    """The job's parameters, validated (BadRequest names what is wrong)."""
    if not isinstance(requests, list) or not requests:
        raise BadRequest("a batch needs a non-empty list of trace requests ({from, to, port, protocol, via})")
    if len(requests) > MAX_BATCH_REQUESTS:
        raise BadRequest(f"a batch holds at most {MAX_BATCH_REQUESTS} requests, not {len(requests)}")
    return {"requests": requests, **common_params(time_limit)}


class _ChunkWriter:
    """Buffers result lines and writes a `BatchResultChunk` whenever the buffer reaches the chunk bound."""

    def __init__(self, job: Job):
        stored = BatchResultChunk.objects.filter(job=job)
        self.job, self.index = job, stored.count()
        self.first = stored.aggregate(n=Sum("count"))["n"] or 0  # results already stored by an earlier attempt
        self.lines: list[str] = []
        self.size = 0

    def add(self, result: dict) -> None:
        line = json.dumps(result, sort_keys=True) + "\n"
        if self.lines and (len(self.lines) >= CHUNK_LINES or self.size + len(line) > CHUNK_BYTES):
            self.flush()
        self.lines.append(line)
        self.size += len(line)

    def flush(self) -> None:
        if not self.lines:
            return
        # ignore_conflicts: a duplicate worker that wrote this chunk first wins; the rows are the same results
        BatchResultChunk.objects.bulk_create([BatchResultChunk(
            job=self.job, index=self.index, first_line=self.first, count=len(self.lines), lines="".join(self.lines))],
            ignore_conflicts=True)
        self.index, self.first = self.index + 1, self.first + len(self.lines)
        self.lines, self.size = [], 0


def _stored_verdicts(job: Job) -> Counter:
    """Verdict counts of results an earlier attempt already stored (read once, when resuming)."""
    verdicts: Counter = Counter()
    for text in BatchResultChunk.objects.filter(job=job).values_list("lines", flat=True).iterator(chunk_size=4):
        for line in text.splitlines():
            out = json.loads(line)
            verdicts["error" if "error" in out else out.get("verdict")] += 1
    return verdicts


def run(job: Job) -> None:
    requests = job.params.get("requests", [])
    model = load_model(job.snapshot_id)
    writer = _ChunkWriter(job)
    verdicts = _stored_verdicts(job) if writer.first else Counter()
    last = time.monotonic()
    for n in range(writer.first + 1, len(requests) + 1):
        try:
            flow, assumptions = parse_flow_request(requests[n - 1])
            out = trace(model, flow, assumptions).to_dict()
            verdicts[out["verdict"]] += 1
        except TracerError as exc:
            out = {"error": str(exc), "line": n}
            verdicts["error"] += 1
        writer.add(out)
        if time.monotonic() - last >= BEAT_SECONDS:
            beat(job.pk, f"traced {n} of {len(requests)}", current=n)
            last = time.monotonic()
    writer.flush()
    finish(job.pk, {"count": len(requests), "verdicts": dict(verdicts)}, f"done: {len(requests)} traces",
           progress_current=len(requests))


def result_count(job: Job) -> int:
    """How many results are stored (all of them once the job is done)."""
    return BatchResultChunk.objects.filter(job=job).aggregate(n=Sum("count"))["n"] or 0


def iter_lines(job: Job, offset: int = 0, limit: int | None = None) -> Iterator[str]:
    """Results [offset, offset + limit) as JSON lines, in request order, reading one chunk at a time."""
    end = None if limit is None else offset + limit
    chunks = BatchResultChunk.objects.filter(job=job).alias(end_line=F("first_line") + F("count"))\
        .filter(end_line__gt=offset)
    if end is not None:
        chunks = chunks.filter(first_line__lt=end)
    rows = chunks.order_by("index").values_list("first_line", "count", "lines").iterator(chunk_size=2)
    for first, count, text in rows:
        lo = max(0, offset - first)
        hi = count if end is None else min(count, end - first)
        if lo == 0 and hi == count:
            yield text
        else:
            yield "".join(text.splitlines(keepends=True)[lo:hi])


def iter_json(job: Job, offset: int = 0, limit: int | None = None, next_url: str | None = None) -> Iterator[str]:
    """The results endpoint's JSON document, written piece by piece:
    {"job", "count", "offset", "limit", "next", "results": [...]} with the results of [offset, offset + limit)."""
    head = {"job": job.pk, "count": result_count(job), "offset": offset, "limit": limit, "next": next_url}
    yield json.dumps(head)[:-1] + ', "results": ['
    first = True
    for text in iter_lines(job, offset, limit):
        body = text.rstrip("\n").replace("\n", ",")
        if body:
            yield body if first else "," + body
            first = False
    yield "]}\n"
