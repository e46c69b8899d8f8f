"""Saved tests (GCP Connectivity Tests): a named trace request pinned to a cluster, re-run on demand.

Why on the server: a test is a team's check ("web can still reach the database"), so it must be the same
list for every teammate and every machine. Access follows the cluster like traces (tracer.savedtests).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["SavedTest"]


class SavedTest(models.Model):
    cluster = models.ForeignKey("topology.Cluster", on_delete=models.CASCADE, related_name="saved_tests")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="saved_tests")
    name = models.CharField(max_length=200)
    request = models.JSONField()  # the normalised trace request, as stored on a Trace
    # The trace of its last run: the next run is compared with it ("what changed").
    last_trace = models.ForeignKey("tracer.Trace", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="savedtest_unique_name")]

    def __str__(self) -> str:
        return self.name
