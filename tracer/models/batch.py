"""Batch results in chunks: N result lines a row, written as the batch runs, read back as a stream.

Why not one JSON value: a 100,000-line batch is ~750 MB of JSON, more than PostgreSQL will allocate for
one value ("invalid memory alloc request size") and more than a worker or a web process should hold.
A chunk keeps its results as JSON lines — the contract's `--batch` output format — so the API streams
them out without decoding and re-encoding them.
"""
from __future__ import annotations

from django.db import models

__all__ = ["BatchResultChunk"]


class BatchResultChunk(models.Model):
    """Results [first_line, first_line + count) of a batch job, one JSON document a line, in request order."""

    job = models.ForeignKey("tracer.Job", on_delete=models.CASCADE, related_name="batch_chunks")
    index = models.PositiveIntegerField()
    first_line = models.PositiveIntegerField(help_text="0-based position of this chunk's first result")
    count = models.PositiveIntegerField()
    lines = models.TextField(help_text="`count` results as JSON lines (each ends with a newline)")

    class Meta:
        ordering = ["job_id", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="batchresultchunk_unique_index")]

    def __str__(self) -> str:
        return f"results {self.first_line}–{self.first_line + self.count - 1} of job {self.job_id}"
