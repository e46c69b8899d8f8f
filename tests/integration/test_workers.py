"""Jobs on REAL Celery worker processes, on the configured broker (Redis in CI, else the embedded one).

The cluster is tests/fixtures/examples/cluster-b.yaml unless a test says otherwise (6 source classes × 16
destinations = 96 cells):

    [pod blog/wordpress-0]        → svc/payments/ledger:443 → [pod payments/ledger-1]:9000  delivered
    [pod monitoring/prometheus-0] → svc/payments/ledger:443 ✗ payments/ledger-from-blog     dropped

Each worker is a `celery worker` subprocess sharing this test's database (transaction=True tests);
`TRACER_TEST_CHUNK_PAUSE` holds every chunk for a moment so that progress and kills land mid-job.
"""
from __future__ import annotations

import io
import json
import os
import signal
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.fixtures import FIXTURES
from tests.unit.test_matrix_members import oracle_cell
from topology.compile import load_model
from topology.importers import import_bytes
from topology.models import Cluster
from tracer import matrix_store
from tracer.engine.flow import make_flow
from tracer.engine.reach import MatrixPlan, peer_verdict
from tracer.engine.trace import trace
from tracer.models import Job, JobChunk, JobOutput, MatrixBlock
from tracer.tokens import issue_token

from .api_base import cluster_b_bytes
from .test_jobs import with_prometheus_policy
from .workers import STALE_SECONDS

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    user = get_user_model().objects.create(username="alice")
    cluster = Cluster.objects.create(name="blog", owner=user)
    snap = import_bytes(cluster, [("cluster-b.yaml", cluster_b_bytes())], owner=user).snapshot
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)[1]}")
    api.user, api.cluster, api.snapshot = user, cluster, snap
    return api


