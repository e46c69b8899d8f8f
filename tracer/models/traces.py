"""Stored traces, pinned to the snapshot they were computed on (like NetBox's CablePath)."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

__all__ = ["Trace", "TraceObject", "new_share_slug"]


def new_share_slug() -> str:
    """An unguessable share slug: 32 bytes (256 bits) of randomness, URL-safe."""
    return secrets.token_urlsafe(32)


class Trace(models.Model):
    VERDICTS = [("delivered", "delivered"), ("dropped", "dropped"), ("partial", "partial")]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="traces")
    snapshot = models.ForeignKey("topology.Snapshot", on_delete=models.CASCADE, related_name="traces")
    request = models.JSONField()  # {from, to, port, protocol, via, assumptions}
    result = models.JSONField()  # the contract's result, with schema_version
    verdict = models.CharField(max_length=16, choices=VERDICTS, db_index=True)
    reason = models.CharField(max_length=64, blank=True, default="", db_index=True)
    source = models.CharField(max_length=512)
    destination = models.CharField(max_length=1024)
    # Sharing is a decision: no slug until someone presses Share (tracer.services.mint_share), and a link
    # lives only while the person who shared it may still read the cluster (services.find_shared).
    share_slug = models.CharField(max_length=64, null=True, blank=True, unique=True)
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    shared_at = models.DateTimeField(null=True, blank=True)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.source} → {self.destination}: {self.verdict}"


class TraceObject(models.Model):
    """An object a trace passed through, to find the traces that touch an object."""

    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="passed_through")
    kind = models.CharField(max_length=64)
    namespace = models.CharField(max_length=253, blank=True, default="")
    name = models.CharField(max_length=253)

    class Meta:
        indexes = [models.Index(fields=["kind", "namespace", "name"])]
        constraints = [models.UniqueConstraint(fields=["trace", "kind", "namespace", "name"],
                                               name="traceobject_unique")]
