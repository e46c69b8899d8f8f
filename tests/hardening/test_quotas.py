"""Issue 17 M2 (limits), replayed: job creation without throttle, no per-user quota of running jobs or of
stored bytes. Past each limit the answer is a clear JSON error and nothing is created.
"""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.fixtures import CLUSTER_B
from topology.importers import import_bytes
from topology.models import Cluster, Snapshot
from tracer.models import Job
from tracer.tokens import issue_token

from .conftest import row_counts


@pytest.fixture
def alice(db, broker):
    user = get_user_model().objects.create_user("alice")
    cluster = Cluster.objects.create(name="blog", owner=user)
    import_bytes(cluster, [("cluster-b.yaml", CLUSTER_B.read_bytes())], owner=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)[1]}")
    api.user, api.cluster = user, cluster
    return api


def _rates(monkeypatch, jobs: str) -> None:
    """The rates DRF read from DEFAULT_THROTTLE_RATES at import time, replaced for this test only."""
    from tracer.api.throttling import PostScopedRateThrottle

    monkeypatch.setattr(PostScopedRateThrottle, "THROTTLE_RATES", {"auth": "20/min", "jobs": jobs})


def test_active_jobs_are_capped_per_user(alice, settings):
    """No worker runs here, so every job stays queued: the (N+1)th is refused with 429 and not created."""
    settings.TRACER_MAX_ACTIVE_JOBS = 3
    codes = [alice.post("/api/jobs/matrix", {"cluster": "blog"}, format="json").status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    refused = alice.post("/api/jobs/batch", {"cluster": "blog", "requests": [
        {"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443}]}, format="json")
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "quota_exceeded" and "TRACER_MAX_ACTIVE_JOBS" in body["detail"]
    assert Job.objects.count() == 3
    # Cancelling one frees a place.
    job = Job.objects.order_by("pk").first()
    assert alice.post(f"/api/jobs/{job.pk}/cancel").status_code == 200
    assert alice.post("/api/jobs/matrix", {"cluster": "blog"}, format="json").status_code == 202


def test_job_creation_is_throttled_per_user(alice, settings, monkeypatch):
    settings.TRACER_MAX_ACTIVE_JOBS = 100
    _rates(monkeypatch, "5/min")
    codes = [alice.post("/api/jobs/matrix", {"cluster": "blog"}, format="json").status_code for _ in range(6)]
    assert codes == [202] * 5 + [429]
    assert Job.objects.count() == 5
    # Reading is never throttled.
    assert alice.get("/api/jobs/").status_code == 200


def test_stored_bytes_are_capped_per_owner(alice, settings):
    used = sum(Snapshot.objects.filter(cluster=alice.cluster).values_list("input_bytes", flat=True))
    assert used == len(CLUSTER_B.read_bytes())
    settings.TRACER_USER_STORAGE_LIMIT = used + 1000
    before = row_counts()
    body = CLUSTER_B.read_bytes()
    refused = alice.post(f"/api/clusters/{alice.cluster.pk}/upload/", body, content_type="application/yaml")
    assert refused.status_code == 413
    assert "TRACER_USER_STORAGE_LIMIT" in refused.json()["detail"]
    assert row_counts() == before  # nothing stored
    # A teammate's upload counts against the owner's clusters too.
    bob = get_user_model().objects.create_user("bob")
    alice.cluster.shared_with.add(bob)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(bob)[1]}")
    assert api.post(f"/api/clusters/{alice.cluster.pk}/upload/", body, content_type="application/yaml").status_code == 413
    settings.TRACER_USER_STORAGE_LIMIT = 10 * used
    assert alice.post(f"/api/clusters/{alice.cluster.pk}/upload/", body, content_type="application/yaml").status_code == 201


def test_a_diff_with_uploaded_manifests_counts_as_storage(alice, settings):
    settings.TRACER_USER_STORAGE_LIMIT = len(CLUSTER_B.read_bytes()) + 10
    upload = SimpleUploadedFile("candidate.yaml", CLUSTER_B.read_bytes(), content_type="application/yaml")
    response = alice.post("/api/jobs/diff", {"cluster": "blog", "files": [upload]}, format="multipart")
    assert response.status_code == 413, response.content
    assert "TRACER_USER_STORAGE_LIMIT" in response.json()["detail"]
    assert not Job.objects.exists()
