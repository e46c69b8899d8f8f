"""Jobs under budget (issue 17 H1 and the lows): refused before they are queued, stoppable, retried, capped.

- `POST /api/jobs/diff` with `materialize` and a `replicas: 200000` upload took a Celery process to 3 GB in 60 s:
  now 400 naming the field, and no job is created.
- Cancelling an import job left the import running: now the import reads the job's state between phases and
  abandons (rolls back) once it is cancelled — no snapshot.
- A background import that lost the database failed without retry: now the task retries the same job with
  backoff, and the snapshot is imported exactly once.
- Every worker process has an address-space budget (TRACER_WORKER_MEMORY_MB): past it a job fails with a reason.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from rest_framework.test import APIClient

import topology.importers as importers
from tests.fixtures import CLUSTER_B
from topology.importers import import_bytes
from topology.models import Cluster, Snapshot
from tracer import tasks
from tracer.choices import JobKind, JobState
from tracer.jobs import lifecycle, runner
from tracer.models import Job, JobUpload

from .conftest import REPO, row_counts
from .test_budgets import deployment

persist_module = importlib.import_module("topology.importers.persist")
NAMESPACE = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n"


def _world():
    alice = get_user_model().objects.create_user("alice")
    cluster = Cluster.objects.create(name="blog", owner=alice)
    import_bytes(cluster, [("cluster-b.yaml", CLUSTER_B.read_bytes())], owner=alice)
    client = APIClient()
    client.force_authenticate(alice)
    return alice, cluster, client


@pytest.fixture
def world(db):
    return _world()


@pytest.fixture
def committed_world(transactional_db):
    """Real commits: the retry test drops the database connection, which a test-wide transaction cannot survive."""
    return _world()


def test_diff_job_with_materialize_past_the_budget_is_400_and_not_queued(world):
    _alice, cluster, client = world
    before = row_counts()
    resp = client.post("/api/jobs/diff", {"cluster": cluster.pk, "materialize": "true", "nodes": "5000",
                                          "files": [SimpleUploadedFile("web.yaml", deployment(200_000))]},
                       format="multipart")
    assert resp.status_code == 400, resp.content[:300]
    err = resp.json()["errors"][0]
    assert (err["file"], err["kind"], err["name"], err["field"]) == ("web.yaml", "Deployment", "web", "spec.replicas")
    assert row_counts() == before  # no job, no upload stored


def test_large_materialize_upload_is_refused_before_it_becomes_a_job(world, settings):
    _alice, cluster, client = world
    settings.TRACER_ASYNC_IMPORT_THRESHOLD = 100  # every upload would be a background job
    before = row_counts()
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/?materialize=true&nodes=3&filename=web.yaml",
                       data=deployment(1_000_000_000), content_type="application/yaml")
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "spec.replicas"
    assert row_counts() == before


def _import_job(alice, cluster, data: bytes = NAMESPACE) -> Job:
    return lifecycle.create(JobKind.IMPORT, owner=alice, cluster=cluster, total=1,
                            params={"materialize": False, "nodes": 3, "namespace": "default", "files": ["x.yaml"]},
                            uploads=[("x.yaml", data)])


def test_cancel_stops_a_running_import(world, monkeypatch):
    """The user cancels while the import is validating: it stops at the next phase and stores nothing."""
    alice, cluster, _client = world
    job = _import_job(alice, cluster)
    real = importers.build_objects

    def build_then_cancel(*args, **kwargs):
        out = real(*args, **kwargs)
        lifecycle.cancel(Job.objects.get(pk=job.pk))  # what POST /api/jobs/ID/cancel does meanwhile
        return out

    monkeypatch.setattr(importers, "build_objects", build_then_cancel)
    writes = []
    real_insert = persist_module.insert_rows
    monkeypatch.setattr(persist_module, "insert_rows", lambda *a, **k: writes.append(a) or real_insert(*a, **k))
    snapshots = Snapshot.objects.count()
    runner.run_job(job.pk)
    job.refresh_from_db()
    assert writes == []  # it stopped at the next phase instead of writing the tables
    assert job.state == JobState.CANCELLED and job.snapshot_id is None
    assert Snapshot.objects.count() == snapshots
    assert not JobUpload.objects.filter(job=job).exists()


def test_an_import_job_that_loses_the_database_is_retried_once_imported(committed_world, monkeypatch):
    """The database drops while the snapshot is being written: the task retries the same job (no new attempt)
    and the retry imports it exactly once."""
    alice, cluster, _client = committed_world
    job = _import_job(alice, cluster)
    real = persist_module.insert_rows
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(persist_module, "insert_rows", flaky)
    snapshots = Snapshot.objects.count()
    tasks.run_job.apply(args=(job.pk,))  # the Celery task, executed here (retries run here too)
    job.refresh_from_db()
    assert calls["n"] >= 2, "the import was not retried"
    assert job.state == JobState.DONE, job.error
    assert job.attempts == 1  # resumed, not counted as a lost worker
    assert Snapshot.objects.count() == snapshots + 1
    assert job.result["snapshot"] == Snapshot.objects.latest("pk").pk


def test_a_job_over_the_memory_budget_fails_with_a_reason(world, monkeypatch):
    alice, cluster, _client = world
    job = _import_job(alice, cluster)

    def hungry(_job):
        raise MemoryError

    monkeypatch.setitem(runner.RUNNERS, JobKind.IMPORT, hungry)
    runner.run_job(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "TRACER_WORKER_MEMORY_MB" in job.error


def test_worker_processes_get_an_address_space_budget():
    """The worker_init hook caps RLIMIT_AS; an allocation past it is a MemoryError, not a killed worker."""
    code = """
import django, os, resource
django.setup()
from tracer import tasks
vm = int(open('/proc/self/status').read().split('VmSize:')[1].split()[0]) // 1024  # MiB in use now
limit = tasks.apply_memory_budget(vm + 256)
assert resource.getrlimit(resource.RLIMIT_AS)[0] == limit, resource.getrlimit(resource.RLIMIT_AS)
try:
    blob = bytearray(1024 * 1024 * 1024)
except MemoryError:
    print("MemoryError")
"""
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"}
    env.update({k: v for k, v in os.environ.items() if k.startswith(("TRACER_", "PYTHON"))})
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "MemoryError"
