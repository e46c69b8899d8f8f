"""A serving process compiles snapshots before anyone opens them (topology.warm): the latest snapshot of
each recent cluster when it starts, and each new snapshot right after its import. Off unless turned on."""
from __future__ import annotations

import threading

import pytest

from tests.fixtures import CLUSTER_B
from topology import warm
from topology.compile import clear_model_cache, is_cached
from topology.importers import import_bytes
from topology.models import Cluster

pytestmark = pytest.mark.django_db(transaction=True)


def _import(cluster):
    return import_bytes(cluster, [("cluster-b.yaml", CLUSTER_B.read_bytes())]).snapshot


def _join_warmers():
    for t in threading.enumerate():
        if t.name == "tracer-warm":
            t.join(timeout=60)


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(warm, "_enabled", False)
    clear_model_cache()
    yield
    _join_warmers()
    clear_model_cache()


def test_start_warms_the_latest_snapshot_of_each_cluster(settings, fresh):
    a, b = Cluster.objects.create(name="a"), Cluster.objects.create(name="b")
    old, latest_a, latest_b = _import(a), _import(a), _import(b)
    clear_model_cache()
    settings.TRACER_WARM_MODELS = True
    thread = warm.start()
    assert thread is not None
    thread.join(timeout=60)
    assert is_cached(latest_a.pk) and is_cached(latest_b.pk)
    assert not is_cached(old.pk), "only the latest snapshot of a cluster is warmed"


def test_an_import_in_a_serving_process_warms_its_snapshot(monkeypatch, fresh):
    monkeypatch.setattr(warm, "_enabled", True)
    snap = _import(Cluster.objects.create(name="c"))
    _join_warmers()
    assert is_cached(snap.pk)


def test_off_by_default_nothing_is_warmed(settings, fresh):
    assert settings.TRACER_WARM_MODELS is False
    assert warm.start() is None
    snap = _import(Cluster.objects.create(name="d"))
    _join_warmers()
    assert not is_cached(snap.pk)


def test_the_web_process_warms_a_snapshot_a_worker_imported_when_it_reports_the_job_done(monkeypatch, fresh):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from tracer.models import Job

    owner = get_user_model().objects.create_user("wanda", "w@example.org", "wanda-password-1")
    cluster = Cluster.objects.create(name="e", owner=owner)
    snap = _import(cluster)  # as the worker would (warming is off while it runs)
    _join_warmers()
    assert not is_cached(snap.pk)
    job = Job.objects.create(kind="import", owner=owner, cluster=cluster, state="done",
                             result={"snapshot": snap.pk, "number": snap.number, "cluster": cluster.pk})
    monkeypatch.setattr(warm, "_enabled", True)  # this process serves the API
    client = APIClient()
    client.force_authenticate(owner)
    assert client.get(f"/api/jobs/{job.pk}/").status_code == 200
    _join_warmers()
    assert is_cached(snap.pk)
