"""Secrets of a snapshot: identity and key names only, never a value."""
from __future__ import annotations

from django.db import models

from tracer.engine import model as m

from .base import SnapshotObject, name_field, text_field
from .cluster import Snapshot

__all__ = ["Secret"]


class Secret(SnapshotObject):
    """A Secret's identity and key names. There is deliberately no column that could hold a value."""

    DATACLASS = m.Secret
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="secrets")
    namespace = name_field()
    name = name_field()
    type = text_field()
    keys = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"],
                                               name="secret_unique")]
