"""ClusterObjects → rows of one Snapshot, with bulk inserts only.

Why not one `save()` per object: a 150,000-pod dump is 150,000 Pod rows plus a few hundred
thousand endpoints. Even `bulk_create` spends ~0.5 ms per row building model instances and
preparing each field, so the big tables are written with a prepared `INSERT` and `executemany`
(batched; psycopg pipelines it, sqlite3 loops in C). Values are prepared the way the ORM would
(JSON columns through the backend's own `adapt_json_value`), and the column list comes from the
model's metadata, so the table definition stays the single source of truth.

EndpointSlices go through `bulk_create`, which returns their primary keys (PostgreSQL, SQLite ≥ 3.35);
their endpoint rows need them. The caller wraps everything in one `transaction.atomic()`.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from django.db import connection, models

from topology.models import OBJECT_MODELS, Endpoint, EndpointSlice, Snapshot
from tracer.engine.model import ClusterObjects

BATCH_SIZE = 2000


def jsonable(value: Any) -> Any:
    """Dataclasses/tuples → dicts/lists for JSON columns (a fast, non-copying `asdict`)."""
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    return value


def _structured(cls) -> frozenset[str]:
    """Fields holding dataclasses (need `jsonable`); plain tuples/dicts go to JSON as they are."""
    return frozenset(cls._nested) | frozenset(cls._single)


def _first_ip(values) -> str:
    return next((v for v in values if v and v != "None"), "")


def _extra_columns(attr: str, obj) -> dict[str, Any]:
    """Lookup-only columns derived from the object (see topology/models/base.py)."""
    if attr == "pods":
        return {"ip": _first_ip(obj.ips)}
    if attr == "services":
        return {"cluster_ip": _first_ip(obj.cluster_ips)}
    if attr == "nodes":
        return {"internal_ip": obj.internal_ip or ""}
    return {}


def persist(snapshot: Snapshot, objects: ClusterObjects, batch_size: int = BATCH_SIZE, checkpoint=None) -> None:
    """Insert every object of `objects` as rows of `snapshot` (call inside a transaction).

    `checkpoint(phase)` is called before each table: it may raise (a cancelled job) to abandon the import,
    and the caller's transaction then rolls every row back."""
    for attr, model in OBJECT_MODELS.items():
        items = getattr(objects, attr)
        if not items:
            continue
        if checkpoint is not None:
            checkpoint(f"storing {attr}")
        fields = model.dataclass_fields()
        structured = _structured(model.DATACLASS)
        if model is EndpointSlice:
            rows = [EndpointSlice(snapshot=snapshot, **{f: jsonable(getattr(obj, f)) for f in fields})
                    for obj in items]
            created = EndpointSlice.objects.bulk_create(rows, batch_size=batch_size)
            _persist_endpoints(snapshot, items, created, batch_size)
            continue
        insert_rows(model, ({"snapshot_id": snapshot.pk,
                             **{f: jsonable(getattr(obj, f)) if f in structured else getattr(obj, f) for f in fields},
                             **_extra_columns(attr, obj)} for obj in items), batch_size)


def _persist_endpoints(snapshot, slices, rows, batch_size: int) -> None:
    fields = [f.name for f in dataclasses.fields(Endpoint.DATACLASS)]  # no nested dataclasses in an Endpoint

    def endpoint_rows():
        for sl, row in zip(slices, rows, strict=True):
            if row.pk is None:  # pragma: no cover - every supported backend returns primary keys
                raise RuntimeError("bulk_create did not return primary keys")
            for position, ep in enumerate(sl.endpoints):
                yield {"snapshot_id": snapshot.pk, "slice_id": row.pk, "position": position,
                       "ip": _first_ip(ep.addresses), **{f: getattr(ep, f) for f in fields}}

    insert_rows(Endpoint, endpoint_rows(), batch_size)


def insert_rows(model: type[models.Model], rows, batch_size: int = BATCH_SIZE) -> int:
    """INSERT dicts keyed by attname (`snapshot_id`, `slice_id`, field names) into `model`'s table.

    Every concrete non-pk column must be present in each dict (no silent defaults: a missing
    key is a bug in the caller and raises KeyError).
    """
    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    adapt_json = connection.ops.adapt_json_value
    preparers = []
    for f in columns:
        if isinstance(f, models.JSONField):
            preparers.append((f.attname, lambda v, _enc=f.encoder: None if v is None else adapt_json(v, _enc)))
        else:
            preparers.append((f.attname, None))
    total = 0
    batch: list[tuple] = []
    if connection.vendor == "postgresql":
        # COPY rather than INSERT: at 150,000 pods the pipelined INSERTs kept PostgreSQL busy for
        # minutes (docs/performance.md); COPY loads the same rows several times faster.
        copy_sql = f"COPY {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(tuple(row[name] if prep is None else prep(row[name]) for name, prep in preparers))
                total += 1
        return total
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(tuple(row[name] if prep is None else prep(row[name]) for name, prep in preparers))
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                total += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            total += len(batch)
    return total