def poll(api, job_id: int, until, timeout: float = 45, every: float = 0.1) -> list[dict]:
    """GET the job until `until(body)`; return every distinct (state, progress) seen on the way."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        body = api.get(f"/api/jobs/{job_id}/").json()
        snap = {"state": body["state"], "current": body["progress"]["current"], "total": body["progress"]["total"],
                "error": body["error"], "attempts": body["attempts"]}
        if not seen or seen[-1] != snap:
            seen.append(snap)
        if until(body):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never got there; seen: {seen}")
        time.sleep(every)


def ended(body) -> bool:
    return body["state"] not in ("queued", "running")


def stored_cells(job_id: int) -> int:
    return sum((end - start) * n for start, end, n in
               MatrixBlock.objects.filter(job_id=job_id).values_list("start", "end", "sources"))


def assert_cells_agree_with_single_traces(job_id: int, snapshot_id: int, expected: int) -> None:
    """Every stored cell equals what its members' traces say (the contract's oracle), each stored once."""
    job = Job.objects.get(pk=job_id)
    plan = MatrixPlan.from_dict(JobOutput.objects.get(job=job, name="plan").data)
    cells = list(matrix_store.iter_cells(job, plan))
    assert len(cells) == expected == len({(c["source"], c["destination"]) for c in cells}) == stored_cells(job_id)
    model = load_model(snapshot_id)
    for cell in cells:
        want = oracle_cell(model, plan.sources[cell["source"]], plan.destinations[cell["destination"]])
        if want is None:  # a lone pod whose only peer is itself: its own trace (E11)
            req = cell["request"]
            want = peer_verdict(trace(model, make_flow(req["from"], req["to"], req["port"], req["protocol"])),
                                req["from"])
        assert (cell["verdict"], cell["reason"] if want[0] != "delivered" else None) == want, cell["request"]


def test_matrix_on_a_worker_shows_progress_per_chunk_and_cells_agree_with_traces(workers, alice):
    workers.start(pause=0.4)
    resp = alice.post("/api/jobs/matrix", {"cluster": "blog", "cells_per_chunk": 18}, format="json")
    assert resp.status_code == 202, resp.content
    job_id = resp.json()["job"]["id"]
    seen = poll(alice, job_id, ended)

    assert seen[-1]["state"] == "done", seen
    states = [s["state"] for s in seen]
    assert states[0] in ("queued", "running") and "running" in states
    progress = [s["current"] for s in seen if s["state"] == "running" and s["total"] == 6]
    assert any(0 < p < 6 for p in progress), f"no intermediate progress observed: {seen}"
    assert progress == sorted(progress)  # progress only moves forward
    assert_cells_agree_with_single_traces(job_id, alice.snapshot.pk, 96)


def test_two_workers_share_one_matrix(workers, alice):
    first, second = workers.start(pause=0.5), workers.start(pause=0.5)
    job_id = alice.post("/api/jobs/matrix", {"cluster": "blog", "cells_per_chunk": 18}, format="json").json()["job"]["id"]
    assert poll(alice, job_id, ended)[-1]["state"] == "done"
    by_worker = {w.split("@")[0] for w in JobChunk.objects.filter(job_id=job_id).values_list("worker", flat=True)}
    assert by_worker == {first.name, second.name}
    assert_cells_agree_with_single_traces(job_id, alice.snapshot.pk, 96)


def test_kill_9_of_the_worker_mid_matrix_then_a_new_worker_completes_it(workers, alice):
    first = workers.start(pause=1.0)
    job_id = alice.post("/api/jobs/matrix", {"cluster": "blog", "cells_per_chunk": 18}, format="json").json()["job"]["id"]
    poll(alice, job_id, lambda b: b["state"] == "running" and b["progress"]["current"] >= 1)
    first.kill9()
    assert Job.objects.get(pk=job_id).state == "running"  # the dead worker could not say anything

    workers.start(pause=0)
    seen = poll(alice, job_id, ended, timeout=50)
    job = Job.objects.get(pk=job_id)
    assert job.state == "done", (seen, job.error)
    assert job.progress_current == job.progress_total == 6
    assert JobChunk.objects.filter(job_id=job_id, state="done").count() == 6
    assert_cells_agree_with_single_traces(job_id, alice.snapshot.pk, 96)


def test_kill_9_of_a_pool_process_mid_chunk_reruns_that_chunk(workers, alice):
    """The worker's main process survives and sees its child die (WorkerLostError).

    Redis: acks_late + reject_on_worker_lost put the message back at once; the job is never requeued.
    Filesystem broker: the transport deleted the message when it was read, so nothing comes back; the
    reaper notices the silent job after TRACER_JOB_STALE_SECONDS and requeues it (attempt 2).
    Either way the chunk runs again, exactly once more, and the matrix completes.
    """
    worker = workers.start(pause=2.0)
    job_id = alice.post("/api/jobs/matrix", {"cluster": "blog", "cells_per_chunk": 36}, format="json").json()["job"]["id"]
    poll(alice, job_id, lambda b: JobChunk.objects.filter(job_id=job_id, state="running").exists(), every=0.05)
    [child] = worker.children()
    os.kill(child, signal.SIGKILL)
    seen = poll(alice, job_id, ended, timeout=45)
    job = Job.objects.get(pk=job_id)
    assert job.state == "done", seen
    assert job.attempts == (1 if workers.broker.kind == "redis" else 2), seen
    assert sorted(JobChunk.objects.filter(job_id=job_id).values_list("attempts", flat=True)) == [1, 1, 2]
    assert_cells_agree_with_single_traces(job_id, alice.snapshot.pk, 96)


def test_a_job_whose_worker_is_lost_twice_fails_with_a_reason_never_stays_running(workers, alice):
    """The worker running the job is killed twice (its heartbeat thread dies with it each time)."""
    first = workers.start(pause=60)
    job_id = alice.post("/api/jobs/matrix", {"cluster": "blog"}, format="json").json()["job"]["id"]
    poll(alice, job_id, lambda b: b["state"] == "running" and JobChunk.objects.filter(
        job_id=job_id, state="running").exists())
    first.kill9()
    second = workers.start(pause=60)  # its reaper requeues the job, then runs it: attempt 2
    poll(alice, job_id, lambda b: b["attempts"] == 2 and b["state"] == "running", timeout=55, every=0.5)
    second.kill9()
    seen = poll(alice, job_id, ended, timeout=55, every=0.5)  # no worker left: reading the job reaps it
    job = Job.objects.get(pk=job_id)
    assert job.state == "failed", seen
    assert job.attempts == 2  # requeued exactly once, then given up
    assert "worker lost" in job.error and f"no heartbeat for more than {STALE_SECONDS} s" in job.error
    assert "attempt 2 of 2" in job.error


def test_cancel_stops_the_worker_writing_and_it_takes_the_next_job(workers, alice):
    workers.start(pause=1.0)
    job_id = alice.post("/api/jobs/matrix", {"cluster": "blog", "cells_per_chunk": 18}, format="json").json()["job"]["id"]
    poll(alice, job_id, lambda b: b["progress"]["current"] >= 1)
    assert alice.post(f"/api/jobs/{job_id}/cancel").json()["state"] == "cancelled"
    time.sleep(2.5)  # a chunk in flight may finish its cells, none starts after the cancel
    written = stored_cells(job_id)
    time.sleep(1.5)
    job = Job.objects.get(pk=job_id)
    assert job.state == "cancelled"
    assert stored_cells(job_id) == written < 96
    assert job.progress_current < 6

    batch = alice.post("/api/jobs/batch", {"cluster": "blog", "requests": [
        {"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443}]}, format="json").json()
    poll(alice, batch["job"]["id"], ended)
    results = json.loads(b"".join(alice.get(f"/api/jobs/{batch['job']['id']}/results").streaming_content))["results"]
    assert [r["verdict"] for r in results] == ["delivered"]


def test_time_limit_ends_a_runaway_job_with_a_reason(workers, alice):
    workers.start(pause=20)
    job_id = alice.post("/api/jobs/matrix", {"cluster": "blog", "time_limit": 2}, format="json").json()["job"]["id"]
    seen = poll(alice, job_id, ended, timeout=30)
    job = Job.objects.get(pk=job_id)
    assert job.state == "failed", seen
    assert job.error.startswith("time limit: chunk 0 ran longer than 2 s")


def test_what_if_upload_on_a_worker_lists_exactly_the_changed_cells_with_traces(workers, alice):
    """Candidate adds monitoring/prometheus-only-from-monitoring: 4 source classes × 2 prometheus columns close."""
    workers.start()
    upload = io.BytesIO(with_prometheus_policy())
    upload.name = "what-if.yaml"
    resp = alice.post("/api/jobs/diff", {"cluster": "blog", "files": upload}, format="multipart")
    assert resp.status_code == 202, resp.content
    job_id = resp.json()["job"]["id"]
    poll(alice, job_id, ended)
    body = alice.get(f"/api/jobs/{job_id}/").json()
    assert body["state"] == "done", body
    assert body["result"]["changes"] == {"closed": 8}
    cells = alice.get(f"/api/jobs/{job_id}/cells/").json()
    assert cells["count"] == 8
    plan = alice.get(f"/api/jobs/{job_id}/plan").json()
    assert {plan["destinations"][c["destination"]]["to"] for c in cells["results"]} == {
        "svc:monitoring/prometheus", "ip:10.42.2.40"}
    drill = alice.get(cells["results"][0]["links"]["trace"]).json()
    assert drill["base"]["result"]["verdict"] == "delivered"
    assert drill["candidate"]["result"]["reason"] == "policy-ingress-denied"


def test_matrix_command_waits_with_progress_for_online_boutique(workers, alice):
    """Online Boutique, materialised: 13 source classes (one per service's pods) × 30 destinations."""
    manifests = FIXTURES / "online-boutique" / "release" / "kubernetes-manifests.yaml"
    snap = import_bytes("boutique", [("kubernetes-manifests.yaml", manifests.read_bytes())], materialize=True).snapshot
    workers.start(pause=0.2)
    out, err = io.StringIO(), io.StringIO()
    call_command("matrix", "--cluster", "boutique", "--wait", "--cells-per-chunk", "65", "--timeout", "50",
                 stdout=out, stderr=err)  # 65 cells: 5 destination columns of 13 classes per chunk
    progress = err.getvalue().splitlines()
    assert any(line.startswith("[running] ") and "/6 " in line for line in progress), progress
    assert progress[-1].startswith("[done] 6/6 done: 390 cells")
    assert out.getvalue().splitlines()[0].endswith("13 source classes × 30 destinations = 390 cells")
    job = Job.objects.get(kind="matrix", snapshot=snap)
    assert_cells_agree_with_single_traces(job.pk, snap.pk, 390)
