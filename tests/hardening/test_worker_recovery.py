"""Issue 17 low, replayed: a worker killed whole left its job "running" for about ten minutes.

Now the worker process beats the job's heartbeat from a thread (tracer/jobs/heartbeat.py) whatever the
work is doing, so the stale threshold is short (45 s by default, 10 s here): a SIGKILLed worker is
noticed within seconds, while a live worker busy longer than the threshold is never taken for dead.
Real worker processes (tests/integration/workers.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.fixtures import CLUSTER_B
from tests.integration.workers import STALE_SECONDS
from topology.importers import import_bytes
from topology.models import Cluster
from tracer.models import Job, JobChunk
from tracer.tokens import issue_token

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parents[2]
ONE_CHUNK = {"cluster": "blog", "cells_per_chunk": 96}  # the 96 cells of cluster-b in one chunk


@pytest.fixture
def alice(transactional_db):
    user = get_user_model().objects.create(username="alice")
    cluster = Cluster.objects.create(name="blog", owner=user)
    import_bytes(cluster, [("cluster-b.yaml", CLUSTER_B.read_bytes())], owner=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)[1]}")
    return api


def wait_for(api, job_id: int, until, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/api/jobs/{job_id}/").json()  # polling also reaps a stale job (reap_if_stale)
        if until(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id}: {body}")
        time.sleep(0.2)


def test_a_live_worker_busy_longer_than_the_threshold_is_not_taken_for_dead(workers, alice):
    """One chunk that takes 1.5 × TRACER_JOB_STALE_SECONDS without reporting progress: before the heartbeat
    thread the reaper (and every poll) requeued it as lost; now it finishes on its first attempt."""
    workers.start(pause=STALE_SECONDS * 1.5)
    job_id = alice.post("/api/jobs/matrix", ONE_CHUNK, format="json").json()["job"]["id"]
    body = wait_for(alice, job_id, lambda b: b["state"] in ("done", "failed", "cancelled"), timeout=60)
    assert body["state"] == "done", body
    assert Job.objects.get(pk=job_id).attempts == 1


def test_a_killed_worker_is_noticed_within_the_threshold_and_its_job_completes(workers, alice):
    first = workers.start(pause=STALE_SECONDS * 1.5)
    job_id = alice.post("/api/jobs/matrix", ONE_CHUNK, format="json").json()["job"]["id"]
    # Kill it once it holds the chunk (its message consumed): only the reaper can bring the job back.
    wait_for(alice, job_id, lambda b: JobChunk.objects.filter(job_id=job_id, state="running").exists(), timeout=30)
    first.kill9()
    killed = time.monotonic()
    workers.start(pause=0)
    requeued = wait_for(alice, job_id, lambda b: b["attempts"] >= 2 or b["state"] == "done", timeout=60)
    noticed = time.monotonic() - killed
    body = wait_for(alice, job_id, lambda b: b["state"] in ("done", "failed"), timeout=60)
    assert body["state"] == "done", body
    assert Job.objects.get(pk=job_id).attempts == 2, requeued
    print(f"killed worker noticed after {noticed:.1f} s (TRACER_JOB_STALE_SECONDS={STALE_SECONDS})")


def test_the_default_threshold_recovers_within_a_minute():
    env = {k: v for k, v in os.environ.items() if k != "TRACER_JOB_STALE_SECONDS"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    code = ("import django; django.setup(); from django.conf import settings; from tracer.tasks import reaper_interval;"
            "from tracer.jobs.heartbeat import interval; "
            "print(settings.TRACER_JOB_STALE_SECONDS, reaper_interval(), interval())")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    stale, reaper_every, beat_every = (float(x) for x in out.stdout.split())
    assert stale + reaper_every <= 60  # worst case from the kill to the requeue
    assert beat_every * 3 <= stale  # several beats per threshold: one slow write never looks like a death
