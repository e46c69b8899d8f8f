"""Ingresses and IngressClasses of a snapshot."""
from __future__ import annotations

from django.db import models

from tracer.engine import model as m

from .base import SnapshotObject, name_field, text_field
from .cluster import Snapshot

__all__ = ["Ingress", "IngressClass"]


class Ingress(SnapshotObject):
    DATACLASS = m.Ingress
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="ingresses")
    namespace = name_field()
    name = name_field()
    class_name = text_field()
    annotations = models.JSONField(default=dict)
    rules = models.JSONField(default=list)
    default_backend = models.JSONField(null=True, blank=True)
    tls = models.JSONField(default=list)
    created = text_field()
    status_addresses = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"],
                                               name="ingress_unique")]


class IngressClass(SnapshotObject):
    DATACLASS = m.IngressClass
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="ingress_classes")
    name = name_field()
    controller = text_field()
    is_default = models.BooleanField(default=False)
    parameters = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "name"], name="ingressclass_unique")]
