"""Gateway API objects and the ingress controllers' own route objects of a snapshot (one table).

Why one table for a dozen kinds: the engine reads them as whole trees (`RouteObject.spec`, validated and
defaulted by the importer), never queries inside them, and compiles a snapshot at once; `kind` tells
them apart and is indexed for the API's listings.
"""
from __future__ import annotations

from django.db import models

from tracer.engine import model as m

from .base import SnapshotObject, name_field, text_field
from .cluster import Snapshot

__all__ = ["RouteObject"]


class RouteObject(SnapshotObject):
    DATACLASS = m.RouteObject
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="route_objects")
    kind = text_field(db_index=True)
    namespace = text_field()
    name = name_field()
    api_version = text_field()
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    spec = models.JSONField(default=dict)
    addresses = models.JSONField(default=list)
    created = text_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "kind", "namespace", "name"],
                                               name="routeobject_unique")]
