"""Background jobs: start, run, cancel, reap — the coordination the Celery tasks call.

Tasks are thin (tracer/tasks.py: take an id, call a function here). Everything a user sees lives in
our own `Job` row: state (queued → running → done | failed | cancelled), progress, result, error.

Where things live (each module imports only those listed before it):
- `queue`     — publishing by task name, time limits, the fast broker check (BrokerUnavailable → 503)
- `lifecycle` — create, claim, heartbeat, finish, fail, cancel: conditional UPDATEs on the Job row
- `reaper`    — requeue once / fail jobs whose worker stopped beating; republish lost messages
- `chunks`    — plan once, one task per chunk, the last chunk finalises (matrix and diff)
- one module per kind: `matrix`, `diff`, `batch`, `intents`, `imports` (params, run, chunk steps)
- `runner`    — run_job / run_chunk for the tasks, run_inline for the CLI and tests
- `enqueue`   — submit and enqueue_<kind>, and `import_or_enqueue` (a big upload becomes a job)

This package re-exports what callers outside it use; the job kinds (tracer.choices.JobKind) and states
(JobState) are in tracer/choices.py.
"""
from __future__ import annotations

from .batch import MAX_BATCH_REQUESTS
from .enqueue import (
    enqueue_batch,
    enqueue_diff,
    enqueue_import,
    enqueue_intents,
    enqueue_matrix,
    import_or_enqueue,
    submit,
)
from .intents import MAX_INTENTS
from .lifecycle import JobNotActive, JobStillActive, cancel, create, delete
from .queue import BrokerUnavailable, broker_check, queue_name
from .reaper import reap, reap_if_stale
from .runner import run_chunk, run_inline, run_job

__all__ = ["MAX_BATCH_REQUESTS", "MAX_INTENTS", "BrokerUnavailable", "JobNotActive", "JobStillActive", "broker_check",
           "cancel", "create", "delete", "enqueue_batch", "enqueue_diff", "enqueue_import", "enqueue_intents", "enqueue_matrix",
           "import_or_enqueue", "queue_name", "reap", "reap_if_stale", "run_chunk", "run_inline", "run_job", "submit"]
