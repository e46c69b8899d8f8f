"""ClusterObjects → rows of one Snapshot, with bulk inserts only.

Why bulk: a 150,000-pod dump is 150,000 Pod rows plus a few hundred thousand endpoints; one
INSERT per object would take minutes and hold the transaction open. `bulk_create` in batches
(the database backend further caps the batch to its parameter limit) keeps it to a few hundred
statements. The caller wraps everything in one `transaction.atomic()`.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from topology.models import OBJECT_MODELS, Endpoint, EndpointSlice, Snapshot
from tracer.engine.model import ClusterObjects

BATCH_SIZE = 2000


def jsonable(value: Any) -> Any:
    """Dataclasses/tuples → dicts/lists for JSONFields (a fast, non-copying `asdict`)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    return value


def _row(model, obj, fields: list[str], snapshot: Snapshot):
    values = {f: jsonable(getattr(obj, f)) for f in fields}
    return model(snapshot=snapshot, **values)


def _first_ip(values) -> str:
    return next((v for v in values if v and v != "None"), "")


def persist(snapshot: Snapshot, objects: ClusterObjects, batch_size: int = BATCH_SIZE) -> None:
    """Insert every object of `objects` as rows of `snapshot` (call inside a transaction)."""
    for attr, model in OBJECT_MODELS.items():
        items = getattr(objects, attr)
        if not items:
            continue
        fields = model.dataclass_fields()
        rows = [_row(model, obj, fields, snapshot) for obj in items]
        if attr == "pods":
            for row in rows:
                row.ip = _first_ip(row.ips)
        elif attr == "services":
            for row in rows:
                row.cluster_ip = _first_ip(row.cluster_ips)
        elif attr == "nodes":
            for row, obj in zip(rows, items, strict=True):
                row.internal_ip = obj.internal_ip or ""
        created = model.objects.bulk_create(rows, batch_size=batch_size)
        if model is EndpointSlice:
            _persist_endpoints(snapshot, items, created, batch_size)


def _persist_endpoints(snapshot, slices, rows, batch_size: int) -> None:
    """Endpoints need their slice's primary key, which bulk_create returns (PostgreSQL, SQLite ≥ 3.35)."""
    fields = [f.name for f in dataclasses.fields(Endpoint.DATACLASS)]
    endpoint_rows = []
    for sl, row in zip(slices, rows, strict=True):
        assert row.pk is not None, "bulk_create did not return primary keys"
        for position, ep in enumerate(sl.endpoints):
            values = {f: jsonable(getattr(ep, f)) for f in fields}
            endpoint_rows.append(Endpoint(snapshot=snapshot, slice_id=row.pk, position=position,
                                          ip=_first_ip(ep.addresses), **values))
    Endpoint.objects.bulk_create(endpoint_rows, batch_size=batch_size)
