"""Cluster and Snapshot: the two rows every other topology row hangs from."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = ["Cluster", "ClusterInvitation", "Snapshot"]


class Cluster(models.Model):
    """A named cluster. Owned by a user (private by default) or by nobody (created from the CLI)."""

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="clusters")
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_clusters")
    description = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="cluster_unique_name_per_owner"),
            models.UniqueConstraint(fields=["name"], condition=Q(owner__isnull=True),
                                    name="cluster_unique_name_without_owner"),
        ]

    def __str__(self) -> str:
        return self.name

    def latest_snapshot(self) -> Snapshot | None:
        return self.snapshots.order_by("-number").first()


class ClusterInvitation(models.Model):
    """An invitation to become a teammate of a cluster, waiting for the invitee to accept or decline.

    Why by username, not by user: the owner types a name, and the answer must be the same whether or not
    that account exists (no user enumeration through sharing). An invitation for a name nobody has is
    simply never accepted. Nobody reads a cluster before accepting (topology.sharing).
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="invitations")
    username = models.CharField(max_length=150)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["cluster", "username"], name="invitation_unique_per_cluster")]
        indexes = [models.Index(fields=["username"], name="invitation_username")]

    def __str__(self) -> str:
        return f"{self.username} → {self.cluster_id}"


class Snapshot(models.Model):
    """One import of a cluster's state. Immutable: re-importing creates a new snapshot."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="snapshots")
    number = models.PositiveIntegerField()  # 1, 2, 3 … within the cluster
    created = models.DateTimeField(auto_now_add=True)
    source = models.TextField(blank=True, default="")  # file names / "upload" / "api"
    content_hash = models.CharField(max_length=64, blank=True, default="")  # sha256 of the input bytes
    counts = models.JSONField(default=dict)  # objects per kind
    skipped = models.JSONField(default=dict)  # unknown kinds → how many documents
    warnings = models.JSONField(default=list)
    materialized = models.BooleanField(default=False)
    cluster_domain = models.CharField(max_length=253, default="cluster.local")
    # Bytes of the imported files: what the snapshot costs its cluster's owner (TRACER_USER_STORAGE_LIMIT).
    # 0 for snapshots imported before it was recorded.
    input_bytes = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["cluster_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["cluster", "number"], name="snapshot_unique_number")]

    def __str__(self) -> str:
        return f"{self.cluster.name}#{self.number}"
