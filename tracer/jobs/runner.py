"""Running a job inside a worker (called by tracer/tasks.py), or here in this process (`run_inline`).

`run_job` claims the job (lifecycle.claim) and hands it to its kind's `run`; every way a run can end
badly becomes a failed job with a reason a person can act on — never a job stuck in "running".
"""
from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from tracer.choices import JobKind
from tracer.engine.errors import TracerError
from tracer.models import Job

from . import batch, diff, imports, intents, matrix
from .chunks import ChunkHandlers, running_inline
from .chunks import run_chunk as _run_chunk
from .lifecycle import Stop, claim, fail
from .queue import BrokerUnavailable, time_limits

__all__ = ["RUNNERS", "CHUNK_HANDLERS", "DatabaseLost", "run_job", "run_chunk", "run_inline"]

log = logging.getLogger(__name__)

RUNNERS = {JobKind.MATRIX: matrix.run, JobKind.DIFF: diff.run, JobKind.BATCH: batch.run,
           JobKind.INTENTS: intents.run, JobKind.IMPORT: imports.run}
CHUNK_HANDLERS: dict[str, ChunkHandlers] = {JobKind.MATRIX: matrix.HANDLERS, JobKind.DIFF: diff.HANDLERS}


class DatabaseLost(Exception):  # noqa: N818 — a signal to retry, raised with the database error as its cause
    """The database went away while a job ran (restart, failover): the task retries the job with backoff.

    Nothing is done twice: an import commits its snapshot together with the job's pointer to it (or rolls
    both back), and chunks are idempotent, so a retry picks up exactly where the committed state says."""


def run_job(job_id: int, resume: bool = False) -> None:
    job = claim(job_id, resume=resume)
    if job is None:
        return
    try:
        RUNNERS[job.kind](job)
    except Stop:
        pass
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseLost(f"job {job_id}: database unavailable ({type(exc).__name__}); retrying") from exc
    except MemoryError:
        fail(job.pk, "memory budget exceeded: the job needed more than this worker may use "
                     "(TRACER_WORKER_MEMORY_MB); run it on a smaller input or a worker with a larger budget")
    except SoftTimeLimitExceeded:
        fail(job.pk, f"time limit: the job ran longer than {time_limits(job)['soft_time_limit']} s and was stopped")
    except BrokerUnavailable as exc:
        fail(job.pk, str(exc))
    except TracerError as exc:  # bad input discovered by the worker (e.g. an invalid manifest)
        fail(job.pk, str(exc))
    except Exception as exc:
        log.exception("job %s crashed", job_id)
        fail(job.pk, f"internal error: {type(exc).__name__}: {exc}")


def run_chunk(job_id: int, index: int, worker: str = "") -> None:
    """One chunk of a matrix/diff job (the `tracer.run_chunk` task)."""
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    handlers = CHUNK_HANDLERS.get(kind)
    if handlers is None:
        return  # the job is gone (deleted) or not a chunked kind: nothing to do
    _run_chunk(job_id, index, handlers, worker)


def run_inline(job: Job) -> Job:
    """Run a queued job to the end in this process, chunks included — no broker, no worker.

    For the command line (`manage.py matrix --no-worker`, `check_intents`) and for tests of the job
    logic; it goes through exactly the same claim/chunk/finalise steps as a worker.
    """
    with running_inline():
        run_job(job.pk)
    job.refresh_from_db()
    return job
