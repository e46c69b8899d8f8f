"""Shared base of the per-kind snapshot tables (see the package docstring for the design).

Column names are the field names of the engine dataclasses in `tracer.engine.model`, so that
`Model.objects.filter(snapshot=…).values(*Model.dataclass_fields())` feeds `Dataclass.from_dict`
directly (see `topology.compile`). Nested structures (ports, containers, rules, selectors) are
JSONFields holding the dataclasses' dict form: the engine never queries inside them, it compiles a
whole snapshot at once.

A few extra, indexed columns exist only for lookups from the API and UI without compiling the
snapshot: `Pod.ip` (first pod IP), `Service.cluster_ip`, `Node.internal_ip`, `Endpoint.ip`. They
are derived at import and are not dataclass fields.

Snapshots are immutable: rows are written once, in bulk, and never updated.
"""
from __future__ import annotations

import dataclasses

from django.db import models

__all__ = ["SnapshotObject"]

NAME = 253  # DNS subdomain names (RFC 1123) are at most 253 characters


def name_field(**kw):
    return models.CharField(max_length=NAME, **kw)


def text_field(**kw):
    """Short free-form string defaulting to '' (kinds, phases, policies)."""
    return models.CharField(max_length=NAME, blank=True, default="", **kw)


class SnapshotObject(models.Model):
    """Abstract base: the snapshot FK and the dataclass the row converts to."""

    DATACLASS: type = None  # type: ignore[assignment]

    class Meta:
        abstract = True

    @classmethod
    def dataclass_fields(cls) -> list[str]:
        """Columns to `.values()` so the dict feeds `DATACLASS.from_dict`."""
        return [f.name for f in dataclasses.fields(cls.DATACLASS)]
