"""`python -m tests.integration.paused_worker <celery arguments>`: a real Celery worker for the worker tests,
whose every matrix/diff chunk first waits TRACER_TEST_CHUNK_PAUSE seconds.

Why: progress, kills and cancels must land in the middle of a job, and a chunk of the test cluster
takes milliseconds. The pause is installed here, in the test harness, by wrapping the chunk handlers
the runner dispatches to — production code has no hook for it. The worker's pool processes are forked
from this process after the wrap, so they all carry it.
"""
from __future__ import annotations

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from celery.__main__ import main  # noqa: E402  (after django.setup(): the job code imports models)

from tracer.jobs import runner  # noqa: E402
from tracer.jobs.chunks import ChunkHandlers  # noqa: E402


def paused(handlers: ChunkHandlers, seconds: float) -> ChunkHandlers:
    def compute(job, chunk):
        time.sleep(seconds)
        return handlers.compute(job, chunk)

    return ChunkHandlers(compute=compute, finalize=handlers.finalize)


if __name__ == "__main__":
    pause = float(os.environ.get("TRACER_TEST_CHUNK_PAUSE") or 0)
    if pause > 0:
        for kind, handlers in list(runner.CHUNK_HANDLERS.items()):
            runner.CHUNK_HANDLERS[kind] = paused(handlers, pause)
    sys.argv = ["celery", *sys.argv[1:]]
    sys.exit(main())
