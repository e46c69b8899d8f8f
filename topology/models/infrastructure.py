"""Namespaces and nodes of a snapshot."""
from __future__ import annotations

from django.db import models

from tracer.engine import model as m

from .base import SnapshotObject, name_field, text_field
from .cluster import Snapshot

__all__ = ["Namespace", "Node"]


class Namespace(SnapshotObject):
    DATACLASS = m.Namespace
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="namespaces")
    name = name_field()
    labels = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "name"], name="namespace_unique")]


class Node(SnapshotObject):
    DATACLASS = m.Node
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="nodes")
    name = name_field()
    labels = models.JSONField(default=dict)
    addresses = models.JSONField(default=list)  # [[type, address], …]
    pod_cidrs = models.JSONField(default=list)
    zone = text_field()
    ready = models.BooleanField(default=True)
    unschedulable = models.BooleanField(default=False)
    kubelet_port = models.PositiveIntegerField(default=10250)  # status.daemonEndpoints.kubeletEndpoint.Port (H4)
    internal_ip = models.CharField(max_length=45, blank=True, default="")  # lookup only

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "name"], name="node_unique")]
        indexes = [models.Index(fields=["snapshot", "internal_ip"], name="node_ip_idx")]
