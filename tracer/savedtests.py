"""Saved tests: named trace requests of a cluster, run together on its latest snapshot (like GCP
Connectivity Tests), each saying its verdict now, its verdict at the last run, and what changed.

Access follows the cluster, as for traces: whoever may read the cluster (owner, teammates) sees and runs
its tests; a teammate removed from the cluster loses them at once; everyone else gets 404. Deleting a
test is for its owner or whoever manages the cluster. "What changed" is tracer.services.trace_changes,
the same diff a single trace's re-run returns.
"""
from __future__ import annotations

from django.db import transaction

from topology.models import Cluster
from topology.services import can_manage
from tracer.engine.errors import BadRequest
from tracer.models import SavedTest, Trace
from tracer.services import run_trace, trace_changes

__all__ = ["tests_of", "save_test", "can_delete", "run_all", "MAX_TESTS"]

MAX_TESTS = 200  # per cluster: "run all" traces each one in the request


def tests_of(cluster: Cluster):
    return SavedTest.objects.filter(cluster=cluster).select_related("owner", "last_trace__snapshot")


def save_test(cluster: Cluster, user, name: str, *, trace: Trace | None = None, request: dict | None = None
              ) -> tuple[SavedTest, bool]:
    """Save `trace`'s request (or a new `request`, traced now on the latest snapshot) as the test `name`.

    A name already used on the cluster is replaced (the test is renamed/re-pointed); → (test, created).
    Raises BadRequest for a trace of another cluster, an untraceable request, or too many tests.
    """
    if trace is not None and trace.snapshot.cluster_id != cluster.pk:
        raise BadRequest(f"trace {trace.pk} is not a trace of the cluster {cluster.name!r}")
    if trace is None:
        latest = cluster.latest_snapshot()
        if latest is None:
            raise BadRequest(f"the cluster {cluster.name!r} has no snapshot to trace on")
        trace = run_trace(latest, request or {}, owner=user)
    with transaction.atomic():
        exists = SavedTest.objects.filter(cluster=cluster, name=name).exists()
        if not exists and SavedTest.objects.filter(cluster=cluster).count() >= MAX_TESTS:
            raise BadRequest(f"a cluster holds at most {MAX_TESTS} saved tests; delete some first")
        test, created = SavedTest.objects.update_or_create(
            cluster=cluster, name=name, defaults={"request": trace.request, "last_trace": trace, "owner": user})
    return test, created


def can_delete(user, test: SavedTest) -> bool:
    return test.owner_id == user.pk or can_manage(user, test.cluster)


def run_all(cluster: Cluster, user) -> list[dict]:
    """Run every test of `cluster` on its latest snapshot → one row per test, in list order.

    Row: {test, trace (the new one), verdict, previous: {trace, verdict, snapshot} | None, changes | None,
    error | None}. A request that no longer traces (its pod is gone) is a row with `error`, not a failure
    of the whole run. The new trace becomes the test's last run.
    """
    latest = cluster.latest_snapshot()
    if latest is None:
        raise BadRequest(f"the cluster {cluster.name!r} has no snapshot to run the tests on")
    rows = []
    for test in tests_of(cluster):
        previous = test.last_trace
        prev = ({"trace": previous.pk, "verdict": previous.verdict, "reason": previous.reason,
                 "snapshot": previous.snapshot_id} if previous else None)
        try:
            new = run_trace(latest, test.request, owner=user, rerun_of=previous)
        except BadRequest as exc:
            rows.append({"test": test.pk, "name": test.name, "trace": None, "verdict": None, "reason": None,
                         "snapshot": latest.pk, "previous": prev, "changes": None, "error": str(exc)})
            continue
        test.last_trace = new
        test.save(update_fields=["last_trace"])
        rows.append({"test": test.pk, "name": test.name, "trace": new.pk, "verdict": new.verdict,
                     "reason": new.reason, "snapshot": latest.pk, "previous": prev,
                     "changes": trace_changes(previous, new) if previous else None, "error": None})
    return rows
