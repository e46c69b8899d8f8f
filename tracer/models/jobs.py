"""Background jobs, in our own table (Celery result backends expire; we keep the history)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from tracer.choices import ACTIVE_JOB_STATES, JobKind, JobState

__all__ = ["Job"]


class Job(models.Model):
    KINDS = JobKind.choices
    STATES = JobState.choices
    ACTIVE_STATES = ACTIVE_JOB_STATES

    kind = models.CharField(max_length=16, choices=KINDS)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="jobs")
    cluster = models.ForeignKey("topology.Cluster", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="jobs")
    snapshot = models.ForeignKey("topology.Snapshot", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="jobs")
    params = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=STATES, default=JobState.QUEUED, db_index=True)
    progress_current = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_message = models.CharField(max_length=512, blank=True, default="")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    celery_task_id = models.CharField(max_length=64, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["state", "heartbeat"])]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.state})"
