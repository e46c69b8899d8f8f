"""Background jobs, in our own table (Celery result backends expire; we keep the history)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["Job"]


class Job(models.Model):
    KINDS = [("matrix", "reachability matrix"), ("diff", "snapshot diff"), ("batch", "batch traces"),
             ("import", "background import"), ("intents", "intent check")]
    STATES = [("queued", "queued"), ("running", "running"), ("done", "done"), ("failed", "failed"),
              ("cancelled", "cancelled")]
    ACTIVE_STATES = ("queued", "running")

    kind = models.CharField(max_length=16, choices=KINDS)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="jobs")
    cluster = models.ForeignKey("topology.Cluster", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="jobs")
    snapshot = models.ForeignKey("topology.Snapshot", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="jobs")
    params = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=STATES, default="queued", db_index=True)
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
