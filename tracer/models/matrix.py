"""Rows that chunked jobs write: chunks (progress + idempotency), matrix cells, job outputs, uploads.

Why rows and not one big JSON result: several workers write one matrix at once, each chunk in its
own transaction; unique constraints make a redelivered chunk (worker killed after writing, broker
redelivery) a no-op instead of duplicate rows, and the API pages through cells with filters.
"""
from __future__ import annotations

from django.db import models

from tracer.choices import ChunkState

__all__ = ["JobChunk", "MatrixCell", "JobOutput", "JobUpload"]


class JobChunk(models.Model):
    """One slice of a chunked job: the sources [start, end) of a matrix or diff."""

    STATES = ChunkState.choices

    job = models.ForeignKey("tracer.Job", on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=STATES, default=ChunkState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    cells = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True, default="")  # the worker that finished it
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="jobchunk_unique_index")]
        indexes = [models.Index(fields=["job", "state"])]

    def __str__(self) -> str:
        return f"chunk {self.index} of job {self.job_id} ({self.state})"


class MatrixCell(models.Model):
    """One (source class, destination) cell. `source`/`destination` index the job's stored plan.

    For a diff job only the cells that change are stored, with both sides and their full traces.
    """

    job = models.ForeignKey("tracer.Job", on_delete=models.CASCADE, related_name="cells")
    source = models.PositiveIntegerField()
    destination = models.PositiveIntegerField()
    verdict = models.CharField(max_length=16, blank=True, default="")  # "" ⇒ absent on this side (diff)
    reason = models.CharField(max_length=200, blank=True, default="")
    request = models.JSONField(null=True, blank=True)
    # diff only
    change = models.CharField(max_length=16, blank=True, default="")  # opened/closed/changed/added/removed
    base_verdict = models.CharField(max_length=16, blank=True, default="")
    base_reason = models.CharField(max_length=200, blank=True, default="")
    base_request = models.JSONField(null=True, blank=True)
    trace = models.JSONField(null=True, blank=True)
    base_trace = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "source", "destination"]
        constraints = [models.UniqueConstraint(fields=["job", "source", "destination"],
                                               name="matrixcell_unique_cell")]
        indexes = [models.Index(fields=["job", "verdict"]), models.Index(fields=["job", "destination"])]

    def __str__(self) -> str:
        return f"cell {self.source}×{self.destination} of job {self.job_id}: {self.verdict}"


class JobOutput(models.Model):
    """A named JSON document a job produced or planned (the matrix plan, batch results)."""

    job = models.ForeignKey("tracer.Job", on_delete=models.CASCADE, related_name="outputs")
    name = models.CharField(max_length=32)
    data = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="joboutput_unique_name")]


class JobUpload(models.Model):
    """Uploaded manifest bytes waiting for a background import (in the database, so that workers on
    other machines can read them; deleted once the import ran)."""

    job = models.ForeignKey("tracer.Job", on_delete=models.CASCADE, related_name="uploads")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=512)
    data = models.BinaryField()

    class Meta:
        ordering = ["job_id", "position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="jobupload_unique_position")]
