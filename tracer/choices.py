"""The tracer app's enumerations: job kinds, job states, chunk states (one place, no string literals).

Why TextChoices: the stored values stay the plain strings the API and the database already use
("queued", "matrix", …), so no data migration is needed, while code compares against names that a
typo cannot silently miss.
"""
from __future__ import annotations

from django.db import models

__all__ = ["JobKind", "JobState", "ChunkState", "ACTIVE_JOB_STATES", "CHUNKED_KINDS"]


class JobKind(models.TextChoices):
    MATRIX = "matrix", "reachability matrix"
    DIFF = "diff", "snapshot diff"
    BATCH = "batch", "batch traces"
    IMPORT = "import", "background import"
    INTENTS = "intents", "intent check"


class JobState(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


class ChunkState(models.TextChoices):
    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    DONE = "done", "done"


#: A job in one of these states may still change (run, be cancelled, be reaped).
ACTIVE_JOB_STATES = (JobState.QUEUED, JobState.RUNNING)

#: Kinds split into `JobChunk` rows over a stored plan (each chunk its own task).
CHUNKED_KINDS = (JobKind.MATRIX, JobKind.DIFF)
