"""Batch results are stored in bounded chunks and streamed back, complete and in request order.

A generated batch of 3,000 requests on cluster-b (tests/fixtures/examples/cluster-b.yaml) cycles through
a few flows, one of them naming a pod that does not exist (an error line), e.g.

    [pod blog/wordpress-0]        → svc/payments/ledger:443   delivered
    [pod monitoring/prometheus-0] → svc/payments/ledger:443   dropped (policy)
    [pod blog/nosuchpod]          → …                         {"error": …, "line": N}

The chunk bounds are lowered for the test (monkeypatch) so that both bounds — lines and bytes — cut chunks.
"""
from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from topology.compile import load_model
from topology.importers import import_bytes
from topology.models import Cluster
from tracer import jobs
from tracer.choices import JobKind, JobState
from tracer.engine.flow import make_flow
from tracer.engine.trace import trace
from tracer.jobs import batch as batch_job
from tracer.jobs.lifecycle import create
from tracer.models import BatchResultChunk, Job, JobOutput
from tracer.tokens import issue_token

from .api_base import cluster_b_bytes

FLOWS = [
    {"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443},
    {"from": "pod:monitoring/prometheus-0", "to": "svc:payments/ledger", "port": 443},
    {"from": "pod:blog/nosuchpod", "to": "svc:payments/ledger", "port": 443},
    {"from": "pod:payments/ledger-1", "to": "svc:monitoring/prometheus", "port": 9090},
    {"from": "pod:blog/wordpress-0", "to": "svc:blog/mysql", "port": 3306},
]
N = 3000
LINES, BYTES = 250, 150_000


@pytest.fixture
def alice(db):
    return get_user_model().objects.create(username="alice")


@pytest.fixture
def snapshot(alice):
    cluster = Cluster.objects.create(name="blog", owner=alice)
    return import_bytes(cluster, [("cluster-b.yaml", cluster_b_bytes())], owner=alice).snapshot


@pytest.fixture
def api(alice) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(alice)[1]}")
    return c


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(batch_job, "CHUNK_LINES", LINES)
    monkeypatch.setattr(batch_job, "CHUNK_BYTES", BYTES)


@pytest.fixture
def big_batch(snapshot, alice, small_chunks):
    job = jobs.enqueue_batch(snapshot, [dict(FLOWS[i % len(FLOWS)]) for i in range(N)], owner=alice, inline=True)
    assert job.state == JobState.DONE, job.error
    return job


def expected(snapshot, n: int) -> dict:
    """What line n (1-based) must hold: the trace `manage.py trace` gives for that request, or its error."""
    req = FLOWS[(n - 1) % len(FLOWS)]
    if "nosuchpod" in req["from"]:
        return {"line": n}
    return trace(load_model(snapshot.pk), make_flow(req["from"], req["to"], req["port"], "TCP")).to_dict()


def check(results: list[dict], snapshot, first_line: int = 1) -> None:
    seen: dict[int, dict] = {}
    for i, got in enumerate(results):
        n = first_line + i
        key = (n - 1) % len(FLOWS)
        if key not in seen:
            seen[key] = expected(snapshot, n)
        want = seen[key]
        if "line" in want:
            assert got["line"] == n and "nosuchpod" in got["error"], got
        else:
            assert got == want, n


def read(resp) -> bytes:
    assert resp.status_code == 200
    assert resp.streaming, "results must be streamed, not built in memory"
    return b"".join(resp.streaming_content)


def test_a_large_batch_is_stored_in_bounded_chunks(big_batch):
    chunks = list(BatchResultChunk.objects.filter(job=big_batch).order_by("index")
                  .values_list("index", "first_line", "count", "lines"))
    assert len(chunks) >= N // LINES  # the batch is cut up, not one value
    assert [c[0] for c in chunks] == list(range(len(chunks)))
    assert [c[1] for c in chunks] == [sum(c[2] for c in chunks[:i]) for i in range(len(chunks))]
    assert sum(c[2] for c in chunks) == N
    for _index, _first, count, lines in chunks:
        assert count <= LINES
        assert len(lines) <= BYTES or count == 1  # only a single result larger than the bound stands alone
        assert len(lines.splitlines()) == count
    assert any(len(lines) > BYTES * 0.5 for *_rest, lines in chunks)  # the byte bound, not only the count, cut
    assert not JobOutput.objects.filter(job=big_batch, name="results").exists()
    assert big_batch.result["count"] == N and sum(big_batch.result["verdicts"].values()) == N


