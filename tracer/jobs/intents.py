"""Intent-check jobs: check a list of connectivity intents (tracer/intents.py) on one snapshot."""
from __future__ import annotations

import time

from topology.compile import load_model
from tracer.choices import JobKind
from tracer.engine.errors import BadRequest
from tracer.intents import check, parse_intent
from tracer.models import Job

from .lifecycle import BEAT_SECONDS, beat, common_params, finish

__all__ = ["MAX_INTENTS", "params", "run"]

MAX_INTENTS = 10_000
KIND = JobKind.INTENTS


def params(intents, *, time_limit: int | None = None) -> dict:
    """The job's parameters (tracer.intents.Intent list, already validated)."""
    if not intents:
        raise BadRequest("no intents to check")
    if len(intents) > MAX_INTENTS:
        raise BadRequest(f"at most {MAX_INTENTS} intents per check, not {len(intents)}")
    return {"intents": [i.to_dict() for i in intents], **common_params(time_limit)}


def run(job: Job) -> None:
    intents = [parse_intent({k: v for k, v in d.items() if k != "index" and v is not None}, d.get("index", i + 1))
               for i, d in enumerate(job.params.get("intents", []))]
    model = load_model(job.snapshot_id)
    state = {"last": time.monotonic()}

    def progress(n, total):
        if time.monotonic() - state["last"] >= BEAT_SECONDS or n == total:
            beat(job.pk, f"checked {n} of {total}", current=n)
            state["last"] = time.monotonic()

    report = check(model, intents, progress)
    finish(job.pk, report, f"done: {len(report['violations'])} violation(s) in {report['checked']} intents")
