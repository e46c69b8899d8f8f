"""A matrix result as blocks of destination columns (tracer/matrix_blocks.py says the format and why).

One row per block of destinations, written by the chunk that computed it; unique on (job, index), so a
redelivered chunk is a no-op. Rows live as long as their job (deleted with it), so a result stays
addressable by its job's URL until the job is deleted.
"""
from __future__ import annotations

from django.db import models

__all__ = ["MatrixBlock"]


class MatrixBlock(models.Model):
    job = models.ForeignKey("tracer.Job", on_delete=models.CASCADE, related_name="blocks")
    index = models.PositiveIntegerField()  # the chunk's index
    start = models.PositiveIntegerField()  # destinations [start, end)
    end = models.PositiveIntegerField()
    sources = models.PositiveIntegerField()  # cells per column
    data = models.BinaryField()  # zlib(uint8[unique columns, sources])
    slots = models.JSONField(default=list)  # per destination: its column in `data`
    book = models.JSONField(default=list)  # code → [verdict, reason]
    aggregates = models.JSONField(default=dict)  # "SRC_NS\tDST_NS" → {"verdict\treason": cells}
    traced = models.PositiveIntegerField(default=0)  # cells that needed a full trace

    class Meta:
        ordering = ["job_id", "start"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="matrixblock_unique_index")]

    def __str__(self) -> str:
        return f"matrix block {self.index} of job {self.job_id} (destinations {self.start}–{self.end})"