def test_the_results_endpoint_streams_every_result_in_order(big_batch, snapshot, api):
    resp = api.get(f"/api/jobs/{big_batch.pk}/results")
    pieces = list(resp.streaming_content)
    assert len(pieces) > BatchResultChunk.objects.filter(job=big_batch).count()  # written chunk by chunk
    body = json.loads(b"".join(pieces))
    assert (body["job"], body["count"], body["offset"], body["next"]) == (big_batch.pk, N, 0, None)
    assert len(body["results"]) == N
    check(body["results"], snapshot)
    assert resp["X-Result-Count"] == str(N)

    lines = read(api.get(f"/api/jobs/{big_batch.pk}/results?output=jsonl")).decode().splitlines()
    assert [json.loads(line) for line in lines] == body["results"]  # the `trace --batch` format, same results


def test_results_page_across_chunk_boundaries(big_batch, snapshot, api):
    whole = json.loads(read(api.get(f"/api/jobs/{big_batch.pk}/results")))["results"]
    page = json.loads(read(api.get(f"/api/jobs/{big_batch.pk}/results?offset=240&limit=25")))
    assert page["results"] == whole[240:265] and page["offset"] == 240 and page["limit"] == 25
    assert "offset=265" in page["next"] and "limit=25" in page["next"]
    last = json.loads(read(api.get(f"/api/jobs/{big_batch.pk}/results?offset={N - 10}&limit=25")))
    assert last["results"] == whole[N - 10:] and last["next"] is None
    beyond = json.loads(read(api.get(f"/api/jobs/{big_batch.pk}/results?offset={N}")))
    assert beyond["results"] == [] and beyond["count"] == N

    resp = api.get(f"/api/jobs/{big_batch.pk}/results?output=jsonl&offset=1000&limit=500")
    assert [json.loads(line) for line in read(resp).decode().splitlines()] == whole[1000:1500]
    assert 'offset=1500' in resp["Link"] and 'rel="next"' in resp["Link"]
    for bad in ("limit=0", "offset=-1", "output=xml", "limit=abc"):
        assert api.get(f"/api/jobs/{big_batch.pk}/results?{bad}").status_code == 400, bad


def test_results_of_an_unfinished_batch_are_404(snapshot, api, alice):
    job = create(JobKind.BATCH, owner=alice, snapshot=snapshot, params={"requests": FLOWS}, total=len(FLOWS))
    resp = api.get(f"/api/jobs/{job.pk}/results")
    assert resp.status_code == 404 and "queued" in resp.json()["detail"]


def test_a_requeued_batch_resumes_after_its_last_stored_chunk(snapshot, alice, small_chunks):
    """A worker lost after storing the first chunk: the next attempt keeps it and traces only the rest."""
    requests = [dict(FLOWS[i % len(FLOWS)]) for i in range(600)]
    job = create(JobKind.BATCH, owner=alice, snapshot=snapshot, params={"requests": requests}, total=600)
    done = [json.dumps({"verdict": "delivered", "marker": i}) + "\n" for i in range(LINES)]
    BatchResultChunk.objects.create(job=job, index=0, first_line=0, count=LINES, lines="".join(done))
    job = jobs.run_inline(job)
    assert job.state == JobState.DONE, job.error
    results = [json.loads(line) for line in "".join(batch_job.iter_lines(job)).splitlines()]
    assert len(results) == 600
    assert [r.get("marker") for r in results[:LINES]] == list(range(LINES))  # kept, not traced again
    check(results[LINES:], snapshot, first_line=LINES + 1)
    assert sum(job.result["verdicts"].values()) == 600


def test_the_migration_moves_a_stored_results_value_into_chunks(snapshot, alice, api):
    """Batch jobs finished before this release kept one JobOutput "results" list: the migration cuts it up."""
    migration = importlib.import_module("tracer.migrations.0009_batch_results_in_chunks")
    old = [{"verdict": "dropped", "n": i, "reason": "x" * (i % 7)} for i in range(1234)]
    job = create(JobKind.BATCH, owner=alice, snapshot=snapshot, params={"requests": FLOWS}, total=len(old))
    Job.objects.filter(pk=job.pk).update(state=JobState.DONE, result={"count": len(old)})
    JobOutput.objects.create(job=job, name="results", data=old)

    migration.results_to_chunks(apps, None)

    assert not JobOutput.objects.filter(job=job).exists()
    counts = list(BatchResultChunk.objects.filter(job=job).order_by("index").values_list("count", flat=True))
    assert counts == [500, 500, 234]
    assert json.loads(read(api.get(f"/api/jobs/{job.pk}/results")))["results"] == old

    migration.chunks_to_results(apps, None)  # and back
    assert JobOutput.objects.get(job=job, name="results").data == old
    assert not BatchResultChunk.objects.filter(job=job).exists()
