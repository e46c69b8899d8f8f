"""Batch jobs: trace every request of a list (the contract's `--batch` lines) on one snapshot, in order.

A bad request does not stop the batch: its line gets `{"error": …, "line": N}` (as `manage.py trace
--batch` prints it) and the batch goes on.
"""
from __future__ import annotations

import time
from collections import Counter

from topology.compile import load_model
from tracer.choices import JobKind
from tracer.engine.errors import BadRequest, TracerError
from tracer.engine.flow import parse_flow_request
from tracer.engine.trace import trace
from tracer.models import Job, JobOutput
from tracer.services import normalize_request

from .lifecycle import BEAT_SECONDS, beat, common_params, finish, save_output

__all__ = ["MAX_BATCH_REQUESTS", "params", "run", "results"]

MAX_BATCH_REQUESTS = 100_000
KIND = JobKind.BATCH


def params(requests: list[dict], *, time_limit: int | None = None) -> dict:
    """The job's parameters, validated (BadRequest names what is wrong)."""
    if not isinstance(requests, list) or not requests:
        raise BadRequest("a batch needs a non-empty list of trace requests ({from, to, port, protocol, via})")
    if len(requests) > MAX_BATCH_REQUESTS:
        raise BadRequest(f"a batch holds at most {MAX_BATCH_REQUESTS} requests, not {len(requests)}")
    return {"requests": requests, **common_params(time_limit)}


def results(job: Job) -> list[dict] | None:
    """The batch's results in request order; None until the batch is done."""
    out = JobOutput.objects.filter(job=job, name="results").first()
    return None if out is None else out.data


def run(job: Job) -> None:
    requests = job.params.get("requests", [])
    model = load_model(job.snapshot_id)
    results, verdicts = [], Counter()
    last = time.monotonic()
    for n, req in enumerate(requests, start=1):
        try:
            flow, assumptions = parse_flow_request(normalize_request(req))
            out = trace(model, flow, assumptions).to_dict()
            verdicts[out["verdict"]] += 1
        except TracerError as exc:
            out = {"error": str(exc), "line": n}
            verdicts["error"] += 1
        results.append(out)
        if time.monotonic() - last >= BEAT_SECONDS:
            beat(job.pk, f"traced {n} of {len(requests)}", current=n)
            last = time.monotonic()
    save_output(job, "results", results)
    finish(job.pk, {"count": len(results), "verdicts": dict(verdicts)}, f"done: {len(results)} traces",
           progress_current=len(requests))
