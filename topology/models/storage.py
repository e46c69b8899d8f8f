"""Storage objects of a snapshot: PersistentVolumeClaims, PersistentVolumes, StorageClasses (semantics I1–I3)."""
from __future__ import annotations

from django.db import models

from tracer.engine import model as m

from .base import SnapshotObject, name_field, text_field
from .cluster import Snapshot

__all__ = ["PersistentVolumeClaim", "PersistentVolume", "StorageClass"]


class PersistentVolumeClaim(SnapshotObject):
    DATACLASS = m.PersistentVolumeClaim
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="claims")
    namespace = name_field()
    name = name_field()
    storage_class = models.CharField(max_length=253, null=True, blank=True)  # None ⇒ not set (default class)
    access_modes = models.JSONField(default=list)
    volume_name = text_field()
    phase = models.CharField(max_length=40, default="Pending")
    labels = models.JSONField(default=dict)
    owner_kind = text_field()
    owner_name = text_field()
    created = text_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"], name="pvc_unique")]


class PersistentVolume(SnapshotObject):
    DATACLASS = m.PersistentVolume
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="persistent_volumes")
    name = name_field()
    storage_class = text_field()
    access_modes = models.JSONField(default=list)
    claim_namespace = text_field()
    claim_name = text_field()
    phase = models.CharField(max_length=40, default="Available")
    kind = text_field()
    source = models.JSONField(default=dict)
    labels = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "name"], name="pv_unique")]


class StorageClass(SnapshotObject):
    DATACLASS = m.StorageClass
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="storage_classes")
    name = name_field()
    provisioner = text_field()
    is_default = models.BooleanField(default=False)
    volume_binding_mode = models.CharField(max_length=40, default="Immediate")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "name"], name="storageclass_unique")]
