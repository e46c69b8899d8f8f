"""Warm the compiled models (and the traffic map's first view) before anyone asks for them.

Why: compiling a snapshot (topology.compile) is the bulk of a cold first view — seconds at 20,000 pods —
and it used to happen in the first request of a fresh web process, so the first person to open a cluster
waited for it. A serving process (config.wsgi, a Celery worker) calls `start()`: it compiles the latest
snapshot of the most recently imported clusters (as many as the model cache holds) in a background thread,
and every import in such a process warms its new snapshot right after it commits. A request that arrives
during a warm-up waits for that build (topology.compile builds each snapshot once at a time) instead of
starting a second one. A snapshot imported by a Celery worker is warmed by the web process that reports
its import job done (`warm_if_new`), usually while the browser is still on its way to the map.
Processes that did not call `start()` (tests, management commands) never warm.

Warming changes no answer: it only computes, earlier, what the first request would compute.
"""
from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection

from .compile import is_cached, load_model
from .models import Snapshot
from .trafficmap import traffic_map

__all__ = ["start", "warm", "warm_in_background", "warm_if_new", "enabled"]

log = logging.getLogger(__name__)
_enabled = False


def enabled() -> bool:
    return _enabled


def warm(snapshot_ids: list[int]) -> None:
    """Compile each snapshot's model and its map's first view, in this thread."""
    try:
        for sid in snapshot_ids:
            try:
                traffic_map(load_model(sid))
            except Snapshot.DoesNotExist:
                continue
    except Exception:  # a warm-up must never take a process down: the request will compile and report
        log.exception("warming the compiled models failed")
    finally:
        connection.close()  # this thread's own database connection


def warm_in_background(snapshot_ids: list[int]) -> threading.Thread | None:
    if not _enabled or not snapshot_ids:
        return None
    thread = threading.Thread(target=warm, args=(list(snapshot_ids),), name="tracer-warm", daemon=True)
    thread.start()
    return thread


def warm_if_new(snapshot_id: int) -> threading.Thread | None:
    """Warm a snapshot this process has not compiled (one imported by a Celery worker, seen done here)."""
    if not _enabled or is_cached(snapshot_id):
        return None
    return warm_in_background([snapshot_id])


def latest_snapshot_ids(limit: int) -> list[int]:
    """The latest snapshot of the clusters imported most recently, newest first (among the last 1,000)."""
    seen: set[int] = set()
    ids: list[int] = []
    for pk, cluster_id in Snapshot.objects.order_by("-id").values_list("pk", "cluster_id")[:1000]:
        if cluster_id not in seen:
            seen.add(cluster_id)
            ids.append(pk)
            if len(ids) >= limit:
                break
    return ids


def start() -> threading.Thread | None:
    """Turn warming on for this process and warm the latest snapshots in the background."""
    global _enabled
    if not getattr(settings, "TRACER_WARM_MODELS", True):
        return None
    _enabled = True
    try:
        ids = latest_snapshot_ids(max(1, int(getattr(settings, "TRACER_MODEL_CACHE_SIZE", 4))))
    except Exception:  # no tables yet (before `migrate`): nothing to warm
        log.info("no snapshots to warm (database not ready)")
        ids = []
    finally:
        connection.close()  # the serving threads open their own
    return warm_in_background(ids)
