"""Snapshot rows → the engine's `ClusterModel`, compiled once per snapshot and cached.

Snapshots are immutable, so a compiled model never goes stale: the cache is keyed by snapshot id
alone and lives for the process (a web worker, a Celery worker). It is an LRU of a few models
(setting `TRACER_MODEL_CACHE_SIZE`, default 4) because a 150,000-pod model is large.

Reads are one `.values()` query per table (endpoints grouped to their slices in Python): no query
per row. Column names equal dataclass field names, so each row dict feeds `from_dict` as is.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict

from django.conf import settings

from topology.models import OBJECT_MODELS, Endpoint, EndpointSlice, Snapshot
from tracer.engine.cluster import ClusterModel
from tracer.engine.model import ClusterObjects

__all__ = ["load_model", "objects_from_db", "clear_model_cache", "is_cached"]

_CHUNK = 5000
_cache: OrderedDict[int, ClusterModel] = OrderedDict()
_lock = threading.Lock()
# One build per snapshot at a time: a request arriving while a warm-up thread (topology.warm) compiles the
# same snapshot waits for that build instead of starting a second one.
_building: dict[int, threading.Lock] = {}


def objects_from_db(snapshot_id: int) -> ClusterObjects:
    """Every object of one snapshot, in import order. Raises Snapshot.DoesNotExist."""
    snapshot = Snapshot.objects.only("id", "cluster_domain").get(pk=snapshot_id)
    objects = ClusterObjects(cluster_domain=snapshot.cluster_domain or "cluster.local")
    for attr, model in OBJECT_MODELS.items():
        qs = model.objects.filter(snapshot_id=snapshot_id).order_by("id")
        fields = model.dataclass_fields()
        make = model.DATACLASS.from_dict
        if model is EndpointSlice:
            endpoints = _endpoints_by_slice(snapshot_id)
            items = []
            for row in qs.values("id", *fields).iterator(chunk_size=_CHUNK):
                row["endpoints"] = endpoints.get(row.pop("id"), ())
                items.append(make(row))
        else:
            items = [make(row) for row in qs.values(*fields).iterator(chunk_size=_CHUNK)]
        setattr(objects, attr, items)
    return objects


def _endpoints_by_slice(snapshot_id: int) -> dict[int, list]:
    fields = Endpoint.dataclass_fields()
    make = Endpoint.DATACLASS.from_dict
    out: dict[int, list] = defaultdict(list)
    qs = Endpoint.objects.filter(snapshot_id=snapshot_id).order_by("slice_id", "position")
    for row in qs.values("slice_id", *fields).iterator(chunk_size=_CHUNK):
        out[row.pop("slice_id")].append(make(row))
    return out


def load_model(snapshot_id: int) -> ClusterModel:
    """The compiled model of a snapshot (cached per process; snapshots never change)."""
    snapshot_id = int(snapshot_id)
    with _lock:
        model = _cache.get(snapshot_id)
        if model is not None:
            _cache.move_to_end(snapshot_id)
            return model
        building = _building.setdefault(snapshot_id, threading.Lock())
    with building:
        with _lock:
            model = _cache.get(snapshot_id)  # built by whoever held the lock before us
        if model is None:
            model = ClusterModel.build(objects_from_db(snapshot_id), snapshot_id=snapshot_id)
        with _lock:
            _cache[snapshot_id] = model
            _cache.move_to_end(snapshot_id)
            while len(_cache) > max(1, int(getattr(settings, "TRACER_MODEL_CACHE_SIZE", 4))):
                _cache.popitem(last=False)
            _building.pop(snapshot_id, None)
    return model


def is_cached(snapshot_id: int) -> bool:
    with _lock:
        return int(snapshot_id) in _cache


def clear_model_cache() -> None:
    """Forget every compiled model (tests; after deleting snapshots)."""
    with _lock:
        _cache.clear()
